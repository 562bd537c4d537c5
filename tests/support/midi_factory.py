"""Small multi-track MIDI files made by the tests themselves (no shared data).

`make_song` writes a 4/4 piece at a fixed tempo: piano chords on every beat, a bass line on the roots,
a melody in eighth notes, and drums (kick, snare, hats) on channel 10. The chord progression is known,
so chord recognition, density and strength have known answers.
"""

from __future__ import annotations

from pathlib import Path

import pretty_midi

# Root pitch class and triad intervals of each bar's chord (C, Am, F, G by default).
DEFAULT_PROGRESSION = [(0, (0, 4, 7)), (9, (0, 3, 7)), (5, (0, 4, 7)), (7, (0, 4, 7))]


def make_song(
    path: str | Path,
    *,
    bars: int = 8,
    tempo: float = 120.0,
    progression: list[tuple[int, tuple[int, ...]]] | None = None,
    with_drums: bool = True,
    melody_every_beat: int = 2,
) -> Path:
    """Write a multi-track MIDI file and return its path.

    Args:
        bars: number of 4/4 bars; the progression repeats to fill them.
        progression: one (root pitch class, intervals) per bar.
        melody_every_beat: melody notes per beat (2 = eighth notes).
    """
    progression = progression or DEFAULT_PROGRESSION
    beat = 60.0 / tempo
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    bass = pretty_midi.Instrument(program=33, name="Bass")
    melody = pretty_midi.Instrument(program=73, name="Flute")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    for bar in range(bars):
        root, intervals = progression[bar % len(progression)]
        bar_start = bar * 4 * beat
        for b in range(4):
            onset = bar_start + b * beat
            for interval in intervals:
                piano.notes.append(pretty_midi.Note(80, 60 + root + interval, onset, onset + beat * 0.9))
            bass.notes.append(pretty_midi.Note(90, 36 + root, onset, onset + beat * 0.9))
            step = beat / melody_every_beat
            for k in range(melody_every_beat):
                pitch = 72 + root + intervals[(b + k) % len(intervals)]
                start = onset + k * step
                melody.notes.append(pretty_midi.Note(70 + 20 * (k == 0), pitch, start, start + step * 0.9))
            drum_pitch = 36 if b % 2 == 0 else 38
            drums.notes.append(pretty_midi.Note(100, drum_pitch, onset, onset + 0.1))
            drums.notes.append(pretty_midi.Note(60, 42, onset + beat / 2, onset + beat / 2 + 0.05))
    midi.instruments.extend([piano, bass, melody] + ([drums] if with_drums else []))
    path = Path(path)
    midi.write(str(path))
    return path
