"""`vmm render score.mid`: a MIDI file to WAV or FLAC through FluidSynth and a General MIDI SoundFont."""

from __future__ import annotations

import argparse
from pathlib import Path

from audio_render.render import RenderResult, render_midi
from symbolic.files import check_writable
from vmm.errors import VMMError
from vmm.paths import check_input_file

NAME = "render"
HELP = "render a MIDI file to WAV/FLAC with FluidSynth (loudness-normalised, tail kept)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("midi", help="the MIDI file (.mid, .midi, .rmi)")
    parser.add_argument("--out", default=None,
                        help="output .wav or .flac (default: the MIDI's name with .wav, beside it)")
    parser.add_argument("--soundfont", default=None,
                        help="a .sf2/.sf3 file (default: $VMM_SOUNDFONT, soundfonts/, the system's, pretty_midi's)")
    parser.add_argument("--sample-rate", type=int, default=44100, help="output rate in Hz (default 44100)")
    parser.add_argument("--target-lufs", type=float, default=-16.0,
                        help="integrated loudness to normalise to (default -16 LUFS)")
    parser.add_argument("--backend", choices=("auto", "library", "cli"), default="auto",
                        help="FluidSynth library (pyfluidsynth) or the fluidsynth program (default: auto)")
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")


def output_path(midi: Path, out: str | None) -> Path:
    return Path(out) if out else midi.with_suffix(".wav")


def render_with_progress(midi: Path, out: Path, args: argparse.Namespace) -> RenderResult:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)  # stdout holds only the result
    columns = (TextColumn("rendering"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn())
    # Off when stderr is not a terminal: rich would print a blank line there, before any error message.
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("render", total=1)

        def callback(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return render_midi(midi, out, soundfont=args.soundfont, sample_rate=args.sample_rate,
                           target_lufs=args.target_lufs, backend=args.backend, callback=callback)


def run(args: argparse.Namespace) -> int:
    midi = check_input_file(args.midi, "MIDI file")
    out = output_path(midi, args.out)
    if out.resolve() == midi.resolve():
        raise VMMError(f"--out {out} is the input MIDI file (choose a .wav or .flac name)")
    check_writable(out)  # a folder, a missing folder, /proc: refused before the rendering starts
    if out.exists() and not args.force:
        raise VMMError(f"{out} exists (pass --force to overwrite it, or choose another --out)")
    result = render_with_progress(midi, out, args)
    print(f"wrote {result.path}: {result.duration_s:.2f} s, {result.sample_rate} Hz, "
          f"{result.loudness_lufs:.1f} LUFS, peak {result.peak_dbfs:.1f} dBFS")
    print(f"SoundFont: {result.soundfont}")
    return 0
