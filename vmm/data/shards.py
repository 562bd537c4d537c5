"""Training shards written by `vmm prepare`, and the manifest that lists them.

Layout of a prepared folder::

    OUT/
      tokenizer.json      the MidiTok tokenizer the tokens were made with (symbolic.tokenizer)
      manifest.json       what is in the folder (below)
      shards/<stem>.npz   one file per song

A shard (`numpy.savez_compressed`) holds, for a song of T tokens, n_bars bars and n_beats beats:

    =============== ========= ============= ==================================================
    key             dtype     shape         meaning
    =============== ========= ============= ==================================================
    tokens          int32     [T]           token ids (one stream, all tracks)
    bar             int32     [T]           bar of each token (0-based, symbolic.tokenizer.token_timeline)
    beat            int32     [T]           global beat of each token (0-based)
    density         float32   [n_bars]      note onsets per bar (symbolic.analysis.bar_note_density)
    strength        float32   [n_beats]     onset strength per beat in [0, 1] (beat_onset_strength)
    chords          int16     [n_beats]     chord id per beat (symbolic.chords; 0 = no chord)
    bar_first_beat  int32     [n_bars + 1]  first beat of each bar, then n_beats
    key             int32     []            tonic pitch class + 12 * minor; -1 when unknown
    tempo           float32   []            first tempo, beats (quarters) per minute
    =============== ========= ============= ==================================================

Every token's bar is < n_bars and its beat < n_beats, so `density[bar]`, `strength[beat]` and
`chords[beat]` give each token its conditions. A beat is the time signature's denominator unit.

`manifest.json`::

    {"format": 1, "tokenizer": "tokenizer.json", "tokenizer_hash": "...", "midi_dir": "...",
     "annotations": "pop909" | null, "val_fraction": 0.05,
     "songs": [{"stem", "source", "shard", "split": "train" | "val", "n_tokens", "n_bars",
                "n_beats", "chords": "pop909" | "recognised", "key": "pop909" | "estimated" | "unknown"}],
     "skipped": [{"path", "reason"}],
     "totals": {"songs", "tokens", "bars", "skipped"}}

The split is decided by a stable hash of the stem (`split_of`), so it never changes between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from symbolic.files import atomic_output
from vmm.errors import VMMError

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
TOKENIZER_NAME = "tokenizer.json"
SHARD_DIR = "shards"

# key -> (dtype, number of dimensions)
SHARD_SCHEMA: dict[str, tuple[type, int]] = {
    "tokens": (np.int32, 1),
    "bar": (np.int32, 1),
    "beat": (np.int32, 1),
    "density": (np.float32, 1),
    "strength": (np.float32, 1),
    "chords": (np.int16, 1),
    "bar_first_beat": (np.int32, 1),
    "key": (np.int32, 0),
    "tempo": (np.float32, 0),
}

Split = Literal["train", "val"]


def check_shard(arrays: dict[str, np.ndarray], name: str = "shard") -> None:
    """Raise VMMError unless `arrays` has the shard keys, dtypes, and consistent lengths."""
    missing = sorted(set(SHARD_SCHEMA) - set(arrays))
    if missing:
        raise VMMError(f"{name} lacks {missing} (re-run `vmm prepare`)")
    for key, (dtype, ndim) in SHARD_SCHEMA.items():
        value = arrays[key]
        if value.dtype != dtype or value.ndim != ndim:
            raise VMMError(f"{name}: {key} is {value.dtype}{list(value.shape)}, expected {np.dtype(dtype)} "
                           f"with {ndim} dimensions (re-run `vmm prepare`)")
    n_tokens, n_bars = len(arrays["tokens"]), len(arrays["density"])
    n_beats = len(arrays["strength"])
    problems = []
    if len(arrays["bar"]) != n_tokens or len(arrays["beat"]) != n_tokens:
        problems.append("bar/beat and tokens differ in length")
    if len(arrays["chords"]) != n_beats:
        problems.append("chords and strength differ in length")
    first = arrays["bar_first_beat"]
    if len(first) != n_bars + 1 or (len(first) and (first[0] != 0 or first[-1] != n_beats)):
        problems.append("bar_first_beat does not run from 0 to n_beats over n_bars + 1 entries")
    if n_tokens and (arrays["bar"].max() >= n_bars or arrays["beat"].max() >= n_beats):
        problems.append("a token lies after the last bar or beat")
    if problems:
        raise VMMError(f"{name} is inconsistent: {'; '.join(problems)} (re-run `vmm prepare`)")


def write_shard(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Check and write one song's arrays atomically (compressed .npz)."""
    arrays = {key: np.asarray(arrays[key], dtype=SHARD_SCHEMA[key][0]) for key in SHARD_SCHEMA}
    check_shard(arrays, str(path))
    path = Path(path)
    with atomic_output(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_shard(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read one shard into memory and check it (see the module docstring for the keys)."""
    path = Path(path)
    if not path.is_file():
        raise VMMError(f"shard not found: {path} (re-run `vmm prepare` or check the data folder)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise VMMError(f"shard {path} cannot be read ({error}); re-run `vmm prepare`") from None
    check_shard(arrays, str(path))
    return arrays


def split_of(stem: str, val_fraction: float) -> Split:
    """"val" for a stable fraction of stems (by SHA-256 of the stem), else "train"."""
    return "val" if stem_hash(stem) < val_fraction else "train"


def stem_hash(stem: str) -> float:
    """A number in [0, 1) fixed by the stem alone."""
    return int.from_bytes(hashlib.sha256(stem.encode()).digest()[:8], "big") / 2**64


@dataclass(frozen=True)
class SongEntry:
    """One prepared song in the manifest."""

    stem: str
    source: str
    shard: str  # relative to the prepared folder
    split: Split
    n_tokens: int
    n_bars: int
    n_beats: int
    chords: Literal["pop909", "recognised"]
    key: Literal["pop909", "estimated", "unknown"]


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class Manifest:
    """Contents of `manifest.json`."""

    tokenizer_hash: str
    midi_dir: str
    annotations: str | None
    val_fraction: float
    songs: list[SongEntry] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "tokenizer": TOKENIZER_NAME,
            "tokenizer_hash": self.tokenizer_hash,
            "midi_dir": self.midi_dir,
            "annotations": self.annotations,
            "val_fraction": self.val_fraction,
            "songs": [asdict(song) for song in self.songs],
            "skipped": [asdict(skip) for skip in self.skipped],
            "totals": {"songs": len(self.songs), "tokens": sum(s.n_tokens for s in self.songs),
                       "bars": sum(s.n_bars for s in self.songs), "skipped": len(self.skipped)},
        }

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / MANIFEST_NAME
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1))
        return path


class ShardIndex:
    """The songs of a prepared folder, by split. Reads `manifest.json`; loads shards on demand.

    Args:
        folder: the `--out` folder of `vmm prepare`.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        path = self.folder / MANIFEST_NAME
        if not path.is_file():
            raise VMMError(f"no {MANIFEST_NAME} in {self.folder} (run `vmm prepare --out {self.folder}` first)")
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT_VERSION:
                raise VMMError(f"{path} has format {data.get('format')!r}, expected {FORMAT_VERSION} "
                               "(re-run `vmm prepare`)")
            self.manifest = Manifest(
                tokenizer_hash=data["tokenizer_hash"], midi_dir=data["midi_dir"],
                annotations=data["annotations"], val_fraction=data["val_fraction"],
                songs=[SongEntry(**song) for song in data["songs"]],
                skipped=[SkippedFile(**skip) for skip in data["skipped"]])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise VMMError(f"{path} is not a valid manifest ({error}); re-run `vmm prepare`") from None

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_NAME

    @property
    def tokenizer_hash(self) -> str:
        return self.manifest.tokenizer_hash

    def songs(self, split: Split | None = None) -> list[SongEntry]:
        """Songs of one split ("train" or "val"), or all, in manifest order."""
        if split not in (None, "train", "val"):
            raise ValueError(f"split must be 'train', 'val' or None, got {split!r}")
        return [song for song in self.manifest.songs if split is None or song.split == split]

    def paths(self, split: Split | None = None) -> list[Path]:
        """Shard paths of one split (or all)."""
        return [self.folder / song.shard for song in self.songs(split)]

    def load(self, song: SongEntry) -> dict[str, np.ndarray]:
        return load_shard(self.folder / song.shard)

    def __len__(self) -> int:
        return len(self.manifest.songs)
