"""`vmm plan`: the musical plan of a video (tempo, bars, cuts, density, strength, key, chords)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vmm.commands.features import add_video_arguments, check_new_output, extract_with_progress
from vmm.errors import VMMError

NAME = "plan"
HELP = "print the musical plan for a video: tempo, bars, cuts, density and strength targets, key, chords"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="the video file (or a features .npz from `vmm features`)")
    parser.add_argument("--tempo", type=float, default=None,
                        help="tempo in quarter notes per minute, 40-250 (default: from the visual rhythm, "
                             "fitted to whole bars)")
    parser.add_argument("--time-signature", default="4/4",
                        help="metre: 1/4-7/4, 1/2-4/2, or 3, 5, 6, 7, 9, 12 over 8 (default 4/4)")
    parser.add_argument("--key", default=None, help='key, e.g. "A minor", "F#", "Bbm" (default: from the mood)')
    parser.add_argument("--chords", default=None, help='chord progression repeated over the bars, e.g. "Am F C G"')
    parser.add_argument("--instruments", default=None, help="comma-separated instruments, e.g. piano,bass,drums")
    parser.add_argument("--plot", type=Path, default=None, help="draw the plan to this image (e.g. plan.png)")
    parser.add_argument("--json", type=Path, default=None, help="write the plan as JSON to this file ('-' prints it)")
    parser.add_argument("--force", action="store_true", help="overwrite --plot / --json files that exist")
    add_video_arguments(parser)


def load_features(args: argparse.Namespace):
    if args.video.suffix.lower() == ".npz":
        from vmm.video.features import VideoFeatures

        return VideoFeatures.load_npz(args.video)
    return extract_with_progress(args.video, grid_fps=args.grid_fps, use_clip=False, cache_dir=args.cache_dir,
                                 use_cache=not args.no_cache)


def check_wishes(args: argparse.Namespace) -> None:
    """Read the user's tempo, metre, key, chords and instruments, so that a typo fails at once."""
    from symbolic.analysis import parse_key
    from symbolic.chords import parse_chord_progression
    from symbolic.instruments import parse_instruments
    from vmm.plan.make import check_tempo, parse_time_signature

    parse_time_signature(args.time_signature)
    if args.tempo is not None:
        check_tempo(args.tempo)
    if args.key is not None:
        parse_key(args.key)
    if args.chords is not None:
        parse_chord_progression(args.chords)
    if args.instruments is not None:
        parse_instruments(args.instruments)


def check_outputs(args: argparse.Namespace) -> bool:
    """Check the input and every output path before any work starts. Returns whether the JSON goes
    to stdout."""
    from vmm.paths import check_input_file
    from vmm.plan.plot import PLOT_SUFFIXES

    check_input_file(args.video, "features file" if args.video.suffix.lower() == ".npz" else "video")
    to_stdout = args.json is not None and str(args.json) == "-"
    check_new_output(None if to_stdout else args.json, args.force, inputs=[args.video], option="--json")
    check_new_output(args.plot, args.force, inputs=[args.video], suffixes=PLOT_SUFFIXES, option="--plot")
    if args.plot is not None and args.json is not None and not to_stdout \
            and Path(args.plot).absolute() == Path(args.json).absolute():
        raise VMMError(f"--json and --plot are both {args.plot}; give them different names")
    return to_stdout


def run(args: argparse.Namespace) -> int:
    from vmm.plan.make import make_plan
    from vmm.plan.summary import describe_plan

    to_stdout = check_outputs(args)
    check_wishes(args)  # fail before decoding
    features = load_features(args)
    plan = make_plan(features, tempo=args.tempo, time_signature=args.time_signature, key=args.key,
                     chords=args.chords, instruments=args.instruments)
    if args.plot is not None:  # drawn before the JSON is written: the step more likely to fail
        from vmm.plan.plot import plot_plan

        plot_plan(features, plan, args.plot, title=f"{args.video.name}: {plan.tempo:g} BPM, "
                  f"{plan.time_signature[0]}/{plan.time_signature[1]}, {plan.n_bars} bars, {plan.key}")
    if args.json is not None and not to_stdout:
        plan.save(args.json)
    if to_stdout:
        sys.stdout.write(plan.to_json() + "\n")
    else:
        print(describe_plan(plan))
    if args.json is not None and not to_stdout:
        print(f"plan -> {args.json}")
    if args.plot is not None:
        print(f"plot -> {args.plot}")
    return 0
