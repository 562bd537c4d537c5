"""`vmm bench tokenize`: MIDI files per second through read + REMI encoding, on one core.

Peer: MidiTok loading the file itself (`tokenizer.encode(path)`, symusic underneath), on the same
files in the same run. VMM's path adds the structural checks that name a bad file's fault. The full
per-song preparation of `vmm prepare` (alignment-free: timeline, grid, density, strength, chords,
key) is timed too, to size a `prepare` run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from symbolic.errors import SymbolicError
from symbolic.midi_io import read_score
from symbolic.tokenizer import build_tokenizer, encode, vocab_table
from vmm.data.prepare import find_midi_files, song_arrays

NAME = "tokenize"
HELP = "files/s reading + tokenising MIDI (default: ../shared/data/pop909), against MidiTok's own loader"

DEFAULT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pop909"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--midi-dir", default=None,
                        help=f"folder of MIDI files (default: {DEFAULT_DIR} when it exists)")
    parser.add_argument("--limit", type=int, default=100, help="number of files to time (default 100)")


def _time_per_file(files: list[Path], work) -> tuple[float, int]:
    """Seconds for `work(path)` over all files, and how many failed (bad files count, as in prepare)."""
    failed = 0
    started = time.perf_counter()
    for path in files:
        try:
            work(path)
        except (SymbolicError, RuntimeError, ValueError, OSError):
            failed += 1
    return time.perf_counter() - started, failed


def run(args: argparse.Namespace) -> int:
    if args.midi_dir is None:
        if not DEFAULT_DIR.is_dir():
            print(f"no MIDI folder at {DEFAULT_DIR}; pass one: vmm bench tokenize --midi-dir DIR")
            return 0
        args.midi_dir = DEFAULT_DIR
    if args.limit < 1:
        print(f"--limit must be at least 1, got {args.limit}")
        return 2
    files = find_midi_files(args.midi_dir)[:args.limit]
    tok = build_tokenizer()
    table = vocab_table(tok)
    tokens = 0

    def ours(path: Path) -> None:
        nonlocal tokens
        tokens += len(encode(tok, read_score(path)))

    def miditok(path: Path) -> None:
        tok.encode(path)

    ours(files[0]), miditok(files[0])  # warm caches and lazy imports outside the timing
    tokens = 0
    peer_s, peer_failed = _time_per_file(files, miditok)
    ours_s, ours_failed = _time_per_file(files, ours)
    full_s, _ = _time_per_file(files, lambda path: song_arrays(read_score(path), tok, table))
    n = len(files)
    print(f"{n} files from {args.midi_dir} ({tokens / max(n - ours_failed, 1):,.0f} tokens per file)")
    print(f"  vmm read_score + encode      {n / ours_s:8.1f} files/s   ({ours_failed} unreadable)")
    print(f"  miditok encode(path) (peer)  {n / peer_s:8.1f} files/s   ({peer_failed} unreadable)")
    print(f"  vmm / peer                   {peer_s / ours_s:8.2f}x")
    print(f"  full prepare per song        {n / full_s:8.1f} files/s   (tokens, timeline, grid, density, "
          "strength, chords, key; one core)")
    return 0
