import numpy as np
import pytest
import torch

from symbolic.tokenizer import build_tokenizer, decode, token_timeline
from vmm.generate.generator import ScoreControls, generate_tokens
from vmm.generate.sampling import SamplingSettings
from vmm.model import VMMConfig, VMMModel


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return VMMModel(VMMConfig.tiny(len(tokenizer)))


def controls(n_bars, programs=(0, 73)):
    return ScoreControls(n_bars=n_bars, tempo=96.0, density=np.full(n_bars, 12.0),
                         strength=np.tile([1.0, 0.2, 0.6, 0.2], n_bars), chords=np.ones(4 * n_bars, dtype=int),
                         section_starts=[1], key=9 + 12, programs=list(programs))


@pytest.mark.parametrize("cfg_scale", [1.0, 3.0])
def test_generation_gives_exactly_the_planned_bars(tokenizer, model, cfg_scale):
    progress = []
    ids = generate_tokens(model, tokenizer, controls(3), SamplingSettings(seed=1, cfg_scale=cfg_scale),
                          callback=lambda done, total: progress.append((done, total)))
    bars, _ = token_timeline(tokenizer, ids)
    assert bars.max() == 2 and tokenizer[ids[0]] == "Bar_None"
    assert progress[-1] == (3, 3) and len(progress) == 4
    score = decode(tokenizer, ids)
    assert {track.program for track in score.tracks} <= {0, 73}
    assert abs(score.tempos[0].qpm - 96) < 1.5


def test_same_seed_same_music_other_seed_other_music(tokenizer, model):
    first = generate_tokens(model, tokenizer, controls(2), SamplingSettings(seed=7))
    assert first == generate_tokens(model, tokenizer, controls(2), SamplingSettings(seed=7))
    assert first != generate_tokens(model, tokenizer, controls(2), SamplingSettings(seed=8))


def test_controls_must_cover_the_plan():
    with pytest.raises(ValueError, match="strength has 3 beats"):
        ScoreControls(n_bars=1, tempo=100, density=np.ones(1), strength=np.ones(3), chords=np.ones(4))
