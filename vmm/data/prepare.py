"""Turn a folder of MIDI files into training shards (see `vmm.data.shards` for the format).

Each song is read, (with POP909 annotations) aligned to its annotated downbeats, tokenised, and
analysed on the same beat grid as its tokens: note density per bar, onset strength and chord per
beat, key, first tempo. Songs are processed in parallel worker processes; a file that fails is
listed in the manifest with its reason and never stops the run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from miditok import REMI
from symusic import Score

from symbolic.analysis import (
    bar_note_density,
    beat_grid,
    beat_onset_strength,
    chords_per_beat,
    estimate_key,
)
from symbolic.chords import chords_at_times, read_pop909_chords
from symbolic.errors import SymbolicError
from symbolic.grid import BeatGrid, ticks_to_seconds
from symbolic.midi_io import is_midi_path, read_score
from symbolic.tokenizer import (
    TOKEN_TYPES,
    VocabTable,
    build_tokenizer,
    encode,
    save_tokenizer,
    token_timeline,
    tokenizer_hash,
    vocab_table,
)
from vmm.data import pop909
from vmm.data.shards import (
    SHARD_DIR,
    TOKENIZER_NAME,
    Manifest,
    SkippedFile,
    SongEntry,
    split_of,
    stem_hash,
    write_shard,
)
from vmm.errors import VMMError

log = logging.getLogger(__name__)

Annotations = Literal["pop909"] | None


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of a `vmm prepare` run.

    Args:
        annotations: "pop909" to read beat/chord/key files beside each MIDI file; None to
            recognise chords and estimate the key from the notes.
        val_fraction: share of songs in the validation split, by a stable hash of the stem.
        workers: parallel worker processes (1: in this process).
    """

    annotations: Annotations = None
    val_fraction: float = 0.05
    workers: int = 1

    def __post_init__(self) -> None:
        if self.annotations not in (None, "pop909"):
            raise ValueError(f"annotations must be None or 'pop909', got {self.annotations!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")


def find_midi_files(midi_dir: str | os.PathLike) -> list[Path]:
    """All .mid/.midi/.rmi files under `midi_dir` (recursive, any case), sorted; raise VMMError if none."""
    midi_dir = Path(midi_dir)
    if midi_dir.is_file():
        raise VMMError(f"--midi-dir {midi_dir} is a file, not a folder; give the folder that holds it "
                       f"({midi_dir.absolute().parent}) or another folder of .mid files")
    if not midi_dir.is_dir():
        raise VMMError(f"MIDI folder not found: {midi_dir} (pass --midi-dir with a folder of .mid files)")
    files = sorted(p for p in midi_dir.rglob("*") if p.is_file() and is_midi_path(p))
    if not files:
        raise VMMError(f"no .mid, .midi or .rmi files in {midi_dir} (or its subfolders)")
    return files


