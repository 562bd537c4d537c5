"""`vmm bench render`: render speed as a multiple of real time, against FluidSynth's own program.

The piece: `--seconds` of four tracks (piano chords and melody, bass, sustained strings, drums) made
here with pretty_midi. VMM's number is the whole `render_midi` call: read and check the MIDI, load
the SoundFont, synthesize, trim, measure and normalise loudness, write the WAV. The peer is
`fluidsynth -ni -F out.wav -r RATE sf mid` on the same file with the same SoundFont, in the same
run, runs interleaved (vmm, peer, vmm, peer, ...) so that load on the machine hits both alike; the
median of `--repeats` runs is reported. Goal: VMM at most 20% slower than the program (ratio >= 0.8).
VMM loads only the samples its presets use (`synth.dynamic-sample-loading`); the program run with
that same setting is timed too, so that the gain it brings is visible separately.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pretty_midi

from audio_render.render import render_midi
from audio_render.soundfonts import find_soundfont
from audio_render.synth import SYNTH_SETTINGS, SynthRequest, synthesize
from vmm.errors import VMMError

NAME = "render"
HELP = "MIDI -> WAV speed (x real time) of vmm's FluidSynth rendering against the fluidsynth program"

PROGRESSION = [(0, (0, 4, 7)), (9, (0, 3, 7)), (5, (0, 4, 7)), (7, (0, 4, 7))]  # C Am F G


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the piece (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each renderer (default 3)")
    parser.add_argument("--sample-rate", type=int, default=44100, help="output rate in Hz (default 44100)")
    parser.add_argument("--soundfont", default=None, help="SoundFont to use (default: as vmm render finds it)")


def make_piece(path: Path, seconds: float, tempo: float = 120.0, seed: int = 0) -> Path:
    """Write a multi-track piece of `seconds` (rounded down to whole bars): piano, bass, strings, drums."""
    rng = random.Random(seed)
    beat = 60.0 / tempo
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    bass = pretty_midi.Instrument(program=33, name="Bass")
    strings = pretty_midi.Instrument(program=48, name="Strings")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    for bar in range(max(1, int(seconds / (4 * beat)))):
        root, intervals = PROGRESSION[bar % len(PROGRESSION)]
        start = bar * 4 * beat
        for interval in intervals:
            strings.notes.append(pretty_midi.Note(70, 48 + root + interval, start, start + 4 * beat))
        for eighth in range(8):
            t = start + eighth * beat / 2
            for interval in intervals:
                piano.notes.append(pretty_midi.Note(rng.randint(60, 100), 60 + root + interval, t, t + beat * 0.45))
            melody = 72 + root + intervals[rng.randrange(len(intervals))]
            piano.notes.append(pretty_midi.Note(rng.randint(70, 110), melody, t, t + beat / 2))
            drums.notes.append(pretty_midi.Note(90, 42, t, t + 0.05))  # closed hi-hat
        for quarter in range(4):
            t = start + quarter * beat
            bass.notes.append(pretty_midi.Note(95, 36 + root, t, t + beat * 0.9))
            drums.notes.append(pretty_midi.Note(110, 36 if quarter % 2 == 0 else 38, t, t + 0.1))
    midi.instruments.extend([piano, bass, strings, drums])
    midi.write(str(path))
    return path


def _time(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> int:
    if args.seconds < 2 or args.repeats < 1:
        raise VMMError("--seconds must be >= 2 and --repeats >= 1")
    program = shutil.which("fluidsynth")
    soundfont = find_soundfont(args.soundfont)
    with tempfile.TemporaryDirectory(prefix="vmm-bench-render-") as tmp:
        folder = Path(tmp)
        midi = make_piece(folder / "piece.mid", args.seconds)
        seconds = pretty_midi.PrettyMIDI(str(midi)).get_end_time()
        rate = args.sample_rate

        def ours() -> None:
            render_midi(midi, folder / "vmm.wav", soundfont=soundfont, sample_rate=rate, backend="library")

        def peer(*options: str) -> None:
            subprocess.run([program, "-ni", "-q", *options, "-F", str(folder / "cli.wav"), "-r", str(rate),
                            str(soundfont), str(midi)], check=True, capture_output=True)

        def peer_dynamic() -> None:  # the program given the same sample-loading setting as vmm
            peer(*[a for k, v in SYNTH_SETTINGS.items() for a in ("-o", f"{k}={v}")])

        request = SynthRequest(midi.read_bytes(), soundfont, rate, seconds)

        def synth_only() -> None:
            synthesize(request, backend="library")

        ours()  # warm the page cache and lazy imports outside the timing
        vmm_times, synth_times, cli_times, dynamic_times = [], [], [], []
        for _ in range(args.repeats):
            vmm_times.append(_time(ours))
            synth_times.append(_time(synth_only))
            if program:
                cli_times.append(_time(peer))
                dynamic_times.append(_time(peer_dynamic))
        vmm_s = statistics.median(vmm_times)
        print(f"{seconds:.0f} s piece, 4 tracks, {rate} Hz, SoundFont {soundfont.name}; "
              f"median of {args.repeats} runs")
        print(f"  vmm render_midi (library)      {seconds / vmm_s:7.1f}x real time  ({vmm_s:.2f} s: load, "
              f"synthesize, trim, BS.1770 loudness, write WAV)")
        print(f"    SoundFont load + synthesis alone    {statistics.median(synth_times):.2f} s")
        if not program:
            print("  fluidsynth program (peer)      not installed: apt-get install fluidsynth")
            return 0
        cli_s = statistics.median(cli_times)
        ratio = cli_s / vmm_s
        dynamic_s = statistics.median(dynamic_times)
        print(f"  fluidsynth -ni -F (peer)       {seconds / cli_s:7.1f}x real time  ({cli_s:.2f} s)")
        print(f"  the same + dynamic loading     {seconds / dynamic_s:7.1f}x real time  ({dynamic_s:.2f} s; "
              "the setting vmm uses: only the samples in use are loaded)")
        verdict = "met" if ratio >= 0.8 else "NOT met"
        print(f"  vmm / peer speed               {ratio:7.2f}x  (goal >= 0.80: {verdict})")
    return 0
