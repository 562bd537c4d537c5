"""MIDI -> WAV/FLAC through FluidSynth: the tail kept, trailing silence cut, loudness normalised.

Shapes: audio is `(n, 2)` float32, n frames of stereo, full scale = 1.0.

Steps: read and check the MIDI (symbolic.midi_io), find the SoundFont (soundfonts.py), synthesize
(synth.py), cut the silence after the last audible sample and fade the cut (`trim_tail`), normalise
to a loudness target under a peak ceiling (loudness.py), write atomically (audio_io.py).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio_render.audio_io import check_audio_suffix, write_audio
from audio_render.errors import AudioRenderError
from audio_render.loudness import integrated_loudness, normalize_loudness, peak, peak_dbfs
from audio_render.soundfonts import find_soundfont
from audio_render.synth import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Backend, Callback, SynthRequest, synthesize
from symbolic.errors import SymbolicError
from symbolic.files import atomic_output, check_writable
from symbolic.midi_io import score_from_bytes

log = logging.getLogger(__name__)

AUDIBLE_DB = -60.0  # relative to the peak: quieter samples at the end count as silence
FADE_SECONDS = 0.05  # fade-out after the last audible sample, so the cut never clicks


@dataclass(frozen=True)
class RenderSettings:
    """How to render.

    Args:
        sample_rate: output rate in Hz (FluidSynth accepts 8000-96000).
        target_lufs: integrated loudness (ITU-R BS.1770) to normalise to; None keeps FluidSynth's level.
        peak_ceiling_db: the sample peak never exceeds this (dBFS); the loudness gives way if needed.
        tail_seconds: longest time rendered after the last note-off (releases, reverb).
        backend: "auto" (the FluidSynth library, else the `fluidsynth` program), "library" or "cli".
    """

    sample_rate: int = 44100
    target_lufs: float | None = -16.0
    peak_ceiling_db: float = -1.0
    tail_seconds: float = 5.0
    backend: Backend = "auto"

    def __post_init__(self) -> None:
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise AudioRenderError(
                f"sample rate {self.sample_rate} Hz is outside FluidSynth's range "
                f"({MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; 44100 or 48000 are usual)")
        if self.target_lufs is not None and not -70.0 <= self.target_lufs <= 0.0:
            raise AudioRenderError(f"target loudness must be between -70 and 0 LUFS, got {self.target_lufs}")
        if self.peak_ceiling_db > 0.0:
            raise AudioRenderError(f"peak ceiling must be <= 0 dBFS, got {self.peak_ceiling_db}")
        if self.tail_seconds < 0:
            raise AudioRenderError(f"tail_seconds must be >= 0, got {self.tail_seconds}")
        if self.backend not in ("auto", "library", "cli"):
            raise AudioRenderError(f"unknown backend {self.backend!r} (use auto, library or cli)")


@dataclass(frozen=True)
class RenderedAudio:
    """Audio in memory and how it was made."""

    samples: np.ndarray  # (n, 2) float32
    sample_rate: int
    soundfont: Path
    gain_db: float
    loudness_lufs: float
    peak_dbfs: float

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


@dataclass(frozen=True)
class RenderResult:
    """A rendered file: where it is, how long, with which SoundFont, how loud."""

    path: Path
    duration_s: float
    sample_rate: int
    soundfont: Path
    loudness_lufs: float
    peak_dbfs: float
    gain_db: float


def read_midi_for_render(midi_path: str | os.PathLike) -> tuple[bytes, float]:
    """Read and check a MIDI file.

    Returns:
        `(midi_bytes, end_seconds)`: a standard MIDI file FluidSynth can play (RIFF `.rmi` files come
        back re-written by symusic) and the time of the last note-off in seconds.

    Raises:
        AudioRenderError: missing, empty, not MIDI, truncated, corrupt, or without notes.
    """
    path = Path(midi_path)
    if not path.is_file():
        what = "is a folder, not a MIDI file" if path.is_dir() else "file not found (check the path)"
        raise AudioRenderError(f"{path}: {what}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AudioRenderError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        score = score_from_bytes(data, name=str(path))
    except SymbolicError as error:
        raise AudioRenderError(str(error)) from None
    if data[:4] == b"RIFF":
        data = bytes(score.dumps_midi())
    end = 0.0
    for track in score.to("second").tracks:
        if len(track.notes):
            notes = track.notes.numpy()
            end = max(end, float(np.max(notes["time"] + notes["duration"])))
    return data, end


def trim_tail(samples: np.ndarray, sample_rate: int, end_seconds: float) -> np.ndarray:
    """Cut the silence after the last audible sample and fade out over `FADE_SECONDS`.

    Audible means within `AUDIBLE_DB` of the peak. Nothing before `end_seconds` (the last note-off)
    is cut, so the notated length always survives.

    Args:
        samples: `(n, c)` float.
        sample_rate: in Hz.
        end_seconds: the score's last note-off.

    Returns:
        `(m, c)` float32 with m <= n.
    """
    if samples.shape[0] == 0:
        return samples
    threshold = peak(samples) * 10 ** (AUDIBLE_DB / 20)
    last = _last_frame_above(samples, threshold)
    fade = int(FADE_SECONDS * sample_rate)
    keep = min(samples.shape[0], max(last, int(math.ceil(end_seconds * sample_rate))) + fade)
    out = np.array(samples[:keep], dtype=np.float32)
    fade = min(fade, keep)
    if fade:
        out[keep - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return out


def _last_frame_above(samples: np.ndarray, threshold: float, chunk: int = 1 << 15) -> int:
    """One past the last frame with a sample above `threshold` (0 if none); scans back from the end."""
    for stop in range(samples.shape[0], 0, -chunk):
        start = max(0, stop - chunk)
        loud = np.flatnonzero((np.abs(samples[start:stop]) > threshold).any(axis=1))
        if loud.size:
            return start + int(loud[-1]) + 1
    return 0


def render_midi_samples(
    midi_path: str | os.PathLike,
    *,
    soundfont: str | os.PathLike | None = None,
    settings: RenderSettings | None = None,
    callback: Callback | None = None,
) -> RenderedAudio:
    """Render a MIDI file to normalised audio in memory (see `render_midi` for the arguments)."""
    settings = settings or RenderSettings()
    midi, end_seconds = read_midi_for_render(midi_path)
    font = find_soundfont(soundfont)
    request = SynthRequest(midi, font, settings.sample_rate, end_seconds, settings.tail_seconds)
    raw = synthesize(request, backend=settings.backend, callback=callback)
    audio = trim_tail(raw, settings.sample_rate, end_seconds)
    if settings.target_lufs is not None:
        audio, gain_db, loudness = normalize_loudness(audio, settings.sample_rate, settings.target_lufs,
                                                      settings.peak_ceiling_db)
    else:
        gain_db, loudness = 0.0, integrated_loudness(audio, settings.sample_rate)
    if peak(audio) == 0.0:
        log.warning("%s rendered to silence with %s (does the SoundFont have its instruments?)", midi_path, font)
    return RenderedAudio(audio, settings.sample_rate, font, gain_db, loudness, peak_dbfs(audio))


def check_output_path(out_path: str | os.PathLike) -> Path:
    """Fail before rendering if `out_path` cannot be written: wrong suffix, a folder, a missing or
    read-only folder (`symbolic.files.check_writable` really tries)."""
    out = Path(out_path)
    check_audio_suffix(out)
    try:
        check_writable(out)
    except SymbolicError as error:
        raise AudioRenderError(str(error)) from None
    return out


def render_midi(
    midi_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = 44100,
    target_lufs: float | None = -16.0,
    peak_ceiling_db: float = -1.0,
    tail_seconds: float = 5.0,
    backend: Backend = "auto",
    callback: Callback | None = None,
) -> RenderResult:
    """Render a MIDI file to a WAV (16-bit) or FLAC file, chosen by the suffix of `out_path`.

    The file is written atomically: on any error no partial file is left, and an existing file is
    replaced only once the new one is complete (refusing to overwrite is the caller's choice).

    Args:
        midi_path: a `.mid`/`.midi`/`.rmi` file with notes.
        out_path: `.wav` or `.flac`.
        soundfont: a `.sf2`/`.sf3` file; None resolves one (see `audio_render.soundfonts`).
        sample_rate: in Hz.
        target_lufs: integrated loudness to normalise to (None: no normalisation).
        peak_ceiling_db: the highest sample peak allowed, in dBFS.
        tail_seconds: longest time rendered after the last note-off.
        backend: "auto", "library" (pyfluidsynth) or "cli" (the `fluidsynth` program).
        callback: progress, called as `callback(frames_done, frames_expected)`.

    Returns:
        The path, duration, rate, SoundFont, loudness, peak and gain of the result.

    Raises:
        AudioRenderError: bad MIDI, SoundFont, settings or output path; FluidSynth missing or failing.
    """
    settings = RenderSettings(sample_rate, target_lufs, peak_ceiling_db, tail_seconds, backend)
    out = check_output_path(out_path)
    rendered = render_midi_samples(midi_path, soundfont=soundfont, settings=settings, callback=callback)
    try:
        with atomic_output(out) as tmp:
            write_audio(tmp, rendered.samples, rendered.sample_rate)
    except (OSError, SymbolicError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise AudioRenderError(f"cannot write {out}: {reason}") from None
    log.debug("wrote %s (%.2f s, %.1f LUFS)", out, rendered.duration_s, rendered.loudness_lufs)
    return RenderResult(out, rendered.duration_s, rendered.sample_rate, rendered.soundfont,
                        rendered.loudness_lufs, rendered.peak_dbfs, rendered.gain_db)