def unique_stems(files: list[Path], root: Path) -> list[str]:
    """File stems, or the relative path joined by "__" where two files share a stem."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.stem] = counts.get(path.stem, 0) + 1
    return [path.stem if counts[path.stem] == 1
            else "__".join(path.relative_to(root).with_suffix("").parts) for path in files]


@dataclass(frozen=True)
class _Job:
    path: Path
    stem: str
    shard: Path
    annotations: Annotations


@dataclass(frozen=True)
class _Result:
    stem: str
    path: Path
    shard: Path
    n_tokens: int = 0
    n_bars: int = 0
    n_beats: int = 0
    chords: str = ""
    key: str = ""
    error: str | None = None


def song_arrays(score: Score, tok: REMI, table: VocabTable, annotation_dir: Path | None = None
                ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tokens and controls of one song (the shard's arrays) and where chords/key came from.

    Args:
        score: the song as read (ticks).
        annotation_dir: folder with POP909 annotation files, or None to analyse the notes.

    Returns:
        (arrays keyed as in `vmm.data.shards.SHARD_SCHEMA`, {"chords": ..., "key": ...}).
    """
    shift = 0
    original = score
    if annotation_dir is not None and (annotation_dir / pop909.BEAT_FILE).is_file():
        score, alignment = pop909.align_to_beats(score, annotation_dir / pop909.BEAT_FILE)
        shift = alignment.shift_ticks
    if annotation_dir is not None:
        score = pop909.assign_role_programs(score)
    ids = encode(tok, score)
    note_codes = [TOKEN_TYPES.index("Pitch"), TOKEN_TYPES.index("PitchDrum")]
    if not np.isin(table.codes[np.asarray(ids, dtype=np.int64)], note_codes).any():
        raise SymbolicError("no notes the tokenizer can represent (pitches outside 21-108, drums outside 27-88)")
    bars, beats = token_timeline(table, ids)
    grid = _grid_covering(score, int(beats.max()))
    sources = {"chords": "recognised", "key": "estimated"}
    chord_file = annotation_dir / pop909.CHORD_FILE if annotation_dir else None
    if chord_file is not None and chord_file.is_file():
        # Beat centres, in the seconds of the file as it was before alignment.
        centres = (grid.beat_ticks[:-1] + grid.beat_ticks[1:]) / 2 - shift
        chords = chords_at_times(read_pop909_chords(chord_file), ticks_to_seconds(original, centres))
        sources["chords"] = "pop909"
    else:
        chords = chords_per_beat(score, grid)
    key_file = annotation_dir / pop909.KEY_FILE if annotation_dir else None
    if key_file is not None and key_file.is_file():
        key = pop909.read_key(key_file)
        sources["key"] = "pop909"
    else:
        key = _estimated_key(score)
        sources["key"] = "estimated" if key >= 0 else "unknown"
    tempo = float(min(score.tempos, key=lambda t: t.time).qpm) if len(score.tempos) else 120.0
    arrays = {
        "tokens": np.asarray(ids), "bar": bars, "beat": beats,
        "density": bar_note_density(score, grid), "strength": beat_onset_strength(score, grid),
        "chords": chords, "bar_first_beat": grid.bar_first_beat,
        "key": np.asarray(key), "tempo": np.asarray(tempo),
    }
    return arrays, sources


def _grid_covering(score: Score, last_beat: int) -> BeatGrid:
    """The score's beat grid, extended if quantisation moved a token past its end."""
    grid = beat_grid(score)
    while grid.n_beats <= last_beat:
        grid = beat_grid(score, min_end_tick=int(grid.beat_ticks[-1]) + 1)
    return grid


def _estimated_key(score: Score) -> int:
    try:
        tonic, mode = estimate_key(score)
    except SymbolicError:  # drums only: no key
        return -1
    return tonic + 12 * (mode == "minor")


class _Worker:
    """Per-process state: the tokenizer is built once per worker, not once per song."""

    def __init__(self) -> None:
        self.tok = build_tokenizer()
        self.table = vocab_table(self.tok)

    def __call__(self, job: _Job) -> _Result:
        try:
            score = read_score(job.path)
            annotation_dir = job.path.parent if job.annotations == "pop909" else None
            arrays, sources = song_arrays(score, self.tok, self.table, annotation_dir)
            write_shard(job.shard, arrays)
        except (SymbolicError, VMMError) as error:
            return _Result(job.stem, job.path, job.shard, error=str(error))
        except Exception as error:  # one bad file never stops the run; its reason goes to the manifest
            log.debug("unexpected failure on %s", job.path, exc_info=True)
            return _Result(job.stem, job.path, job.shard, error=f"{type(error).__name__}: {error}")
        return _Result(job.stem, job.path, job.shard, n_tokens=len(arrays["tokens"]),
                       n_bars=len(arrays["density"]), n_beats=len(arrays["strength"]), **sources)


_worker: _Worker | None = None  # set in each pool process by _init_worker (multiprocessing needs a module name)


def _init_worker() -> None:
    global _worker
    _worker = _Worker()


def _run_job(job: _Job) -> _Result:
    assert _worker is not None, "pool worker not initialised"
    return _worker(job)


