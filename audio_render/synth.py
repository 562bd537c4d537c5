"""FluidSynth: MIDI bytes + SoundFont -> float samples, through the library or the command-line program.

Shapes: the returned samples are `(n, 2)` float32 (stereo, FluidSynth's float output, no clipping).

The library path drives FluidSynth's own MIDI player from its sample clock
(`player.timing-source = sample`): every call to `fluid_synth_write_float` advances the player by
exactly the samples written, so rendering runs as fast as the CPU allows and event timing is
sample-accurate. FluidSynth interprets the whole file (tempo map, program and bank changes,
controllers, pitch bends, drums on channel 10). Feeding note events from Python between
`write_float` calls was measured at the same speed (0.46 s vs 0.44 s for 64 s of four tracks) but
would reimplement MIDI semantics, so the player is used.

Only the samples of the presets in use are loaded (`synth.dynamic-sample-loading`), which halves
the time of a typical render with a compressed `.sf3` SoundFont.

After the score's last note-off the synth keeps running until the release and reverb tails fall
silent (`tail_seconds` at most); the caller trims what remains.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from audio_render.errors import AudioRenderError

log = logging.getLogger(__name__)

Backend = Literal["auto", "library", "cli"]
Callback = Callable[[int, int], None]

BLOCK_FRAMES = 4096  # frames per write_float call: large enough that ctypes overhead vanishes
SILENCE_DB = -80.0  # relative to the loudest block so far: a block this quiet ends the tail
SYNTH_GAIN = 0.3  # FluidSynth's master gain; output is float and normalised later, so only headroom matters
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000  # FluidSynth's accepted range
# Load only the samples of the presets the score selects: an .sf3 otherwise decodes all its Vorbis
# samples first (0.8 s of a 1.3 s render of 60 s with FluidR3Mono_GM). The audio is identical.
SYNTH_SETTINGS = {"synth.dynamic-sample-loading": 1}


@dataclass(frozen=True)
class SynthRequest:
    """What to synthesize.

    Args:
        midi: the bytes of a standard MIDI file (already unwrapped from RIFF).
        soundfont: a checked `.sf2`/`.sf3` file.
        sample_rate: output rate in Hz.
        end_seconds: the score's last note-off; rendering runs at least this long.
        tail_seconds: longest time rendered after `end_seconds` for releases and reverb.
    """

    midi: bytes
    soundfont: Path
    sample_rate: int
    end_seconds: float
    tail_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise AudioRenderError(
                f"sample rate {self.sample_rate} Hz is outside FluidSynth's range "
                f"({MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; 44100 or 48000 are usual)")
        if self.tail_seconds < 0:
            raise AudioRenderError(f"tail_seconds must be >= 0, got {self.tail_seconds}")
        if self.end_seconds < 0:
            raise AudioRenderError(f"end_seconds must be >= 0, got {self.end_seconds}")

    @property
    def expected_frames(self) -> int:
        """Frames to expect, for progress: the notes plus a typical 1 s tail."""
        return int((self.end_seconds + min(self.tail_seconds, 1.0)) * self.sample_rate)


def synthesize(request: SynthRequest, backend: Backend = "auto", callback: Callback | None = None) -> np.ndarray:
    """Render `request` to float samples.

    Args:
        request: the MIDI, SoundFont and rates.
        backend: "library" (pyfluidsynth), "cli" (the `fluidsynth` program), or "auto": the library
            when it loads, else the program.
        callback: called as `callback(frames_done, frames_expected)` while rendering.

    Returns:
        `(n, 2)` float32 samples at `request.sample_rate`.
    """
    if backend not in ("auto", "library", "cli"):
        raise AudioRenderError(f"unknown FluidSynth backend {backend!r} (use auto, library or cli)")
    if backend in ("auto", "library"):
        binding = load_binding()
        if binding is not None:
            return _render_library(binding, request, callback)
        if backend == "library":
            raise AudioRenderError(
                "the FluidSynth library cannot be loaded (install libfluidsynth3 and pyfluidsynth)")
        log.info("FluidSynth library unavailable; rendering with the fluidsynth program")
    return _render_cli(request, callback)


@dataclass(frozen=True)
class _Binding:
    """The pyfluidsynth module plus the two C functions it does not wrap."""

    module: object
    write_float: Callable
    player_add_mem: Callable


def load_binding() -> _Binding | None:
    """pyfluidsynth with `fluid_synth_write_float` and `fluid_player_add_mem`, or None if unusable."""
    try:
        import fluidsynth
    except (ImportError, OSError) as error:
        log.debug("pyfluidsynth unusable: %s", error)
        return None
    void_p, c_int = ctypes.c_void_p, ctypes.c_int
    write_float = fluidsynth.cfunc(
        "fluid_synth_write_float", c_int, ("synth", void_p, 1), ("len", c_int, 1),
        ("lout", void_p, 1), ("loff", c_int, 1), ("lincr", c_int, 1),
        ("rout", void_p, 1), ("roff", c_int, 1), ("rincr", c_int, 1))
    add_mem = fluidsynth.cfunc(
        "fluid_player_add_mem", c_int, ("player", void_p, 1), ("buffer", ctypes.c_char_p, 1),
        ("len", ctypes.c_size_t, 1))
    needed = (write_float, add_mem, getattr(fluidsynth, "new_fluid_player", None))
    if any(f is None for f in needed):
        log.debug("libfluidsynth lacks write_float/player_add_mem (FluidSynth < 2?)")
        return None
    return _Binding(fluidsynth, write_float, add_mem)


def _render_library(binding: _Binding, request: SynthRequest, callback: Callback | None) -> np.ndarray:
    fs = binding.module
    synth = fs.Synth(gain=SYNTH_GAIN, samplerate=float(request.sample_rate), channels=16, **SYNTH_SETTINGS)
    player = None
    try:
        # Read when the player is created: advance with the samples written, not the wall clock,
        # and do not reset the synth at the end (that would cut the release tails).
        synth.setting("player.timing-source", "sample")
        synth.setting("player.reset-synth", 0)
        if synth.sfload(str(request.soundfont)) < 0:
            raise AudioRenderError(f"FluidSynth cannot load the SoundFont {request.soundfont} (corrupt file?)")
        player = fs.new_fluid_player(synth.synth)
        if not player or binding.player_add_mem(player, request.midi, len(request.midi)) != fs.FLUID_OK:
            raise AudioRenderError("FluidSynth's MIDI player rejected the file (corrupt MIDI?)")
        fs.fluid_player_play(player)

        def write_block(frames: int) -> np.ndarray:
            block = np.empty((frames, 2), np.float32)
            address = block.ctypes.data
            binding.write_float(synth.synth, frames, address, 0, 2, address, 1, 2)
            return block

        return _run_blocks(write_block, request, callback)
    finally:
        if player:
            fs.fluid_player_stop(player)
            fs.delete_fluid_player(player)
        synth.delete()


def _run_blocks(
    write_block: Callable[[int], np.ndarray],
    request: SynthRequest,
    callback: Callback | None,
) -> np.ndarray:
    """Write blocks until the notes are over and the tail is silent (or `tail_seconds` ran out)."""
    end_frame = int(np.ceil(request.end_seconds * request.sample_rate))
    limit = end_frame + int(request.tail_seconds * request.sample_rate)
    expected = max(request.expected_frames, 1)
    blocks: list[np.ndarray] = []
    done = 0
    loudest = 0.0
    while done < limit:
        block = write_block(min(BLOCK_FRAMES, limit - done))
        blocks.append(block)
        done += block.shape[0]
        if callback is not None:
            callback(min(done, expected), expected)
        level = max(float(block.max()), -float(block.min()))
        loudest = max(loudest, level)
        # Past the last note-off no note can start, so the first silent block ends the tail.
        if done >= end_frame and level <= max(loudest * 10 ** (SILENCE_DB / 20), 1e-9):
            break
    if callback is not None:
        callback(expected, expected)
    return np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)


def _render_cli(request: SynthRequest, callback: Callback | None) -> np.ndarray:
    """Render with `fluidsynth -ni` into raw float32, then read it back."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise AudioRenderError(
            "FluidSynth is not available: install it (apt-get install fluidsynth libfluidsynth3) "
            "and pyfluidsynth")
    with tempfile.TemporaryDirectory(prefix="vmm-render-") as tmp:
        midi_path = Path(tmp) / "score.mid"
        raw_path = Path(tmp) / "out.raw"
        midi_path.write_bytes(request.midi)
        command = [
            program, "-n", "-i", "-q", "-T", "raw", "-O", "float", "-E", "little",
            "-r", str(request.sample_rate), "-g", str(SYNTH_GAIN), "-o", "player.reset-synth=0",
            "-o", "synth.midi-channels=16", *[a for k, v in SYNTH_SETTINGS.items() for a in ("-o", f"{k}={v}")],
            "-F", str(raw_path), str(request.soundfont), str(midi_path),
        ]
        log.debug("running %s", " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LANG": "C"})
        if result.returncode != 0 or not raw_path.exists():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise AudioRenderError(
                f"the fluidsynth program failed ({detail[-1] if detail else f'exit {result.returncode}'})")
        samples = np.fromfile(raw_path, dtype="<f4").reshape(-1, 2)
    end_frame = int(np.ceil(request.end_seconds * request.sample_rate))
    limit = end_frame + int(request.tail_seconds * request.sample_rate)
    if callback is not None:
        callback(request.expected_frames, request.expected_frames)
    return np.ascontiguousarray(samples[:limit], dtype=np.float32)
