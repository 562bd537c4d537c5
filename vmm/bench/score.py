"""`vmm bench score`: the whole `vmm score` of a 60 s 1280x720 video, time per stage.

The video is the one `vmm bench video` makes (h264, 30 fps, textured pans, moving squares, a cut
every 7 s). The run uses the shipped default model (or --model) without CLIP, writes every output
(score, MusicXML, piano roll, preview render, scored video) into a temporary folder and prints the
seconds of each stage and the total. Goal: at most 20 s on the 2-core development machine. The peer
in the same run is the length of the video itself (real time).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

NAME = "score"
HELP = "the whole vmm score of a 60 s 1280x720 video (goal <= 20 s), time per stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="video length (default 60)")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the timings as JSON")


def run(args: argparse.Namespace) -> int:
    from vmm.bench.video import make_test_video
    from vmm.score.pipeline import ScoreOptions, score_video

    with tempfile.TemporaryDirectory(prefix="vmm-bench-score-") as scratch:
        video = Path(scratch) / "clip.mp4"
        cuts = make_test_video(video, args.seconds, 1280, 720, 30)
        options = ScoreOptions(out_dir=Path(scratch) / "out", model_dir=args.model, seed=args.seed)
        start = time.perf_counter()
        result = score_video(video, options)
        total = time.perf_counter() - start
    timings = {stage: round(seconds, 2) for stage, seconds in result.timings.items()}
    plan = result.plan
    print(f"vmm score of a {args.seconds:g} s 1280x720 video with {len(cuts)} cuts: {total:.1f} s "
          f"({args.seconds / total:.1f}x real time; goal <= 20 s for 60 s)")
    print(f"  plan: {plan.n_bars} bars at {plan.tempo:g} BPM, {len(plan.cuts)} cuts placed")
    for stage, seconds in timings.items():
        print(f"  {stage:<10} {seconds:6.2f} s")
    if args.json:
        args.json.write_text(json.dumps({"total_s": round(total, 2), "stages": timings,
                                         "video_s": args.seconds}, indent=2))
    return 0
