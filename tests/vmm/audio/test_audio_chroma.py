"""The melody stream: skyline extraction, rendering alone, argmax chroma per codec frame."""

import numpy as np
import pytest
import torch
from symusic import Note, Score, Track

from vmm.audio.chroma import (
    MelodyNote,
    chroma_from_audio,
    render_melody,
    score_chroma,
    skyline,
    synthesize_melody,
)

MELODY = [(69, 0.0), (71, 0.5), (74, 1.0), (77, 1.5)]  # A B D F: none of them in the C major pad


def pad_and_melody() -> Score:
    """A loud C-major pad (C4 E4 G4) held for 2 s under a quiet melody A4 B4 D5 F5, half a second each."""
    score = Score(1000, "second")
    pad = Track(name="pad", program=89, ttype="second")
    for pitch in (60, 64, 67):
        pad.notes.append(Note(0.0, 2.0, pitch, 127, ttype="second"))
    lead = Track(name="lead", program=73, ttype="second")
    for pitch, start in MELODY:
        lead.notes.append(Note(start, 0.45, pitch, 60, ttype="second"))
    drums = Track(name="drums", program=0, is_drum=True, ttype="second")
    drums.notes.append(Note(0.0, 2.0, 81, 127, ttype="second"))  # a high drum note must not be the melody
    score.tracks.extend([pad, lead, drums])
    return score


def expected_classes(num_frames: int, rate: float = 50.0) -> np.ndarray:
    """Pitch class of the melody at each frame centre, -1 in the gaps."""
    out = np.full(num_frames, -1)
    for pitch, start in MELODY:
        a, b = int(np.ceil(start * rate)), int(np.floor((start + 0.45) * rate))
        out[a:b + 1] = pitch % 12
    return out


def test_skyline_takes_the_highest_pitched_note_and_ignores_drums():
    melody = skyline(pad_and_melody())
    # the drum note (81) is higher but not melody; the pad showing through the 50 ms gaps is dropped
    assert [n.pitch for n in melody] == [69, 71, 74, 77]
    assert all(abs(n.start - s) < 0.011 for n, (_, s) in zip(melody, MELODY, strict=True))


@pytest.mark.parametrize("renderer", ["synth", "soundfont"])
def test_chroma_of_the_rendered_melody_has_the_melody_pitch_class(renderer):
    if renderer == "soundfont":
        from audio_render.errors import AudioRenderError
        from audio_render.soundfonts import find_soundfont

        try:
            find_soundfont(None)
        except AudioRenderError:
            pytest.skip("no SoundFont installed")
    chroma = score_chroma(pad_and_melody(), 50.0, 100, renderer)
    assert chroma.shape == (100, 12)
    expected = expected_classes(100)
    sounding = expected >= 0
    got = chroma.argmax(-1).numpy()
    assert (got[sounding] == expected[sounding]).mean() > 0.9
    assert set(chroma.sum(-1).tolist()) <= {0.0, 1.0}  # one-hot or silent


def test_the_full_mix_collapses_to_the_pad():
    """Why the melody is rendered alone: the mix's argmax chroma follows the loud pad, not the melody."""
    score = pad_and_melody().to("second")
    every_note = [MelodyNote(n.start, n.end, n.pitch, n.velocity) for t in score.tracks if not t.is_drum for n in t.notes]
    mix = synthesize_melody(every_note, 2.0)
    got = chroma_from_audio(mix, 16000, 50.0, 100).argmax(-1).numpy()
    expected = expected_classes(100)
    sounding = expected >= 0
    assert (got[sounding] == expected[sounding]).mean() < 0.5
    assert set(got[sounding].tolist()) <= {0, 4, 7, 9, 11, 2, 5}


def test_silence_has_no_chroma_and_lengths_are_exact():
    samples = np.zeros(16000, np.float32)
    samples[:8000] = np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)
    chroma = chroma_from_audio(samples, 16000, 50.0, 73)
    assert chroma.shape == (73, 12)
    assert chroma[5].argmax() == 9 and chroma[5].sum() == 1  # A
    assert torch.all(chroma[40:] == 0)
    assert render_melody([], 1.5).shape == (24000,)
    empty = Score(480)
    assert torch.all(score_chroma(empty, 50.0, 20) == 0)
