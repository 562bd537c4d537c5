"""`vmm compose --bars 16`: the same music writing as `vmm score`, without a video."""

from __future__ import annotations

import argparse

NAME = "compose"
HELP = "write music without a video: --bars, --tempo, --key, --chords, --instruments"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vmm.score.cli_support import add_music_arguments

    parser.add_argument("--bars", type=int, default=16, help="number of bars (default 16)")
    add_music_arguments(parser, default_out="vmm_compose")


def run(args: argparse.Namespace) -> int:
    from vmm.score.cli_support import options_from_args, print_summary, progress_display
    from vmm.score.pipeline import compose

    with progress_display() as progress:
        result = compose(args.bars, options_from_args(args), progress)
    print_summary(result)
    return 0
