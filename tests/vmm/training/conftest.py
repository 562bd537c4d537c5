"""Synthetic shard folders for the training tests: valid REMI streams with consistent bar/beat arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from symbolic.tokenizer import build_tokenizer, save_tokenizer, token_timeline, tokenizer_hash
from vmm.data.shards import Manifest, SongEntry, write_shard

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "configs"


def synthetic_song(tok, rng: np.random.Generator, bars: int) -> dict[str, np.ndarray]:
    """A 4/4 song of `bars` bars: piano notes on random positions, a kick drum on beats 1 and 3."""
    v = tok.vocab
    ids: list[int] = []
    density = np.zeros(bars, dtype=np.float32)
    for bar in range(bars):
        ids += [v["Bar_None"], v["TimeSig_4/4"]]
        if bar == 0:
            ids.append(v["Position_0"])
            ids.append(v["Tempo_120.0"] if "Tempo_120.0" in v else v[next(k for k in v if k.startswith("Tempo"))])
        positions = sorted(rng.choice(32, size=int(rng.integers(1, 8)), replace=False))
        for position in sorted(set(positions) | {0, 16}):
            ids.append(v[f"Position_{position}"])
            if position in (0, 16):
                ids += [v["Program_-1"], v["PitchDrum_36"], v["Velocity_95"], v["Duration_0.2.8"]]
                density[bar] += 1
            if position in positions:
                for pitch in rng.choice(np.arange(22, 108), size=int(rng.integers(1, 3)), replace=False):
                    ids += [v["Program_0"], v[f"Pitch_{pitch}"], v["Velocity_79"], v["Duration_1.0.8"]]
                    density[bar] += 1
    tokens = np.array(ids, dtype=np.int32)
    bar_index, beat_index = token_timeline(tok, tokens)
    n_beats = 4 * bars
    return {
        "tokens": tokens, "bar": bar_index, "beat": beat_index, "density": density,
        "strength": rng.random(n_beats).astype(np.float32),
        "chords": rng.integers(0, 181, n_beats).astype(np.int16),
        "bar_first_beat": (4 * np.arange(bars + 1)).astype(np.int32),
        "key": np.int32(rng.integers(0, 24)), "tempo": np.float32(120.0),
    }


def make_shard_folder(root: Path, songs: int = 4, bars: int = 12, seed: int = 0) -> Path:
    """A `vmm prepare`-style folder: tokenizer.json, manifest.json, shards/ (last song is val)."""
    rng = np.random.default_rng(seed)
    tok = build_tokenizer()
    (root / "shards").mkdir(parents=True)
    save_tokenizer(tok, root / "tokenizer.json")
    entries = []
    for number in range(songs):
        stem = f"song{number:02d}"
        arrays = synthetic_song(tok, rng, bars)
        write_shard(root / "shards" / f"{stem}.npz", arrays)
        entries.append(SongEntry(stem=stem, source=f"{stem}.mid", shard=f"shards/{stem}.npz",
                                 split="val" if number == songs - 1 else "train", n_tokens=len(arrays["tokens"]),
                                 n_bars=bars, n_beats=4 * bars, chords="recognised", key="estimated"))
    Manifest(tokenizer_hash=tokenizer_hash(tok), midi_dir="synthetic", annotations=None, val_fraction=0.25,
             songs=entries).save(root)
    return root


@pytest.fixture
def shard_dir(tmp_path: Path) -> Path:
    return make_shard_folder(tmp_path / "shards_root")


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@dataclass
class FittedRun:
    shards: Path
    runs: Path
    last: Path  # last.ckpt after `max_steps` steps


def fit_tiny(shards: Path, runs: Path, *extra: str) -> int:
    from vmm.cli import main

    return main(["fit", "-c", str(CONFIGS / "tiny.yaml"), "--data.root", str(shards),
                 "--trainer.default_root_dir", str(runs), "--trainer.logger.class_path",
                 "lightning.pytorch.loggers.CSVLogger", "--trainer.logger.init_args.save_dir", str(runs),
                 *extra])


@pytest.fixture(scope="session")
def fitted(tmp_path_factory) -> FittedRun:
    """A tiny model fitted for 3 steps on a synthetic shard folder (shared by the fit and export tests)."""
    root = tmp_path_factory.mktemp("fitted")
    shards = make_shard_folder(root / "shards")
    assert fit_tiny(shards, root / "runs", "--trainer.max_steps", "3") == 0
    (last,) = (root / "runs").rglob("last.ckpt")
    return FittedRun(shards, root / "runs", last)


@pytest.fixture(name="fit_tiny")
def fit_tiny_fixture():
    """`fit_tiny(shards, runs, *extra_args) -> exit status`."""
    return fit_tiny
