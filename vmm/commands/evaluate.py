"""`vmm evaluate --data SHARDS`: generate for held-out pieces and compare their metrics with the real ones."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "evaluate"
HELP = "generate for held-out pieces (their chords and controls as the plan) and compare metrics with the real ones"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vmm.score.cli_support import add_sampling_arguments

    parser.add_argument("--data", type=Path, required=True, help="shard folder written by `vmm prepare`")
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    parser.add_argument("--pieces", type=int, default=16, help="validation pieces to generate (default 16)")
    parser.add_argument("--bars", type=int, default=8, help="bars per piece (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the first piece (then +1 each)")
    add_sampling_arguments(parser)
    parser.add_argument("--json", type=Path, help="also write the full report (per piece) as JSON")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from symbolic.files import atomic_output, check_writable
    from vmm.data.shards import ShardIndex
    from vmm.errors import VMMError
    from vmm.evaluate import evaluate, format_table
    from vmm.generate.sampling import SamplingSettings
    from vmm.score.pipeline import load_default_model, plan_guidance

    if args.pieces < 1 or args.bars < 1:
        raise VMMError(f"--pieces and --bars must be at least 1, got {args.pieces} and {args.bars}")
    guidance = plan_guidance(args.chord_guidance, args.density_guidance)
    if args.json is not None:
        if args.json.exists():
            raise VMMError(f"{args.json} exists; choose another --json path")
        check_writable(args.json)
    shards = ShardIndex(args.data)
    model, tokenizer, _ = load_default_model(args.model)
    try:
        settings = SamplingSettings(temperature=args.temperature, top_p=args.top_p, cfg_scale=args.cfg_scale,
                                    seed=args.seed)
    except ValueError as error:
        raise VMMError(f"{error} (see vmm evaluate --help)") from None
    console = Console(stderr=True)
    with Progress(console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("generating pieces", total=args.pieces)
        report = evaluate(model, tokenizer, shards, pieces=args.pieces, n_bars=args.bars, settings=settings,
                          guidance=guidance, callback=lambda done, total: progress.update(task, completed=done, total=total))
    print(format_table(report))
    density = "off" if guidance.density_tolerance is None else f"+/- {guidance.density_tolerance:g}"
    print(f"plan guidance: chords {guidance.chord_bonus:g} nats, notes per bar {density}, cfg scale {args.cfg_scale:g}")
    if args.json is not None:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0
