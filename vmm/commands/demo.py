"""`vmm demo` (what `make demo` runs): score the bundled example video and say where the files are.

The example (`vmm/assets/examples/example.mp4`, written by `make_example_video.py` beside it) is a
16 s clip with three shots. With the shipped default model the demo runs the whole of `vmm score` on
it; without a model it renders the bundled example score (`example.mid`) through FluidSynth instead,
so the end of the pipeline can still be heard. The demo overwrites only files it wrote itself on an
earlier run (it lists them in `.vmm-demo` in the output folder); anything else is left alone.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from vmm.errors import VMMError

NAME = "demo"
HELP = "score the bundled example video into ./demo_output/ (or render the example score without a model)"

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"
EXAMPLE_VIDEO = EXAMPLES / "example.mp4"
EXAMPLE_MIDI = EXAMPLES / "example.mid"
MANIFEST = ".vmm-demo"
SCORE_OUTPUTS = ("score.mid", "score.musicxml", "pianoroll.png", "plan.json", "plan.png", "preview.wav",
                 "example.scored.mp4")
RENDER_OUTPUTS = ("example.mid", "example.wav")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_output", help="output folder (default: ./demo_output)")
    parser.add_argument("--soundfont", default=None, help="a .sf2/.sf3 file (default: found as vmm render does)")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def _own_files(folder: Path) -> set[str]:
    manifest = folder / MANIFEST
    return set(manifest.read_text().split()) if manifest.is_file() else set()


def prepare_folder(folder: Path, outputs: tuple[str, ...]) -> None:
    """Create `folder`; refuse if it holds a file named like ours that an earlier demo did not write."""
    if folder.exists() and not folder.is_dir():
        raise VMMError(f"{folder} exists and is not a folder (choose another --out)")
    own = _own_files(folder)
    foreign = [name for name in outputs if (folder / name).exists() and name not in own]
    if foreign:
        raise VMMError(f"{folder / foreign[0]} exists and was not written by vmm demo "
                       "(move it, or choose another --out)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VMMError(f"cannot create output folder {folder}: {error.strerror}") from None
    # Claim the names before writing, so that a run stopped half-way can be repeated.
    (folder / MANIFEST).write_text("\n".join(sorted(own | set(outputs))) + "\n")


def score_example(folder: Path, model_dir: Path, args: argparse.Namespace) -> int:
    from vmm.score.cli_support import print_summary, progress_display
    from vmm.score.pipeline import ScoreOptions, score_video

    prepare_folder(folder, SCORE_OUTPUTS)
    print(f"vmm demo: scoring the bundled example video {EXAMPLE_VIDEO.name} (16 s, cuts at 5.0 and 10.5 s)")
    options = ScoreOptions(out_dir=folder, force=True, model_dir=model_dir, soundfont=args.soundfont,
                           seed=args.seed)
    with progress_display() as progress:
        result = score_video(EXAMPLE_VIDEO, options, progress)
    print_summary(result)
    print(f"open {result.files['video']} to watch it with its music; {result.files['midi']} opens in any DAW")
    return 0


def render_example(folder: Path, args: argparse.Namespace) -> int:
    from audio_render.render import render_midi
    from symbolic.files import atomic_output

    prepare_folder(folder, RENDER_OUTPUTS)
    midi_copy = folder / "example.mid"
    with atomic_output(midi_copy) as tmp:
        shutil.copyfile(EXAMPLE_MIDI, tmp)
    print(f"vmm demo: rendering the bundled example score ({EXAMPLE_MIDI.name}: piano, bass, flute, drums)")
    result = render_midi(midi_copy, folder / "example.wav", soundfont=args.soundfont)
    print(f"wrote {result.path}: {result.duration_s:.1f} s of audio, {result.loudness_lufs:.1f} LUFS")
    print(f"wrote {midi_copy}: the score, editable in any MIDI editor or DAW")
    print(f"SoundFont: {result.soundfont}")
    return 0


def run(args: argparse.Namespace) -> int:
    from vmm.score.pipeline import DEFAULT_MODEL_DIR

    for example in (EXAMPLE_VIDEO, EXAMPLE_MIDI):
        if not example.is_file():
            raise VMMError(f"the bundled example {example} is missing (reinstall, or run the make_example*.py "
                           f"scripts in {EXAMPLES})")
    model_dir = args.model or DEFAULT_MODEL_DIR
    if (model_dir / "model.safetensors").is_file():
        return score_example(Path(args.out), model_dir, args)
    if args.model is not None:
        raise VMMError(f"no model.safetensors in {args.model} (give a folder written by `vmm export`)")
    print(f"vmm demo: no trained model in {model_dir}; rendering the bundled example score instead")
    return render_example(Path(args.out), args)
