import numpy as np
import pytest
import torch

from vmm.conditioning import (
    DENSITY_SCALE,
    VIDEO_FEATURES,
    align_conditions,
    density_feature,
    sections_from_density,
    token_controls,
)


def controls(rng, bars=6, beats_per_bar=4):
    beats = bars * beats_per_bar
    return dict(density=rng.integers(0, 40, bars).astype(np.float32), strength=rng.random(beats).astype(np.float32),
                chords=rng.integers(0, 181, beats), section_starts=[2, 5], n_bars_total=bars)


def timeline(rng, tokens=50, bars=6):
    bar = np.sort(rng.integers(0, bars, tokens))
    beat = bar * 4 + rng.integers(0, 4, tokens)
    return bar, beat


def test_shapes_and_values():
    rng = np.random.default_rng(0)
    c = controls(rng)
    bar, beat = timeline(rng)
    cond = align_conditions(bar, beat, key=21, **c)
    assert cond.video.shape == (1, 50, len(VIDEO_FEATURES)) and cond.video.dtype == torch.float32
    assert cond.chords.shape == (1, 50) and cond.chords.dtype == torch.long
    assert cond.key.tolist() == [21]
    video = cond.video[0]
    np.testing.assert_allclose(video[:, 0], np.clip(np.log1p(c["density"][bar]) / np.log1p(DENSITY_SCALE), 0, 1),
                               rtol=1e-6)
    np.testing.assert_allclose(video[:, 1], c["strength"][beat], rtol=1e-6)
    np.testing.assert_array_equal(video[:, 2], np.isin(bar, [2, 5]).astype(np.float32))
    np.testing.assert_allclose(video[:, 3], bar / 6, rtol=1e-6)
    np.testing.assert_array_equal(cond.chords[0], c["chords"][beat])
    assert align_conditions(bar, beat, key=-1, **c).key.tolist() == [24]


def test_torch_and_numpy_inputs_agree():
    rng = np.random.default_rng(1)
    c = controls(rng)
    bar, beat = timeline(rng)
    a = token_controls(bar, beat, **c)
    b = token_controls(torch.from_numpy(bar), torch.from_numpy(beat), torch.from_numpy(c["density"]),
                       torch.from_numpy(c["strength"]), torch.from_numpy(c["chords"]), c["section_starts"], 6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_no_leak_prefix_equals_full():
    """Conditions of the first t tokens do not depend on anything after them."""
    rng = np.random.default_rng(2)
    c = controls(rng)
    bar, beat = timeline(rng)
    full_video, full_chords = token_controls(bar, beat, **c)
    for t in (1, 17, 49):
        video, chords = token_controls(bar[:t], beat[:t], **c)
        assert torch.equal(video, full_video[:t]) and torch.equal(chords, full_chords[:t])


def test_bar_controls_only_touch_that_bar():
    rng = np.random.default_rng(3)
    c = controls(rng)
    bar, beat = timeline(rng)
    before, _ = token_controls(bar, beat, **c)
    changed = dict(c, density=c["density"].copy(), strength=c["strength"].copy(), section_starts=[2, 3, 5])
    changed["density"][3] += 30
    changed["strength"][12:16] = 1 - changed["strength"][12:16]
    after, _ = token_controls(bar, beat, **changed)
    differs = (after != before).any(dim=-1).numpy()
    assert differs.any()
    assert not differs[bar != 3].any()


def test_density_feature_is_fixed_not_per_piece():
    assert density_feature(np.array([0.0]))[0] == 0
    assert density_feature(np.array([DENSITY_SCALE, 10 * DENSITY_SCALE])).tolist() == [1.0, 1.0]
    # the same notes per bar give the same feature whatever else the piece holds
    assert density_feature(np.array([8.0, 1.0]))[0] == density_feature(np.array([8.0, 60.0]))[0]


def test_sections_from_density():
    density = np.array([4, 4, 4, 4, 16, 16, 16, 16, 16, 16, 2, 2, 2, 2], dtype=np.float32)
    assert sections_from_density(density) == [4, 10]
    assert sections_from_density(np.full(10, 8.0)) == []
    with pytest.raises(ValueError):
        sections_from_density(density, ratio=0.5)


def test_out_of_range_index_is_refused():
    rng = np.random.default_rng(4)
    c = controls(rng)
    with pytest.raises(ValueError, match="bar index out of range"):
        token_controls(np.array([0, 6]), np.array([0, 4]), **c)