def prepare_dataset(midi_dir: str | os.PathLike, out_dir: str | os.PathLike, config: PrepareConfig,
                    callback: Callable[[int, int], None] | None = None) -> Manifest:
    """Tokenise every MIDI file under `midi_dir` into `out_dir` (an existing, writable folder).

    Writes `shards/<stem>.npz` per song, then `tokenizer.json` and `manifest.json` (last, atomically).
    When no file can be prepared, nothing of an earlier run in `out_dir` is touched.

    Args:
        callback: called as callback(done, total) after each file.

    Returns:
        the manifest written.
    Raises:
        VMMError: no MIDI files, or none of them could be prepared (the message counts them and gives
            the first reason).
    """
    midi_dir, out_dir = Path(midi_dir), Path(out_dir)
    files = find_midi_files(midi_dir)
    tok = build_tokenizer()
    shard_dir = out_dir / SHARD_DIR
    made_shard_dir = not shard_dir.exists()
    shard_dir.mkdir(exist_ok=True)
    jobs = [_Job(path, stem, shard_dir / f"{stem}.npz", config.annotations)
            for path, stem in zip(files, unique_stems(files, midi_dir), strict=True)]
    results = _run_jobs(jobs, config.workers, callback)
    manifest = _manifest(results, tokenizer_hash(tok), midi_dir, out_dir, config)
    if not manifest.songs:
        if made_shard_dir:
            shard_dir.rmdir()  # no shard was written
        first = manifest.skipped[0]
        reason = (first.reason.strip().splitlines() or ["unknown"])[0]
        raise VMMError(f"none of the {len(manifest.skipped)} MIDI file(s) under {midi_dir} could be prepared; "
                       f"all were skipped, the first ({Path(first.path).name}) because: {reason}")
    save_tokenizer(tok, out_dir / TOKENIZER_NAME)
    _remove_stale_shards(shard_dir, {song.stem for song in manifest.songs})
    manifest.save(out_dir)
    return manifest


def _run_jobs(jobs: list[_Job], workers: int, callback: Callable[[int, int], None] | None) -> list[_Result]:
    results = []
    total = len(jobs)
    if workers == 1 or total == 1:
        worker = _Worker()
        for job in jobs:
            results.append(worker(job))
            if callback:
                callback(len(results), total)
        return results
    # fork keeps start-up cheap where it exists; the workers touch no threads of the parent.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(workers, total), initializer=_init_worker) as pool:
        for result in pool.imap_unordered(_run_job, jobs, chunksize=1):
            results.append(result)
            if callback:
                callback(len(results), total)
    return results


def _manifest(results: list[_Result], tok_hash: str, midi_dir: Path, out_dir: Path,
              config: PrepareConfig) -> Manifest:
    results = sorted(results, key=lambda r: str(r.path))
    done = [r for r in results if r.error is None]
    splits = {r.stem: split_of(r.stem, config.val_fraction) for r in done}
    if config.val_fraction > 0 and len(done) >= 2 and "val" not in splits.values():
        # Too few songs for the hash to pick one: the song with the smallest hash validates.
        splits[min(splits, key=stem_hash)] = "val"
    songs = [SongEntry(stem=r.stem, source=str(r.path.resolve()), shard=str(r.shard.relative_to(out_dir)),
                       split=splits[r.stem], n_tokens=r.n_tokens, n_bars=r.n_bars, n_beats=r.n_beats,
                       chords=r.chords, key=r.key) for r in done]
    skipped = [SkippedFile(path=str(r.path.resolve()), reason=r.error) for r in results if r.error is not None]
    return Manifest(tokenizer_hash=tok_hash, midi_dir=str(midi_dir.resolve()), annotations=config.annotations,
                    val_fraction=config.val_fraction, songs=songs, skipped=skipped)


def _remove_stale_shards(shard_dir: Path, stems: set[str]) -> None:
    """Shards of an earlier run into the same folder (--force) that this run did not write."""
    for path in shard_dir.glob("*.npz"):
        if path.stem not in stems:
            path.unlink()
