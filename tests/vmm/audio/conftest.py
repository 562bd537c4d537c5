"""Fixtures for the neural-audio tests: small (video, audio, MIDI) pairs made here, one CPU thread."""

import numpy as np
import pytest
import torch

from audio_render.audio_io import write_audio


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models spend their time in thread hand-offs when cores are shared: run them on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tone_melody(pitches, note_seconds, sample_rate=32000):
    """A mono melody of plain tones, one pitch per `note_seconds` ([N] float32)."""
    out = []
    for pitch in pitches:
        t = np.arange(int(note_seconds * sample_rate)) / sample_rate
        freq = 440.0 * 2 ** ((pitch - 69) / 12)
        out.append(0.4 * np.sin(2 * np.pi * freq * t) * np.minimum(1, (note_seconds - t) / 0.02))
    return np.concatenate(out).astype(np.float32)


@pytest.fixture
def tone():
    """`tone_melody(pitches, note_seconds)` for tests that make their own audio."""
    return tone_melody


@pytest.fixture
def pair_dir(tmp_path):
    """Two training pairs: `alpha` (video + wav + MIDI, 3 s) and `beta` (wav only, 2.5 s)."""
    from support.midi_factory import make_song
    from support.video_factory import make_video

    folder = tmp_path / "pairs"
    folder.mkdir()
    make_video(folder / "alpha.mp4", duration=3.0, cuts=(1.5,), fps=10.0)
    write_audio(folder / "alpha.wav", tone_melody([72, 76, 79, 76, 72, 67], 0.5)[:, None], 32000)
    make_song(folder / "alpha.mid", bars=2, tempo=160.0)
    write_audio(folder / "beta.wav", tone_melody([60, 64, 67, 72, 67], 0.5)[:, None], 32000)
    return folder
