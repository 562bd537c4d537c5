"""The musical plan: tempo, bars, cuts, density, strength, key and chords, on features with known answers."""

import numpy as np
import pytest

from vmm.errors import VMMError
from vmm.plan.density import POP909_DENSITY_QUANTILES, match_percentiles
from vmm.plan.make import chords_per_beat, make_plan, parse_time_signature
from vmm.plan.mood import suggest_key, suggest_key_name
from vmm.plan.tempo import MOTION_TEMPO_RANGE, TEMPO_RANGE, fit_bars
from vmm.video.features import VideoFeatures

FPS = 10.0


def features(duration, *, motion=None, pulse_period=None, cuts=(), brightness=0.5, saturation=0.3, warmth=0.0):
    """Synthetic features: motion per grid point; a pulse puts an impact (and a visual beat) every period."""
    n = int(round(duration * FPS))
    times = np.arange(n) / FPS
    motion = np.full(n, 0.1) if motion is None else np.asarray(motion(times) if callable(motion) else motion, float)
    impact = np.zeros(n)
    beats = []
    if pulse_period is not None:
        for t in np.arange(0.3, duration, pulse_period):
            k = int(round(t * FPS))
            if k < n:
                impact[k] = 0.1
                beats.append(times[k])
    return VideoFeatures(times=times, motion=motion.astype(np.float32), impact=impact.astype(np.float32),
                         cuts=list(cuts), visual_beats=beats, brightness=np.full(n, brightness),
                         saturation=np.full(n, saturation), warmth=np.full(n, warmth), duration=duration,
                         fps_grid=FPS)


def test_fixed_tempo_is_kept_and_the_last_bar_cut_and_faded():
    plan = make_plan(features(9.0), tempo=120)
    assert plan.tempo == 120 and plan.tempo_source == "user"
    assert plan.n_bars == 5 and plan.bar_times == pytest.approx([0, 2, 4, 6, 8, 10])
    assert plan.music_duration_s == pytest.approx(9.0) and plan.fade_out_s > 0
    assert len(plan.density) == 5 and len(plan.strength) == 20


def test_fixed_tempo_that_fits_needs_no_fade():
    plan = make_plan(features(8.0), tempo=120)
    assert plan.n_bars == 4 and plan.fade_out_s == 0 and plan.bar_times[-1] == pytest.approx(8.0)


def test_estimated_tempo_is_adjusted_so_whole_bars_fit():
    plan = make_plan(features(10.3, pulse_period=0.5))
    assert plan.tempo_source == "visual rhythm"
    assert plan.details["estimated_tempo"] == pytest.approx(120, abs=3)
    assert plan.n_bars == 5
    assert plan.bar_times[-1] == pytest.approx(10.3, abs=1e-3) and plan.fade_out_s == 0
    assert plan.tempo == pytest.approx(5 * 4 * 60 / 10.3, abs=0.01)


@pytest.mark.parametrize("period, expected", [(0.25, 120.0), (0.6, 100.0), (1.2, 100.0), (0.4, 150.0)])
def test_visual_period_is_folded_into_range(period, expected):
    plan = make_plan(features(24.0, pulse_period=period))
    assert plan.details["estimated_tempo"] == pytest.approx(expected, rel=0.03)
    assert TEMPO_RANGE[0] <= plan.tempo <= TEMPO_RANGE[1]


def test_without_rhythm_tempo_follows_motion_level():
    calm = make_plan(features(12.0, motion=np.full(120, 0.02)))
    busy = make_plan(features(12.0, motion=np.full(120, 0.6)))
    assert calm.tempo_source == busy.tempo_source == "motion level"
    assert MOTION_TEMPO_RANGE[0] * 0.9 <= calm.details["estimated_tempo"] < busy.details["estimated_tempo"]
    assert busy.details["estimated_tempo"] <= MOTION_TEMPO_RANGE[1]


def test_cuts_snap_to_bar_lines_or_beats():
    plan = make_plan(features(12.0, cuts=[4.1, 5.5, 7.3, 9.8]), tempo=120)  # beat 0.5 s, bar 2 s
    got = [(c["bar"], c["beat"], c["kind"], c["snapped_time_s"]) for c in plan.cuts]
    assert got == [(2, 0, "bar", 4.0), (2, 3, "beat", 5.5), (3, 3, "beat", 7.5), (5, 0, "bar", 10.0)]
    assert [c["time_s"] for c in plan.cuts] == [4.1, 5.5, 7.3, 9.8]
    assert plan.section_starts == [0, 2, 3, 4, 5]
    for cut in plan.cuts:  # a cut is an accent
        assert plan.strength[cut["bar"] * 4 + cut["beat"]] == 1.0


