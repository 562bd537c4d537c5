"""The melody stream: a 12-bin chroma per codec frame of the score's lead line, as MusicGen-melody uses.

MusicGen-melody conditions on the argmax chroma of (source-separated) audio. Computed on a whole
arrangement, a sustained chord pad dominates the spectrum and the argmax collapses to one pitch class
per frame, so we extract the lead line from the score first (the skyline: highest non-drum note at each
moment), render it alone, and take the chroma of that rendering. Without a score (training pairs with
audio only) the chroma of the real audio is used, which is what MusicGen-melody trains on.

Glossary: T codec frames, F FFT bins, N samples.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from symusic import Note as SymNote
from symusic import Score, Track

log = logging.getLogger(__name__)

Renderer = Literal["synth", "soundfont"]
MELODY_SAMPLE_RATE = 16000
SKYLINE_RATE = 100.0  # grid (per second) on which the highest sounding note is picked
MIN_MELODY_NOTE = 0.06  # seconds; shorter skyline pieces are accompaniment showing through gaps in the melody
SILENT_RELATIVE_POWER = 1e-3  # frames below this fraction of the loudest frame carry no chroma
MIN_FREQ, MAX_FREQ = 60.0, 4200.0  # chroma range (about B1 to C8)


@dataclass(frozen=True)
class MelodyNote:
    start: float  # seconds
    end: float
    pitch: int
    velocity: int


def skyline(score: Score) -> list[MelodyNote]:
    """The lead line: at each moment the highest sounding non-drum note.

    Args:
        score: any symusic score (ticks or seconds).

    Returns:
        Monophonic notes in seconds, sorted by start; a held note re-struck at the same pitch starts a
        new note.
    """
    score = score.to("second")
    notes = [(n.start, n.end, n.pitch, n.velocity) for track in score.tracks if not track.is_drum
             for n in track.notes if n.end > n.start]
    if not notes:
        return []
    end = max(n[1] for n in notes)
    num = int(math.ceil(end * SKYLINE_RATE)) + 1
    top = np.full(num, -1, dtype=np.int64)
    onset = np.zeros(num, dtype=bool)
    velocity = np.zeros(num, dtype=np.int64)
    for start, stop, pitch, vel in notes:
        a, b = int(round(start * SKYLINE_RATE)), max(int(round(stop * SKYLINE_RATE)), int(round(start * SKYLINE_RATE)) + 1)
        higher = top[a:b] < pitch
        top[a:b][higher] = pitch
        velocity[a:b][higher] = vel
        if top[a] == pitch:
            onset[a] = True
    return _runs_to_notes(top, onset, velocity)


def _runs_to_notes(top: np.ndarray, onset: np.ndarray, velocity: np.ndarray) -> list[MelodyNote]:
    melody: list[MelodyNote] = []
    start = None
    for i in range(len(top) + 1):
        boundary = i == len(top) or start is None or top[i] != top[start] or onset[i]
        if not boundary:
            continue
        if start is not None and top[start] >= 0 and (i - start) / SKYLINE_RATE >= MIN_MELODY_NOTE - 1e-9:
            melody.append(MelodyNote(start / SKYLINE_RATE, i / SKYLINE_RATE, int(top[start]), int(velocity[start])))
        start = i if i < len(top) else None
    return melody


def melody_score(melody: list[MelodyNote], program: int = 0) -> Score:
    """A one-track score (seconds) holding the melody, for SoundFont rendering."""
    score = Score(1000, "second")
    track = Track(name="melody", program=program, is_drum=False, ttype="second")
    for note in melody:
        track.notes.append(SymNote(note.start, note.end - note.start, note.pitch, note.velocity, ttype="second"))
    score.tracks.append(track)
    return score


def synthesize_melody(melody: list[MelodyNote], duration: float, sample_rate: int = MELODY_SAMPLE_RATE) -> np.ndarray:
    """Render the melody with a plain harmonic tone (six partials at 1/h, short attack, decay, release).

    Returns:
        [N] float32 samples, N = ceil(duration * sample_rate).
    """
    out = np.zeros(int(math.ceil(duration * sample_rate)), dtype=np.float32)
    for note in melody:
        a = int(note.start * sample_rate)
        b = min(len(out), int(note.end * sample_rate) + int(0.02 * sample_rate))
        if b <= a:
            continue
        t = np.arange(b - a) / sample_rate
        freq = 440.0 * 2 ** ((note.pitch - 69) / 12)
        partials = sum(np.sin(2 * np.pi * h * freq * t) / h for h in range(1, 7) if h * freq < sample_rate / 2)
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-t / 1.5)
        release = np.clip((b - a - np.arange(b - a)) / (0.02 * sample_rate), 0.0, 1.0)
        out[a:b] += (0.3 * note.velocity / 127) * partials * envelope * release
    return out


def render_melody(melody: list[MelodyNote], duration: float, renderer: Renderer = "synth",
                  sample_rate: int = MELODY_SAMPLE_RATE) -> np.ndarray:
    """Render the melody alone: "synth" (harmonic tone, fast, no dependencies) or "soundfont"
    (FluidSynth through `audio_render`, a flute). Returns [N] float32 mono samples."""
    if renderer == "synth":
        return synthesize_melody(melody, duration, sample_rate)
    if renderer != "soundfont":
        raise ValueError(f"unknown melody renderer {renderer!r} (use synth or soundfont)")
    from audio_render.render import RenderSettings, render_midi_samples

    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "melody.mid"
        melody_score(melody, program=73).dump_midi(str(midi))
        settings = RenderSettings(sample_rate=sample_rate, target_lufs=None, tail_seconds=0.5)
        samples = render_midi_samples(midi, settings=settings).samples.mean(axis=1)
    length = int(math.ceil(duration * sample_rate))
    return np.pad(samples, (0, max(0, length - len(samples))))[:length].astype(np.float32)


def chroma_filterbank(n_fft: int, sample_rate: int) -> torch.Tensor:
    """[12, F] weights mapping FFT bins to pitch classes (C = 0): each bin in range goes to the pitch
    class of its nearest semitone, with a triangular weight that is 1 at the semitone's centre."""
    freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    bank = torch.zeros(12, freqs.numel())
    valid = (freqs >= MIN_FREQ) & (freqs <= MAX_FREQ)
    midi = 69 + 12 * torch.log2(freqs[valid] / 440.0)
    nearest = torch.round(midi)
    weight = 1.0 - (midi - nearest).abs()  # 1 at the centre, 0.5 halfway to the next semitone
    columns = torch.nonzero(valid).squeeze(1)
    bank[(nearest.long() % 12), columns] = weight
    return bank


