"""`vmm score clip.mp4`: music that fits a video, as an editable score, a preview and the scored video."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "score"
HELP = "write music for a video: score.mid, score.musicxml, preview.wav, the scored video, plan and piano roll"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vmm.score.cli_support import add_music_arguments

    parser.add_argument("video", type=Path, help="the video file (anything ffmpeg reads)")
    add_music_arguments(parser, default_out="vmm_output")
    parser.add_argument("--clip-weights", type=Path, help="local open_clip checkpoint for semantic features")
    parser.add_argument("--audio-model", type=Path,
                        help="neural audio model folder (codec/ + decoder/): also write neural.wav and "
                             "<clip>.neural.mp4")


def run(args: argparse.Namespace) -> int:
    from vmm.paths import check_input_file
    from vmm.score.cli_support import options_from_args, print_summary, progress_display
    from vmm.score.pipeline import score_video

    video = check_input_file(args.video, "video")
    with progress_display() as progress:
        result = score_video(video, options_from_args(args), progress)
    print_summary(result)
    return 0