def test_cuts_in_three_four():
    plan = make_plan(features(12.0, cuts=[3.7, 5.0]), tempo=100, time_signature="3/4")  # beat 0.6, bar 1.8
    assert plan.beats_per_bar == 3 and plan.time_signature == (3, 4)
    assert [(c["bar"], c["beat"], c["kind"]) for c in plan.cuts] == [(2, 0, "bar"), (3, 0, "bar")]
    assert plan.n_bars == 7 and len(plan.strength) == 21


def test_estimated_tempo_prefers_bars_that_meet_the_cuts():
    """21 s at 120 BPM is 10.5 bars: 11 bars (125.7 BPM) is the smaller change, but 10 bars (114.3 BPM,
    bar lines 2.1 s apart) puts the cuts at 8.4 and 12.6 s on bar lines."""
    plain = make_plan(features(21.0, pulse_period=0.5))
    assert plain.n_bars == 11 and plain.tempo == pytest.approx(125.714, abs=0.01)
    plan = make_plan(features(21.0, pulse_period=0.5, cuts=[8.4, 12.6]))
    assert plan.n_bars == 10 and plan.tempo == pytest.approx(114.286, abs=0.01)
    assert [(c["bar"], c["kind"]) for c in plan.cuts] == [(4, "bar"), (6, "bar")]


def test_density_follows_motion_and_matches_the_reference():
    motion = lambda t: np.where(t < 8.0, 0.05, 0.4)  # noqa: E731
    plan = make_plan(features(16.0, motion=motion), tempo=120)
    assert plan.n_bars == 8
    assert min(plan.density[4:]) > max(plan.density[:4])
    lo, hi = POP909_DENSITY_QUANTILES[0], POP909_DENSITY_QUANTILES[-1]
    assert all(lo <= d <= hi for d in plan.density)
    custom = make_plan(features(16.0, motion=motion), tempo=120, density_reference=np.arange(1.0, 11.0))
    assert all(1 <= d <= 10 for d in custom.density) and custom.density[-1] > custom.density[0]


@pytest.mark.parametrize("signature, bar_quarters", [("3/4", 3.0), ("6/8", 3.0), ("7/8", 3.5), ("2/2", 4.0)])
@pytest.mark.parametrize("reference", [None, np.array([4.0, 8.0, 12.0, 16.0, 24.0])])
def test_any_density_reference_is_scaled_to_the_bar_length(signature, bar_quarters, reference):
    """References count notes per 4/4 bar; a shorter bar gets proportionally fewer notes."""
    motion = lambda t: 0.05 + 0.02 * t  # noqa: E731 - every bar at a different percentile
    plan = make_plan(features(24.0, motion=motion), tempo=120, time_signature=signature,
                     density_reference=reference)
    base = POP909_DENSITY_QUANTILES if reference is None else reference
    expected = np.round(match_percentiles(np.arange(plan.n_bars, dtype=float), base) * bar_quarters / 4, 1)
    np.testing.assert_allclose(plan.density, expected, atol=0.051)
    assert max(plan.density) <= base.max() * bar_quarters / 4 + 1e-9


def test_percentile_matching():
    reference = np.arange(101.0)
    np.testing.assert_allclose(match_percentiles(np.array([3.0, 1.0, 2.0, 4.0]), reference),
                               [62.5, 12.5, 37.5, 87.5])
    np.testing.assert_allclose(match_percentiles(np.full(5, 0.2), reference), 50.0)


def test_strength_from_visual_beats():
    plan = make_plan(features(8.0, pulse_period=1.0), tempo=120)  # impacts at 0.3, 1.3, ... s
    strength = np.asarray(plan.strength)
    on_beats = np.round((0.3 + np.arange(8)) / 0.5).astype(int)
    assert np.all(strength[on_beats] == 1.0)
    assert np.all(np.delete(strength, on_beats) == 0.0)


def test_beats_after_the_video_end_have_no_strength():
    plan = make_plan(features(7.0, pulse_period=0.5), tempo=120)
    assert plan.n_bars == 4
    assert plan.strength[14:] == [0.0, 0.0]


def test_key_given_or_from_mood():
    assert make_plan(features(4.0), tempo=120, key="Am").key == "A minor"
    plan = make_plan(features(4.0), tempo=120, key="F# major")
    assert (plan.key, plan.key_source) == ("F# major", "user")
    bright = make_plan(features(4.0, brightness=0.7, saturation=0.6, warmth=0.2), tempo=120)
    dark = make_plan(features(4.0, brightness=0.2, saturation=0.1, warmth=-0.2), tempo=120)
    assert bright.key_source == dark.key_source == "mood"
    assert bright.key.endswith("major") and dark.key.endswith("minor")


