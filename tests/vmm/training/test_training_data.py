import numpy as np
import pytest
import torch

from vmm.errors import VMMError
from vmm.training.data import IGNORE_INDEX, ShardDataModule, collate, fixed_crops, make_sample
from vmm.training.shards import load_split


def bar_token_id(dm):
    return dm.tokenizer.vocab["Bar_None"]


def test_random_crops_start_on_bar_boundaries(shard_dir):
    dm = ShardDataModule(str(shard_dir), seq_len=48, batch_size=4, transpose=(-3, 3))
    dm.setup("fit")
    torch.manual_seed(0)
    starts_seen = set()
    for item in range(len(dm.train_set)):
        for _ in range(5):
            sample = dm.train_set[item]
            assert sample["tokens"][0] == bar_token_id(dm)
            assert len(sample["tokens"]) == 49 and sample["video"].shape == (48, 4)
            starts_seen.add(float(sample["video"][0, 3]))
    assert len(starts_seen) > 2  # crops start at several different bars


def test_validation_crops_are_fixed_and_cover_the_song(shard_dir):
    pieces = load_split(shard_dir, "val")
    crops = fixed_crops(pieces, seq_len=100)
    assert crops == fixed_crops(pieces, seq_len=100) and len(crops) > 2
    starts = set(pieces[0].bar_starts().tolist())
    assert all(start in starts for _, start in crops)
    # consecutive windows leave no gap
    spans = [(s, s + 101) for _, s in crops]
    assert all(b[0] <= a[1] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[-1][1] >= len(pieces[0].tokens)
    assert len(fixed_crops(pieces, seq_len=100, per_piece=2)) == 2


def test_transposed_sample_keeps_conditions_aligned(shard_dir, tokenizer):
    dm = ShardDataModule(str(shard_dir), seq_len=64)
    dm.setup("fit")
    piece = dm.train_set.pieces[0]
    plain = make_sample(piece, 0, 65)
    up = make_sample(piece, 0, 65, shift=2, transposer=dm.train_set.transposer)
    inverse = {v: k for k, v in tokenizer.vocab.items()}
    names = [inverse[int(i)] for i in plain["tokens"]]
    moved = [inverse[int(i)] for i in up["tokens"]]
    for a, b in zip(names, moved, strict=False):
        if a.startswith("Pitch_"):
            assert b == f"Pitch_{int(a[6:]) + 2}"
        else:
            assert a == b  # drums, positions, bars unchanged
    assert torch.equal(plain["video"], up["video"])
    roots = lambda c: ((c - 1) // 15) % 12  # noqa: E731
    moved_chords = up["chords"][plain["chords"] > 0]
    assert torch.equal(roots(moved_chords), (roots(plain["chords"][plain["chords"] > 0]) + 2) % 12)


def test_collate_pads_and_masks():
    samples = [{"tokens": torch.arange(1, 6), "video": torch.ones(4, 4), "chords": torch.full((4,), 3),
                "key": torch.tensor(2)},
               {"tokens": torch.arange(1, 4), "video": torch.ones(2, 4), "chords": torch.full((2,), 5),
                "key": torch.tensor(24)}]
    batch = collate(samples, pad_id=0)
    assert batch["tokens"].tolist() == [[1, 2, 3, 4], [1, 2, 0, 0]]
    assert batch["targets"].tolist() == [[2, 3, 4, 5], [2, 3, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["mask"].tolist() == [[True] * 4, [True, True, False, False]]
    assert batch["video"][1, 2:].abs().sum() == 0 and batch["key"].tolist() == [2, 24]


def test_loaders_and_vocab(shard_dir, tokenizer):
    dm = ShardDataModule(str(shard_dir), seq_len=32, batch_size=3)
    assert dm.vocab_size == len(tokenizer) and dm.pad_id == tokenizer.pad_token_id
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["tokens"].shape == (3, 32) and batch["video"].shape == (3, 32, 4)
    val = [b["tokens"] for b in dm.val_dataloader()]
    again = [b["tokens"] for b in dm.val_dataloader()]
    assert all(torch.equal(a, b) for a, b in zip(val, again, strict=True))


def test_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(VMMError, match="not found"):
        _ = ShardDataModule(str(tmp_path / "nope")).vocab_size
    with pytest.raises(ValueError):
        ShardDataModule(str(tmp_path), transpose=(3, -3))


def test_bar_starts_match_bar_tokens(shard_dir, tokenizer):
    piece = load_split(shard_dir, "train")[0]
    bar_ids = np.flatnonzero(piece.tokens == tokenizer.vocab["Bar_None"])
    np.testing.assert_array_equal(piece.bar_starts(), bar_ids)
