import math

import numpy as np
import pytest

from audio_render.loudness import (
    integrated_loudness,
    k_weight,
    k_weighting_biquads,
    normalize_loudness,
    peak_dbfs,
)


def sine(freq, seconds, sample_rate, amplitude, channels=2):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = amplitude * np.sin(2 * np.pi * freq * t)
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def test_coefficients_at_48k_equal_the_bs1770_table():
    (b1, a1), (b2, a2) = k_weighting_biquads(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-12)
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-12)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-12)


def direct_biquads(x, sample_rate):
    """Time-domain reference: the two biquads as difference equations, sample by sample."""
    y = x.astype(np.float64)
    for b, a in k_weighting_biquads(sample_rate):
        out = np.zeros_like(y)
        x1 = x2 = y1 = y2 = 0.0
        for i, xi in enumerate(y):
            yi = b[0] * xi + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            x2, x1, y2, y1 = x1, xi, y1, yi
            out[i] = yi
        y = out
    return y


@pytest.mark.parametrize("sample_rate, n", [(8000, 20000), (22050, 30000), (44100, 3000)])
def test_frequency_domain_k_weighting_equals_the_difference_equations(sample_rate, n):
    # Long enough for several overlap-save chunks at 8 and 22.05 kHz (chunk steps 6144 and 24576).
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32) * 0.3
    fast = k_weight(x[:, None], sample_rate)[0]
    np.testing.assert_allclose(fast, direct_biquads(x, sample_rate), atol=2e-5)


@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_stereo_997hz_sine_at_minus_20_dbfs_reads_minus_20_lufs(sample_rate):
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS, so -20 dBFS in two reads -20.
    x = sine(997, 4.0, sample_rate, 10 ** (-20 / 20))
    assert integrated_loudness(x, sample_rate) == pytest.approx(-20.0, abs=0.05)
    assert integrated_loudness(x[:, :1], sample_rate) == pytest.approx(-23.01, abs=0.05)


def test_k_weighting_favours_presence_and_cuts_rumble():
    sr = 44100
    mid = integrated_loudness(sine(997, 2, sr, 0.1), sr)
    # The shelf adds ~4 dB at high frequencies and ~0.7 dB at 1 kHz (hence the -0.691 offset).
    assert integrated_loudness(sine(8000, 2, sr, 0.1), sr) - mid == pytest.approx(4.0 - 0.69, abs=0.15)
    assert integrated_loudness(sine(20, 2, sr, 0.1), sr) - mid < -10


def test_gating_ignores_silence():
    sr = 44100
    tone = sine(997, 3, sr, 0.1)
    with_silence = np.concatenate([tone, np.zeros_like(tone), np.zeros_like(tone)])
    # Silent blocks fall under the absolute gate; the 3 blocks straddling the end hold 3/4, 1/2 and
    # 1/4 of the tone's power and pass the relative gate, beside the tone's 27 full blocks.
    expected = integrated_loudness(tone, sr) + 10 * math.log10((27 + 0.75 + 0.5 + 0.25) / 30)
    assert integrated_loudness(with_silence, sr) == pytest.approx(expected, abs=0.01)
    assert integrated_loudness(np.zeros((sr, 2), np.float32), sr) == -math.inf
    assert integrated_loudness(np.zeros((0, 2), np.float32), sr) == -math.inf


def test_normalisation_reaches_the_target():
    sr = 44100
    scaled, gain, loudness = normalize_loudness(sine(440, 3, sr, 0.01), sr, target_lufs=-16.0, peak_ceiling_db=-1.0)
    assert integrated_loudness(scaled, sr) == pytest.approx(-16.0, abs=0.01)
    assert loudness == pytest.approx(-16.0, abs=1e-6)
    assert gain > 0
    assert scaled.dtype == np.float32


def test_peak_ceiling_wins_over_the_loudness_target():
    sr = 44100
    clicks = np.zeros((3 * sr, 2), np.float32)
    clicks[:: sr // 4] = 0.05  # very peaky, very quiet
    scaled, _, loudness = normalize_loudness(clicks, sr, target_lufs=-10.0, peak_ceiling_db=-1.0)
    assert peak_dbfs(scaled) == pytest.approx(-1.0, abs=1e-4)
    assert loudness < -10.0


def test_silence_is_left_alone():
    silent = np.zeros((44100, 2), np.float32)
    scaled, gain, _ = normalize_loudness(silent, 44100)
    assert gain == 0.0 and not scaled.any()


def test_sound_under_the_gate_is_still_normalised():
    sr = 44100
    whisper = sine(440, 2, sr, 10 ** (-80 / 20))  # about -80 LUFS: every block is gated out
    assert integrated_loudness(whisper, sr) == -math.inf
    # Raised to the ceiling it would read about -4 LUFS, over a -30 target: lowered to the target.
    scaled, gain, loudness = normalize_loudness(whisper, sr, target_lufs=-30.0, peak_ceiling_db=-1.0)
    assert loudness == pytest.approx(-30.0, abs=0.01)
    assert integrated_loudness(scaled, sr) == pytest.approx(-30.0, abs=0.01)
    assert peak_dbfs(scaled) < -1.0
    # A target louder than the ceiling allows: the ceiling wins.
    scaled, gain, loudness = normalize_loudness(whisper, sr, target_lufs=-1.0, peak_ceiling_db=-1.0)
    assert peak_dbfs(scaled) == pytest.approx(-1.0, abs=1e-3)
    assert gain == pytest.approx(79.0, abs=0.01)
    assert loudness == pytest.approx(integrated_loudness(scaled, sr)) and loudness < -1.0
