"""Reading a `vmm prepare` output folder into memory for training.

The folder's layout and shard format are `vmm.data.shards`'; `Piece` is one song with the
controls the conditioning needs, and the section starts derived from its density.

Glossary: T tokens, N bars, K beats.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vmm.conditioning import sections_from_density
from vmm.data.shards import ShardIndex

log = logging.getLogger(__name__)


@dataclass
class Piece:
    """One song of the shards.

    Attributes:
        stem: the song's name.
        tokens, bar, beat: [T] int64 token ids, bar index and global beat index of each token.
        density: [N] notes per bar.
        strength: [K] beat strength, 0..1.
        chords: [K] chord id per beat.
        key: tonic + 12 * minor, 24 = unknown.
        sections: bar indices where a section starts (`sections_from_density`).
    """

    stem: str
    tokens: np.ndarray
    bar: np.ndarray
    beat: np.ndarray
    density: np.ndarray
    strength: np.ndarray
    chords: np.ndarray
    key: int
    sections: list[int] = field(default_factory=list)

    @property
    def n_bars(self) -> int:
        return len(self.density)

    def bar_starts(self) -> np.ndarray:
        """[S] token indices that are the first token of a bar."""
        change = np.flatnonzero(np.diff(self.bar) != 0) + 1
        return np.concatenate([[0], change]).astype(np.int64) if len(self.bar) else change


def piece_from_arrays(arrays: dict[str, np.ndarray], stem: str) -> Piece:
    """A Piece from the arrays of one shard (`vmm.data.shards.load_shard`)."""
    key = int(arrays["key"])
    density = arrays["density"].astype(np.float32)
    return Piece(
        stem=stem,
        tokens=arrays["tokens"].astype(np.int64),
        bar=arrays["bar"].astype(np.int64),
        beat=arrays["beat"].astype(np.int64),
        density=density,
        strength=arrays["strength"].astype(np.float32),
        chords=arrays["chords"].astype(np.int64),
        key=key if 0 <= key < 24 else 24,
        sections=sections_from_density(density),
    )


def load_split(
    root: str | Path, split: str, callback: Callable[[int, int], None] | None = None
) -> list[Piece]:
    """All pieces of one split ("train" or "val") with at least two tokens, in manifest order."""
    index = ShardIndex(root)
    songs = index.songs(split)
    pieces = []
    for done, song in enumerate(songs, start=1):
        piece = piece_from_arrays(index.load(song), song.stem)
        if len(piece.tokens) >= 2:
            pieces.append(piece)
        if callback is not None:
            callback(done, len(songs))
    log.debug("%s: %d %s songs", root, len(pieces), split)
    return pieces
