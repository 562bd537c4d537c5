import pytest
import torch

from vmm.audio.patterns import CodebookPattern

SPECIAL = 99


@pytest.mark.parametrize("name", ["delay", "parallel"])
def test_revert_build_round_trip(name):
    pattern = CodebookPattern.named(name, 4)
    codes = torch.randint(0, 64, (3, 4, 17))
    seq = pattern.build(codes, SPECIAL)
    assert seq.shape == (3, 4, 17 + pattern.max_delay + 1)
    assert torch.equal(pattern.revert(seq), codes)


def test_delay_layout_matches_the_drawing():
    pattern = CodebookPattern.delay(4)
    codes = torch.arange(4).repeat(4, 1)[None]  # every codebook holds frames 0..3
    seq = pattern.build(codes, SPECIAL)[0]
    S = SPECIAL
    assert seq.tolist() == [
        [S, 0, 1, 2, 3, S, S, S],
        [S, S, 0, 1, 2, 3, S, S],
        [S, S, S, 0, 1, 2, 3, S],
        [S, S, S, S, 0, 1, 2, 3],
    ]
    mask = pattern.valid_mask(4)
    assert torch.equal(mask, seq != SPECIAL)


def test_parallel_layout():
    seq = CodebookPattern.parallel(2).build(torch.tensor([[[5, 6], [7, 8]]]), SPECIAL)[0]
    assert seq.tolist() == [[SPECIAL, 5, 6], [SPECIAL, 7, 8]]


@pytest.mark.parametrize("name", ["delay", "parallel"])
def test_reverted_logits_align_with_targets(name):
    """A 'decoder' whose output at step s is the one-hot of the token at step s + 1 is a perfect
    predictor; after revert_logits its argmax must equal the codes exactly."""
    pattern = CodebookPattern.named(name, 4)
    vocab = 64
    codes = torch.randint(0, vocab, (2, 4, 11))
    seq = pattern.build(codes, vocab)  # special token = vocab (outside the code range)
    next_step = seq[:, :, 1:]  # what the output at steps 0..S-2 should predict
    logits = torch.nn.functional.one_hot(next_step, vocab + 1).float()[..., :vocab]
    aligned = pattern.revert_logits(logits)
    assert aligned.shape == (2, 4, 11, vocab)
    assert torch.equal(aligned.argmax(-1), codes)
    # the shifted-by-one mistake (no start step) must not pass
    wrong = torch.nn.functional.one_hot(seq[:, :, :-1], vocab + 1).float()[..., :vocab]
    assert not torch.equal(pattern.revert_logits(wrong).argmax(-1), codes)


def test_bad_delays_rejected():
    with pytest.raises(ValueError, match="non-decreasing"):
        CodebookPattern((1, 0))
    with pytest.raises(ValueError, match="unknown codebook pattern"):
        CodebookPattern.named("zigzag", 4)
    with pytest.raises(ValueError, match="codebooks"):
        CodebookPattern.delay(4).build(torch.zeros(1, 3, 5, dtype=torch.long), SPECIAL)
