"""Fixtures for the audio_render tests: a fast SoundFont, fake SoundFont files, MIDI with known timing."""

from __future__ import annotations

import struct
from pathlib import Path

import pretty_midi
import pytest

from audio_render.soundfonts import pretty_midi_soundfont


@pytest.fixture(scope="session")
def small_soundfont() -> Path:
    """pretty_midi's TimGM6mb.sf2: 6 MB, loads in a few milliseconds (the system .sf3 takes ~1 s)."""
    path = pretty_midi_soundfont()
    assert path is not None, "pretty_midi ships TimGM6mb.sf2"
    return path


def write_fake_soundfont(path: Path) -> Path:
    """A file with a SoundFont's RIFF 'sfbk' header and nothing else: enough for discovery, not for FluidSynth."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"sfbk")
    return path


@pytest.fixture
def fake_soundfont():
    return write_fake_soundfont


def write_single_note(path: Path, start: float, end: float, program: int = 0, pitch: int = 60,
                      is_drum: bool = False) -> Path:
    """One note from `start` to `end` seconds at 120 BPM."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
    instrument.notes.append(pretty_midi.Note(100, pitch, start, end))
    midi.instruments.append(instrument)
    midi.write(str(path))
    return path


@pytest.fixture
def single_note():
    return write_single_note
