"""Write `example.mid`, the score `vmm demo` renders: 12 bars, four tracks, made with pretty_midi.

Run `python vmm/assets/examples/make_example.py` to regenerate it; the output is deterministic, and a
test checks that the committed file equals what this script writes.

The music: 96 BPM in C major, I-V-vi-IV twice then ii-V-I, an arpeggiated piano, a picked bass, a
flute melody from chord tones with passing steps, and a light drum groove (kick, snare, hi-hat).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pretty_midi

TEMPO = 96.0
# (root pitch class, chord tones as intervals) per bar.
BARS = [(0, (0, 4, 7)), (7, (0, 4, 7)), (9, (0, 3, 7)), (5, (0, 4, 7))] * 2 + [
    (2, (0, 3, 7, 10)), (7, (0, 4, 7, 10)), (0, (0, 4, 7)), (0, (0, 4, 7))]
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def make_example(path: str | Path, seed: int = 7) -> Path:
    """Write the example score to `path` and return it."""
    rng = random.Random(seed)
    beat = 60.0 / TEMPO
    midi = pretty_midi.PrettyMIDI(initial_tempo=TEMPO)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(0, 0.0))  # C major
    piano = pretty_midi.Instrument(program=0, name="Piano")
    bass = pretty_midi.Instrument(program=33, name="Bass")
    flute = pretty_midi.Instrument(program=73, name="Flute")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    last = len(BARS) - 1
    for bar, (root, intervals) in enumerate(BARS):
        start = bar * 4 * beat
        if bar == last:  # a held final chord
            for interval in intervals:
                piano.notes.append(pretty_midi.Note(70, 48 + root + interval, start, start + 4 * beat))
            bass.notes.append(pretty_midi.Note(80, 36 + root, start, start + 4 * beat))
            flute.notes.append(pretty_midi.Note(75, 72 + root, start, start + 4 * beat))
            drums.notes.append(pretty_midi.Note(90, 49, start, start + 0.5))  # crash
            drums.notes.append(pretty_midi.Note(90, 36, start, start + 0.2))
            break
        arpeggio = [48 + root + i for i in intervals] + [60 + root + intervals[1]]
        for eighth in range(8):
            t = start + eighth * beat / 2
            pitch = arpeggio[eighth % len(arpeggio)]
            piano.notes.append(pretty_midi.Note(62 + 8 * (eighth % 2 == 0), pitch, t, t + beat * 0.9))
            drums.notes.append(pretty_midi.Note(50 + 15 * (eighth % 2 == 0), 42, t, t + 0.05))
        for quarter, step in enumerate((0, 0, 7, 0)):
            t = start + quarter * beat
            bass.notes.append(pretty_midi.Note(88, 36 + root + step, t, t + beat * 0.8))
            drums.notes.append(pretty_midi.Note(95 if quarter % 2 == 0 else 85, 36 if quarter % 2 == 0 else 38,
                                                t, t + 0.1))
        t = start
        while t < start + 4 * beat - 1e-6:  # melody: chord tones on strong beats, scale steps between
            length = rng.choice((beat, beat, beat / 2, 2 * beat))
            length = min(length, start + 4 * beat - t)
            on_beat = abs((t - start) / beat - round((t - start) / beat)) < 1e-6
            if on_beat:
                pitch = 72 + root + rng.choice(intervals[:3])
            else:
                pitch = 72 + rng.choice(C_MAJOR)
            flute.notes.append(pretty_midi.Note(rng.randint(72, 92), pitch, t, t + length * 0.95))
            t += length
    midi.instruments.extend([piano, bass, flute, drums])
    path = Path(path)
    midi.write(str(path))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("example.mid")
    print(make_example(target))
