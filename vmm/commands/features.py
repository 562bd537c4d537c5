"""`vmm features`: video features (motion, cuts, visual beats, mood, optional CLIP) to an .npz file."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from vmm.errors import VMMError

NAME = "features"
HELP = "extract video features (motion, cuts, visual beats, mood, optional CLIP) to an .npz file"


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that read a video."""
    parser.add_argument("--grid-fps", type=float, default=10.0,
                        help="points per second of the motion/cut/beat grid (default 10)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="feature cache folder (default $VMM_CACHE_DIR or ~/.cache/vmm/features)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="the video file")
    parser.add_argument("--out", type=Path, required=True, help="output .npz file")
    parser.add_argument("--clip-weights", type=Path, default=None,
                        help="a local open_clip checkpoint (default: look in open_clip's cache; never downloads)")
    parser.add_argument("--clip-model", default="ViT-B-32", help="open_clip architecture (default ViT-B-32)")
    parser.add_argument("--clip-fps", type=float, default=2.0, help="CLIP frames per second (default 2)")
    parser.add_argument("--no-clip", action="store_true", help="skip CLIP embeddings")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    add_video_arguments(parser)


def check_new_output(path: Path | None, force: bool, *, inputs: Sequence[Path] = (),
                     suffixes: Sequence[str] = (), option: str = "--out") -> None:
    """Check an output path before any work starts.

    Refuses a path with a suffix outside `suffixes` (when given), one that is an input file, an
    existing file unless `force`, and a place where no file can be written (a folder, a missing or
    read-only folder, /proc).

    Raises:
        VMMError, SymbolicError: with a one-line message naming `option`.
    """
    from symbolic.files import check_writable

    if path is None:
        return
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        names = ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]
        raise VMMError(f"{option} {path}: use a name ending in {names}")
    for source in inputs:
        if path.exists() and path.resolve() == Path(source).resolve():
            raise VMMError(f"{option} {path} is the input file {source} (choose another output name)")
    if path.exists() and not path.is_dir() and not force:
        raise VMMError(f"{path} exists; choose another name or pass --force to overwrite it")
    check_writable(path)


def extract_with_progress(video: Path, **kwargs):
    """`extract_features` with a progress bar on the terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from vmm.video.features import extract_features

    console = Console(stderr=True)  # stdout stays clean for `vmm plan --json -`
    with Progress(TextColumn("reading {task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True, console=console,
                  disable=not console.is_terminal) as progress:
        task = progress.add_task(video.name, total=None)

        def callback(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        return extract_features(video, callback=callback, **kwargs)


def run(args: argparse.Namespace) -> int:
    from vmm.paths import check_input_file

    check_input_file(args.video, "video")
    check_new_output(args.out, args.force, inputs=[args.video], suffixes=[".npz"])
    features = extract_with_progress(
        args.video, grid_fps=args.grid_fps, clip_weights=args.clip_weights, clip_model=args.clip_model,
        clip_fps=args.clip_fps, use_clip=not args.no_clip, cache_dir=args.cache_dir, use_cache=not args.no_cache)
    features.save_npz(args.out)
    clip = "no CLIP" if features.clip is None else f"CLIP {features.clip.shape[0]} x {features.clip.shape[1]}"
    print(f"{args.video.name}: {features.duration:.2f} s, {features.width}x{features.height}, "
          f"{len(features.times)} grid points at {features.fps_grid:g}/s, {len(features.cuts)} cuts, "
          f"{len(features.visual_beats)} visual beats, {clip} -> {args.out}")
    return 0
