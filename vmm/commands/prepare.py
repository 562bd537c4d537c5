"""`vmm prepare`: tokenise a folder of MIDI files into training shards."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vmm.errors import VMMError
from vmm.paths import prepare_output_dir

NAME = "prepare"
HELP = "tokenise a folder of MIDI files (recursive) into training shards with per-bar/per-beat controls"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--midi-dir", required=True, help="folder of .mid/.midi/.rmi files (searched recursively)")
    parser.add_argument("--annotations", choices=["pop909"], default=None,
                        help="read POP909 beat_midi.txt, chord_midi.txt and key_audio.txt beside each file")
    parser.add_argument("--out", required=True, help="output folder (tokenizer.json, manifest.json, shards/)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="parallel worker processes (default: the number of CPU cores)")
    parser.add_argument("--val-fraction", type=float, default=0.05,
                        help="share of songs in the validation split, by a stable hash of the name (default 0.05)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out folder")


def run(args: argparse.Namespace) -> int:
    from vmm.data.prepare import find_midi_files  # loads torch: only here

    if args.workers < 1:
        raise VMMError(f"--workers must be at least 1, got {args.workers}")
    if not 0.0 <= args.val_fraction < 1.0:
        raise VMMError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
    files = find_midi_files(args.midi_dir)  # checks --midi-dir before anything is created
    created = not Path(args.out).exists()
    out = prepare_output_dir(args.out, force=args.force)
    try:
        manifest, elapsed = _prepare(args, files, out)
    except BaseException:
        if created:  # a failed or interrupted run leaves no folder of its own behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    report(manifest, elapsed, out)
    return 0


def _prepare(args: argparse.Namespace, files: list, out: Path):
    """Run `prepare_dataset` with a progress bar. Returns (manifest, seconds)."""
    from vmm.data.prepare import PrepareConfig, prepare_dataset

    config = PrepareConfig(annotations=args.annotations, val_fraction=args.val_fraction,
                           workers=min(args.workers, len(files)))
    console = Console(stderr=True)
    columns = (TextColumn("tokenising"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task("prepare", total=len(files))
        manifest = prepare_dataset(args.midi_dir, out, config,
                                   callback=lambda done, total: progress.update(task, completed=done))
    return manifest, time.perf_counter() - started


def report(manifest, elapsed: float, out: Path) -> None:
    """Print what was prepared and what was skipped."""
    totals = manifest.to_json()["totals"]
    n_val = sum(song.split == "val" for song in manifest.songs)
    per_bar = totals["tokens"] / totals["bars"] if totals["bars"] else 0.0
    print(f"{totals['songs']} songs ({totals['songs'] - n_val} train, {n_val} val), {totals['tokens']:,} tokens, "
          f"{totals['bars']:,} bars ({per_bar:.1f} tokens/bar) in {elapsed:.1f} s -> {out}")
    if manifest.skipped:
        print(f"skipped {len(manifest.skipped)} file(s) (reasons in {out / 'manifest.json'}):")
        for skip in manifest.skipped[:10]:
            print(f"  {skip.reason}")
        if len(manifest.skipped) > 10:
            print(f"  ... and {len(manifest.skipped) - 10} more")