def test_mood_key_heuristic():
    assert suggest_key(0.5, 0.3, 0.0) == (0, "major")  # neutral: C major
    assert suggest_key(0.5, 0.3, -0.2) == (9, "minor")  # cold: A minor
    assert suggest_key_name(0.75, 0.5, 0.1) == "D major"  # brighter -> sharper (2 fifths up)
    assert suggest_key_name(0.25, 0.2, -0.1) == "G minor"  # darker -> flatter (2 fifths down from A)
    assert suggest_key_name(0.62, 0.3, 0.0) == "G major"
    assert suggest_key_name(0.38, 0.3, -0.05) == "D minor"


def test_user_chords_are_spread_over_the_bars():
    from symbolic.chords import parse_chord_symbol

    am, f, c, g = (parse_chord_symbol(s) for s in ("Am", "F", "C", "G"))
    plan = make_plan(features(12.0), tempo=120, chords="Am F C G")
    assert plan.n_bars == 6
    assert plan.chords == [am] * 4 + [f] * 4 + [c] * 4 + [g] * 4 + [am] * 4 + [f] * 4
    assert chords_per_beat([[c, g]], 2, 3) == [c, g, g, c, g, g]
    with pytest.raises(VMMError, match="at most one chord per beat"):
        chords_per_beat([[c, g, am, f]], 1, 3)


def test_instruments_are_checked():
    from symbolic.errors import SymbolicError

    assert make_plan(features(4.0), tempo=120, instruments="Piano, bass").instruments == ["piano", "bass"]
    with pytest.raises(SymbolicError):
        make_plan(features(4.0), tempo=120, instruments="kazoo-of-doom")


@pytest.mark.parametrize("text, expected", [("4/4", (4, 4)), (" 6 / 8 ", (6, 8)), ((3, 4), (3, 4))])
def test_time_signatures(text, expected):
    assert parse_time_signature(text) == expected


@pytest.mark.parametrize("text", ["5/3", "0/4", "four", "17/4", "9/4", "7/16", "5/16", "8/4", "16/16", "4/8"])
def test_bad_time_signatures(text):
    with pytest.raises(VMMError) as caught:
        parse_time_signature(text)
    assert "\n" not in str(caught.value)
    if "/" in text:
        assert "not supported; use one of 1/2, 2/2" in str(caught.value) and "12/8" in str(caught.value)


def test_every_accepted_time_signature_is_a_token_of_the_tokenizer():
    from symbolic.tokenizer import build_tokenizer
    from vmm.plan.make import TIME_SIGNATURES

    tokens = {name.removeprefix("TimeSig_") for name in build_tokenizer().vocab if name.startswith("TimeSig_")}
    assert {f"{num}/{den}" for num, den in TIME_SIGNATURES} == tokens
    for num, den in TIME_SIGNATURES:
        assert parse_time_signature(f"{num}/{den}") == (num, den)


@pytest.mark.parametrize("tempo", [1000, 300, 39.5, 20])
def test_bad_tempo_is_a_user_error(tempo):
    with pytest.raises(VMMError, match="out of range; give 40-250 quarter notes per minute"):
        make_plan(features(4.0), tempo=tempo)


@pytest.mark.parametrize("tempo", [40, 250])
def test_the_tokenizers_tempo_range_is_accepted(tempo):
    from symbolic.tokenizer import TOKENIZER_PARAMS

    assert TOKENIZER_PARAMS["tempo_range"] == (40, 250)
    assert make_plan(features(4.0), tempo=tempo).tempo == tempo


def test_plan_command_checks_tempo_and_metre_before_reading(tmp_path, capsys):
    from vmm.cli import main

    video = tmp_path / "clip.mp4"
    video.write_text("never read: the wishes are checked first")
    for extra, words in ((["--tempo", "300"], "40-250 quarter notes per minute"),
                         (["--time-signature", "9/4"], "use one of")):
        assert main(["plan", str(video), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "quarter notes per minute, 40-250" in " ".join(capsys.readouterr().out.split())


def test_very_short_video_gets_one_bar():
    fit = fit_bars(0.8, 100.0, (4, 4), tempo_fixed=False)
    assert fit.n_bars == 1 and fit.fade_out_s > 0 and fit.tempo == 100.0
