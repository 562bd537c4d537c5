"""What `vmm score` and `vmm compose` share at the command line: options, the progress display,
and the summary printed at the end."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path

from vmm.generate.guidance import DEFAULT_CHORD_BONUS, DEFAULT_DENSITY_TOLERANCE
from vmm.score.options import DEFAULT_INSTRUMENTS, ScoreOptions

STAGE_LABELS = {
    "features": "reading the video", "plan": "planning", "model": "loading the model",
    "generate": "generating (bars)", "export": "writing the score", "render": "rendering the preview",
    "mux": "putting the music on the video",
    "neural": "neural audio (windows)",
}


def add_music_arguments(parser: argparse.ArgumentParser, *, default_out: str) -> None:
    parser.add_argument("--out", type=Path, default=Path(default_out), help=f"output folder (default {default_out})")
    parser.add_argument("--tempo", type=float, help="tempo in quarter notes per minute, 40-250 (default: from the video's rhythm; 100 for compose)")
    parser.add_argument("--key", help='key, e.g. "A minor" (default: suggested by the mood)')
    parser.add_argument("--chords", help='chords, e.g. "Am F C G" or "C G/B | Am7 Fmaj7" ("|" = bar line)')
    parser.add_argument("--time-signature", default="4/4", help="metre, e.g. 3/4 (default 4/4)")
    parser.add_argument("--instruments", default=DEFAULT_INSTRUMENTS,
                        help=f"comma-separated instruments (default {DEFAULT_INSTRUMENTS})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    add_sampling_arguments(parser)
    parser.add_argument("--soundfont", help="SoundFont for the preview (.sf2/.sf3; default: found automatically)")
    parser.add_argument("--no-audio", action="store_true", help="write the score only, no preview or video")
    parser.add_argument("--model", type=Path, help="model folder written by `vmm export` (default: the shipped one)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty output folder")


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """Temperature, top-p, classifier-free guidance and plan guidance: shared with `vmm evaluate`."""
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--cfg-scale", type=float, default=1.0,
                        help="classifier-free guidance towards the plan (1 = off, e.g. 2 = stronger)")
    add_guidance_arguments(parser)


def add_guidance_arguments(parser: argparse.ArgumentParser) -> None:
    """Plan guidance at decoding time (`vmm.generate.guidance.PlanGuidance`)."""
    group = parser.add_argument_group(
        "plan guidance", "inference-time control: the model's choices are biased towards the plan while sampling")
    group.add_argument("--chord-guidance", type=float, default=DEFAULT_CHORD_BONUS, metavar="NATS",
                       help="bonus in nats for notes of each beat's planned chord; the bass root, chord tones "
                            "not yet sounding and notes held into a chord that lacks them are weighted with it "
                            f"(default {DEFAULT_CHORD_BONUS:g}; 0 = off)")
    density = group.add_mutually_exclusive_group()
    density.add_argument("--density-guidance", type=float, default=DEFAULT_DENSITY_TOLERANCE, metavar="TOL",
                         help="each bar holds its planned number of notes within +/- TOL of it, e.g. 0.1 = "
                              f"10%% (default {DEFAULT_DENSITY_TOLERANCE:g}; 0 = exactly)")
    density.add_argument("--no-density-guidance", dest="density_guidance", action="store_const", const=None,
                         help="no limits on the notes per bar: the model alone decides how busy a bar is")


def options_from_args(args: argparse.Namespace) -> ScoreOptions:
    return ScoreOptions(
        out_dir=args.out, tempo=args.tempo, key=args.key, chords=args.chords, instruments=args.instruments,
        time_signature=args.time_signature, seed=args.seed, temperature=args.temperature, top_p=args.top_p,
        cfg_scale=args.cfg_scale, chord_guidance=args.chord_guidance, density_guidance=args.density_guidance,
        soundfont=args.soundfont, audio=not args.no_audio, model_dir=args.model,
        clip_weights=getattr(args, "clip_weights", None), audio_model_dir=getattr(args, "audio_model", None),
        force=args.force,
    )


@contextmanager
def progress_display():
    """A rich progress display with one line per stage; yields the pipeline's progress callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    # On stderr, so that stdout holds only the summary (and scripts can read it).
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal) as display:
        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = display.add_task(STAGE_LABELS.get(stage, stage), total=total)
            display.update(tasks[stage], completed=done, total=total)

        yield update


def print_summary(result) -> None:
    """Tempo, key, bars, where the cuts landed, seconds per stage and the files (a ScoreResult)."""
    plan = result.plan
    numerator, denominator = plan.time_signature
    print(f"tempo {plan.tempo:g} BPM ({plan.tempo_source}), {numerator}/{denominator}, key {plan.key} "
          f"({plan.key_source}), {plan.n_bars} bars, {plan.music_duration_s:.1f} s")
    for cut in plan.cuts:
        print(f"  cut at {cut['time_s']:.2f} s -> {cut['kind']} line at {cut['snapped_time_s']:.2f} s "
              f"(bar {cut['bar'] + 1}, beat {cut['beat'] + 1})")
    print("time per stage: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result.timings.items())
          + f"; total {sum(result.timings.values()):.1f} s")
    print(f"wrote into {result.out_dir}:")
    for path in result.files.values():
        print(f"  {path}")