def chroma_from_audio(samples: np.ndarray | torch.Tensor, sample_rate: int, frame_rate: float,
                      num_frames: int, argmax: bool = True) -> torch.Tensor:
    """Chroma per codec frame.

    Args:
        samples: [N] mono waveform.
        frame_rate: codec frames per second; frame t is centred on t / frame_rate seconds.
        num_frames: T, the codec frames wanted (padded with silence or cut).
        argmax: one-hot of the strongest pitch class per frame (MusicGen-melody), else normalised energy.

    Returns:
        [T, 12] float; all-zero rows where the audio is silent.
    """
    wav = torch.as_tensor(np.asarray(samples, dtype=np.float32)).flatten()
    hop = sample_rate / frame_rate
    n_fft = 1 << int(math.ceil(math.log2(max(2048, 4 * hop))))  # >= 4 Hz resolution at 16 kHz
    centres = (torch.arange(num_frames) * hop).round().long()
    padded = torch.nn.functional.pad(wav, (n_fft // 2, n_fft // 2 + max(0, int(centres[-1]) - len(wav) + 1)))
    windows = padded.unfold(0, n_fft, 1)  # a view: [N, n_fft]
    bank, taper = chroma_filterbank(n_fft, sample_rate).T, torch.hann_window(n_fft)
    chroma = torch.cat([torch.fft.rfft(windows[part] * taper).abs().pow(2) @ bank  # [<= 1024, 12]
                        for part in centres.split(1024)])  # blocks bound the memory of long audio
    energy = chroma.sum(-1)
    audible = energy > SILENT_RELATIVE_POWER * energy.max().clamp_min(1e-12)
    if argmax:
        out = torch.nn.functional.one_hot(chroma.argmax(-1), 12).float()
    else:
        out = chroma / energy.clamp_min(1e-12)[:, None]
    return out * audible[:, None]


def score_chroma(score: Score, frame_rate: float, num_frames: int, renderer: Renderer = "synth") -> torch.Tensor:
    """The lead line's chroma: skyline -> render alone -> argmax chroma per codec frame.

    Returns:
        [T, 12] one-hot rows (zero where the melody rests).
    """
    melody = skyline(score)
    duration = num_frames / frame_rate
    if not melody:
        log.info("the score has no pitched notes: the melody chroma is empty")
        return torch.zeros(num_frames, 12)
    samples = render_melody(melody, duration, renderer)
    return chroma_from_audio(samples, MELODY_SAMPLE_RATE, frame_rate, num_frames)


def score_chroma_from_file(midi_path: str | os.PathLike, frame_rate: float, num_frames: int,
                           renderer: Renderer = "synth") -> torch.Tensor:
    """`score_chroma` of a MIDI file (read through `symbolic.midi_io`)."""
    from symbolic.midi_io import read_score

    return score_chroma(read_score(midi_path), frame_rate, num_frames, renderer)
