"""`vmm neural-audio score.mid --video clip.mp4 --audio-model DIR --out neural.wav`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vmm.errors import VMMError

NAME = "neural-audio"
HELP = "render a score (and/or a video) to audio with the neural audio-token decoder (needs --audio-model DIR)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("midi", nargs="?", help="the score to follow (.mid); optional when --video is given")
    parser.add_argument("--video", help="the video to follow (sets the duration)")
    parser.add_argument("--audio-model", required=True, metavar="DIR",
                        help="model folder: DIR/codec/ (EnCodec) and DIR/decoder/ (trained decoder)")
    parser.add_argument("--out", default="neural.wav", help="output .wav or .flac (default: neural.wav)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--window", type=float, default=30.0, help="window length in seconds (default 30)")
    parser.add_argument("--overlap", type=float, help="window overlap in seconds (default: a third of the window)")
    parser.add_argument("--top-k", type=int, default=250)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance (1 = off)")
    parser.add_argument("--melody-renderer", choices=("synth", "soundfont"), default="synth",
                        help="how the lead line is rendered before its chroma is taken")
    parser.add_argument("--clip-weights", help="local open_clip checkpoint (models trained with CLIP)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    from vmm.audio.neural import generate_neural_audio
    from vmm.audio.sampling import SamplingSettings
    from vmm.paths import check_input_file

    midi = check_input_file(args.midi, "score") if args.midi else None
    video = check_input_file(args.video, "video") if args.video else None
    out = Path(args.out)
    if out.exists() and not args.force:
        raise VMMError(f"{out} exists (choose another --out, or pass --force to overwrite)")
    try:
        sampling = SamplingSettings(args.top_k, args.temperature, args.cfg)
    except ValueError as error:
        raise VMMError(str(error)) from None
    console = Console(stderr=True)  # stdout keeps only the result
    with Progress("[progress.description]{task.description}", BarColumn(), "{task.completed}/{task.total} steps",
                  TimeRemainingColumn(), transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("neural audio", total=None)
        path = generate_neural_audio(
            midi, video, args.audio_model, out, seed=args.seed, device=args.device,
            window_seconds=args.window, overlap_seconds=args.overlap, sampling=sampling,
            melody_renderer=args.melody_renderer, clip_weights=args.clip_weights,
            callback=lambda done, total: progress.update(task, completed=done, total=total))
    print(f"wrote {path}")
    return 0
