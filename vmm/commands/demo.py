"""`vmm demo` (what `make demo` runs): render the bundled example score to WAV and say where it is.

Until a trained model ships, the demo shows the end of the pipeline: the bundled 4-track MIDI
example (`vmm/assets/examples/example.mid`, written by `make_example.py` beside it) is copied into
the output folder and rendered through FluidSynth. The demo overwrites only files it wrote itself
on an earlier run (it lists them in `.vmm-demo` in that folder); anything else is left alone.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from audio_render.render import render_midi
from symbolic.files import atomic_output
from vmm.errors import VMMError

NAME = "demo"
HELP = "render the bundled example score to ./demo_output/example.wav (the model's demo comes later)"

EXAMPLE_MIDI = Path(__file__).resolve().parents[1] / "assets" / "examples" / "example.mid"
MANIFEST = ".vmm-demo"
OUTPUTS = ("example.mid", "example.wav")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo_output", help="output folder (default: ./demo_output)")
    parser.add_argument("--soundfont", default=None, help="a .sf2/.sf3 file (default: found as vmm render does)")


def _own_files(folder: Path) -> set[str]:
    manifest = folder / MANIFEST
    return set(manifest.read_text().split()) if manifest.is_file() else set()


def prepare_folder(folder: Path) -> None:
    """Create `folder`; refuse if it holds a file named like ours that an earlier demo did not write."""
    if folder.exists() and not folder.is_dir():
        raise VMMError(f"{folder} exists and is not a folder (choose another --out)")
    own = _own_files(folder)
    foreign = [name for name in OUTPUTS if (folder / name).exists() and name not in own]
    if foreign:
        raise VMMError(f"{folder / foreign[0]} exists and was not written by vmm demo "
                       "(move it, or choose another --out)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VMMError(f"cannot create output folder {folder}: {error.strerror}") from None
    # Claim the names before writing, so that a run stopped half-way can be repeated.
    (folder / MANIFEST).write_text("\n".join(sorted(own | set(OUTPUTS))) + "\n")


def run(args: argparse.Namespace) -> int:
    if not EXAMPLE_MIDI.is_file():
        raise VMMError(f"the bundled example {EXAMPLE_MIDI} is missing (reinstall, or run "
                       "python vmm/assets/examples/make_example.py)")
    folder = Path(args.out)
    prepare_folder(folder)
    midi_copy = folder / "example.mid"
    with atomic_output(midi_copy) as tmp:
        shutil.copyfile(EXAMPLE_MIDI, tmp)
    print(f"vmm demo: rendering the bundled example score ({EXAMPLE_MIDI.name}: piano, bass, flute, drums)")
    result = render_midi(midi_copy, folder / "example.wav", soundfont=args.soundfont)
    print(f"wrote {result.path}: {result.duration_s:.1f} s of audio, {result.loudness_lufs:.1f} LUFS")
    print(f"wrote {midi_copy}: the score, editable in any MIDI editor or DAW")
    print(f"SoundFont: {result.soundfont}")
    print("(once a trained model is available, the demo will score a bundled video instead)")
    return 0
