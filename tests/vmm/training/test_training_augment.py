import numpy as np
import pytest

from symbolic.chords import chord_id, chord_root_quality
from vmm.training.augment import Transposer, transpose_chords, transpose_key


def ids_of(tok, names):
    return np.array([tok.vocab[name] for name in names])


def names_of(tok, ids):
    inverse = {v: k for k, v in tok.vocab.items()}
    return [inverse[int(i)] for i in ids]


NOTES = ["Bar_None", "TimeSig_4/4", "Position_0",
         "Program_0", "Pitch_60", "Velocity_79", "Duration_1.0.8",
         "Program_-1", "PitchDrum_36", "Velocity_95", "Duration_0.2.8",
         "Program_33", "Pitch_40", "Velocity_79", "Duration_1.0.8"]


def test_pitches_move_drums_stay(tokenizer):
    transposer = Transposer(tokenizer.vocab, 12)
    new, keep = transposer.tokens(ids_of(tokenizer, NOTES), 3)
    assert keep.all()
    expected = [n.replace("Pitch_60", "Pitch_63").replace("Pitch_40", "Pitch_43") for n in NOTES]
    assert names_of(tokenizer, new) == expected


def test_pitch_after_drum_program_stays_without_pitchdrum_tokens():
    vocab = {name: i for i, name in enumerate(["Program_-1", "Program_0", "Pitch_36", "Pitch_38", "Pitch_60",
                                               "Pitch_62", "Velocity_9", "Duration_1"])}
    transposer = Transposer(vocab, 2)
    ids = np.array([vocab[n] for n in ["Program_-1", "Pitch_36", "Velocity_9", "Program_0", "Pitch_60"]])
    new, _ = transposer.tokens(ids, 2)
    assert list(new) == [vocab[n] for n in ["Program_-1", "Pitch_36", "Velocity_9", "Program_0", "Pitch_62"]]


def test_out_of_range_note_is_dropped_whole(tokenizer):
    names = NOTES[:3] + ["Program_0", "Pitch_107", "Velocity_79", "Duration_1.0.8"] + NOTES[3:7]
    new, keep = Transposer(tokenizer.vocab, 12).tokens(ids_of(tokenizer, names), 5)
    assert names_of(tokenizer, new) == NOTES[:3] + ["Program_0", "Pitch_65", "Velocity_79", "Duration_1.0.8"]
    assert keep.sum() == len(new) and not keep[3:7].any()


def test_shift_outside_the_tables_is_refused(tokenizer):
    with pytest.raises(ValueError, match="outside"):
        Transposer(tokenizer.vocab, 2).tokens(ids_of(tokenizer, NOTES), 3)


def test_chords_and_key_move_with_the_notes():
    chords = np.array([0, chord_id(0, "maj"), chord_id(9, "min7"), chord_id(11, "7sus4")], dtype=np.int16)
    moved = transpose_chords(chords, 3)
    assert moved.dtype == np.int16 and moved[0] == 0
    assert [chord_root_quality(int(c)) for c in moved[1:]] == [(3, "maj"), (0, "min7"), (2, "7sus4")]
    np.testing.assert_array_equal(transpose_chords(moved, -3), chords)
    assert transpose_key(9 + 12, 5) == 2 + 12  # A minor -> D minor
    assert transpose_key(24, 5) == 24 and transpose_key(-1, 2) == 24
