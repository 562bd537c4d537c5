"""Crops of the shards for training and validation, and the LightningDataModule over them.

A training sample is a random crop of `seq_len + 1` tokens that starts on the first token of a bar,
transposed by a random number of semitones (notes, chords and key together, drums untouched). Its
conditions come from `vmm.conditioning.token_controls`, exactly as at inference, with the controls
measured from the music. Validation uses fixed crops (non-overlapping windows from bar starts), no
transposition, so its loss is comparable from epoch to epoch.

A batch (see `collate`), for B samples padded to L tokens:
    tokens  [B, L]    int64   input ids (pad id where padded)
    targets [B, L]    int64   next-token ids, -100 where there is no target (ignored by the loss)
    mask    [B, L]    bool    True where targets are real
    video   [B, L, 4] float32 video features of each input token (vmm.conditioning.VIDEO_FEATURES)
    chords  [B, L]    int64   chord id of each input token's beat
    key     [B]       int64   key id
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from symbolic.tokenizer import load_tokenizer
from vmm.conditioning import token_controls
from vmm.errors import VMMError
from vmm.training.augment import Transposer, transpose_chords, transpose_key
from vmm.training.shards import Piece, load_split

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
TRANSPOSE_SLACK = 64  # extra tokens cut before transposing, so dropped notes do not shorten the crop


def make_sample(piece: Piece, start: int, length: int, shift: int = 0,
                transposer: Transposer | None = None) -> dict[str, torch.Tensor]:
    """One training/validation sample: tokens[start : start + length], transposed, with conditions.

    Args:
        piece: the song.
        start: first token index (a bar start).
        length: tokens in the sample (seq_len + 1: inputs and the last target).
        shift: semitones to transpose (needs `transposer` when non-zero).

    Returns:
        {"tokens": [L'], "video": [L'-1, 4], "chords": [L'-1], "key": []}, L' <= length.
    """
    stop = min(len(piece.tokens), start + length + (TRANSPOSE_SLACK if shift else 0))
    ids, bar, beat = piece.tokens[start:stop], piece.bar[start:stop], piece.beat[start:stop]
    if shift:
        ids, keep = transposer.tokens(ids, shift)
        bar, beat = bar[keep], beat[keep]
    ids, bar, beat = ids[:length], bar[:length], beat[:length]
    video, chords = token_controls(bar[:-1], beat[:-1], piece.density, piece.strength, piece.chords,
                                   piece.sections, piece.n_bars)
    if shift:
        chords = torch.from_numpy(transpose_chords(chords.numpy(), shift))
    return {
        "tokens": torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64)),
        "video": video,
        "chords": chords,
        "key": torch.tensor(transpose_key(piece.key, shift)),
    }


class RandomCrops(Dataset):
    """Random bar-aligned crops, each piece visited in proportion to its length.

    Args:
        pieces: the training songs.
        seq_len: input tokens per sample (crops hold seq_len + 1 tokens).
        transpose: inclusive (low, high) semitone range of the random shift; (0, 0) for none.
        transposer: lookup tables for the shift (needed unless transpose is (0, 0)).
    """

    def __init__(self, pieces: list[Piece], seq_len: int, transpose: tuple[int, int] = (0, 0),
                 transposer: Transposer | None = None) -> None:
        if transpose != (0, 0) and transposer is None:
            raise ValueError("a transposer is needed to transpose")
        self.pieces, self.seq_len, self.transpose, self.transposer = pieces, seq_len, transpose, transposer
        self.starts = [self._valid_starts(p) for p in pieces]
        self.index = np.concatenate([np.full(max(1, math.ceil(len(p.tokens) / seq_len)), i)
                                     for i, p in enumerate(pieces)]) if pieces else np.zeros(0, int)

    def _valid_starts(self, piece: Piece) -> np.ndarray:
        starts = piece.bar_starts()
        full = starts[starts + self.seq_len + 1 <= len(piece.tokens)]
        return full if len(full) else starts[:1]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        # torch's RNG: seeded per worker by the DataLoader, and by seed_everything in the main process.
        number = int(self.index[item])
        starts = self.starts[number]
        start = int(starts[torch.randint(len(starts), ()).item()])
        low, high = self.transpose
        shift = int(torch.randint(low, high + 1, ()).item()) if high > low else low
        return make_sample(self.pieces[number], start, self.seq_len + 1, shift, self.transposer)


def fixed_crops(pieces: list[Piece], seq_len: int, per_piece: int | None = None) -> list[tuple[int, int]]:
    """Deterministic (piece index, start) pairs: consecutive windows starting on bar starts.

    Each window starts at the latest bar start within the previous window's span, so windows
    overlap by less than one bar (a single bar longer than a window leaves a gap); at most
    `per_piece` windows per song (None = all).
    """
    crops = []
    for number, piece in enumerate(pieces):
        starts, start, taken = piece.bar_starts(), 0, 0
        while start < len(piece.tokens) - 1 and (per_piece is None or taken < per_piece):
            crops.append((number, start))
            taken += 1
            if start + seq_len + 1 >= len(piece.tokens):
                break
            later = starts[starts > start]
            if not len(later):
                break
            # the latest bar start inside this window; a bar longer than the window leaves a gap
            inside = later[later <= start + seq_len]
            start = int(inside[-1] if len(inside) else later[0])
    return crops


class FixedCrops(Dataset):
    """Validation crops: fixed windows, no augmentation (see `fixed_crops`)."""

    def __init__(self, pieces: list[Piece], seq_len: int, per_piece: int | None = None) -> None:
        self.pieces, self.seq_len = pieces, seq_len
        self.crops = fixed_crops(pieces, seq_len, per_piece)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        number, start = self.crops[item]
        return make_sample(self.pieces[number], start, self.seq_len + 1)


def density_reference(pieces: list[Piece], points: int = 101) -> dict:
    """Quantiles of notes per bar over all bars of `pieces` (the video plan percentile-matches motion
    to them). Returns {"quantiles": [points] in 0..1, "notes_per_bar": [points] sorted, "n_bars": int}."""
    values = np.concatenate([p.density for p in pieces]) if pieces else np.zeros(1)
    levels = np.linspace(0.0, 1.0, points)
    return {"unit": "notes per bar", "quantiles": [round(float(q), 4) for q in levels],
            "notes_per_bar": [float(v) for v in np.quantile(values, levels)], "n_bars": int(len(values))}


def collate(samples: list[dict[str, torch.Tensor]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad samples to the longest one and split tokens into inputs and targets (see module doc)."""
    length = max(len(s["tokens"]) for s in samples) - 1
    batch = len(samples)
    tokens = torch.full((batch, length), pad_id, dtype=torch.long)
    targets = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
    video = torch.zeros(batch, length, samples[0]["video"].shape[-1])
    chords = torch.zeros(batch, length, dtype=torch.long)
    for row, sample in enumerate(samples):
        n = len(sample["tokens"]) - 1
        tokens[row, :n] = sample["tokens"][:-1]
        targets[row, :n] = sample["tokens"][1:]
        video[row, :n] = sample["video"]
        chords[row, :n] = sample["chords"]
    key = torch.stack([s["key"] for s in samples]).long()
    return {"tokens": tokens, "targets": targets, "mask": targets != IGNORE_INDEX,
            "video": video, "chords": chords, "key": key}


class ShardDataModule(L.LightningDataModule):
    """Training and validation crops of a `vmm prepare` folder.

    Args:
        root: the folder `vmm prepare --out` wrote (tokenizer.json, manifest.json, shards/).
        seq_len: input tokens per sample.
        batch_size: samples per batch.
        num_workers: DataLoader worker processes (0 = load in the main process).
        transpose: inclusive semitone range of the random transposition, e.g. [-5, 6]; [0, 0] = off.
        val_crops_per_piece: fixed validation windows per song (None = every window).
    """

    def __init__(
        self,
        root: str,
        seq_len: int = 1024,
        batch_size: int = 8,
        num_workers: int = 0,
        transpose: tuple[int, int] = (-5, 6),
        val_crops_per_piece: int | None = 4,
    ) -> None:
        super().__init__()
        if seq_len < 2 or batch_size < 1 or num_workers < 0:
            raise ValueError(f"need seq_len >= 2, batch_size >= 1, num_workers >= 0; got {seq_len}, "
                             f"{batch_size}, {num_workers}")
        low, high = transpose
        if low > high or max(abs(low), abs(high)) > 12:
            raise ValueError(f"transpose must be [low, high] with -12 <= low <= high <= 12, got {transpose}")
        self.save_hyperparameters()
        self.root = Path(root)
        self.seq_len, self.batch_size, self.num_workers = seq_len, batch_size, num_workers
        self.transpose = (int(low), int(high))
        self.val_crops_per_piece = val_crops_per_piece
        self._tokenizer = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    @property
    def tokenizer_path(self) -> Path:
        return self.root / "tokenizer.json"

    @property
    def tokenizer(self):
        """The MidiTok tokenizer of the shards (loaded once)."""
        if self._tokenizer is None:
            if not self.root.is_dir():
                raise VMMError(f"data folder not found: {self.root} (make it with `vmm prepare --out {self.root}`)")
            if not self.tokenizer_path.is_file():
                raise VMMError(f"no tokenizer.json in {self.root} (make the shards with `vmm prepare`)")
            self._tokenizer = load_tokenizer(self.tokenizer_path)
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def pad_id(self) -> int:
        return int(getattr(self.tokenizer, "pad_token_id", 0) or 0)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None and stage in (None, "fit"):
            pieces = load_split(self.root, "train")
            if not pieces:
                raise VMMError(f"{self.root} has no training songs (check manifest.json; re-run `vmm prepare`)")
            high = max(abs(v) for v in self.transpose)
            transposer = Transposer(self.tokenizer.vocab, max(high, 1))
            self.train_set = RandomCrops(pieces, self.seq_len, self.transpose, transposer)
            log.info("training on %d songs, %d crops per epoch", len(pieces), len(self.train_set))
        if self.val_set is None:
            pieces = load_split(self.root, "val")
            if not pieces:
                log.warning("%s has no validation songs; validating on the training songs", self.root)
                pieces = load_split(self.root, "train")
            self.val_set = FixedCrops(pieces, self.seq_len, self.val_crops_per_piece)

    def export_info(self) -> dict:
        """What an exported model keeps from its data: tokenizer JSON, density reference, counts."""
        info: dict = {"tokenizer_json": self.tokenizer_path.read_text(), "data": {"root": str(self.root)}}
        if isinstance(self.train_set, RandomCrops):
            pieces = self.train_set.pieces
            info["density_reference"] = density_reference(pieces)
            info["data"].update(train_songs=len(pieces), train_tokens=int(sum(len(p.tokens) for p in pieces)),
                                seq_len=self.seq_len, transpose=list(self.transpose))
        if isinstance(self.val_set, FixedCrops):
            info["data"]["val_songs"] = len(self.val_set.pieces)
        return info

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        pad_id = self.pad_id  # read here: the partial must pickle for worker processes
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=functools.partial(collate, pad_id=pad_id),
            persistent_workers=self.num_workers > 0,
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
