import math

import numpy as np
import pytest
import symusic

from symbolic.analysis import beat_grid, progression_per_beat
from symbolic.chords import parse_chord_progression
from symbolic.errors import SymbolicError
from symbolic.metrics import (
    chord_accuracy,
    empty_beat_rate,
    grooving_pattern_similarity,
    note_density_error,
    onset_patterns,
    pitch_class_entropy,
    pitch_range,
    polyphony,
    score_metrics,
)

TPQ = 4  # one tick is a sixteenth note


def build_score(tracks, time_signatures=((0, 4, 4),)):
    """tracks: list of (is_drum, [(start, duration, pitch), ...]) in ticks."""
    score = symusic.Score(TPQ)
    for time, numerator, denominator in time_signatures:
        score.time_signatures.append(symusic.TimeSignature(time, numerator, denominator))
    for index, (is_drum, notes) in enumerate(tracks):
        track = symusic.Track(f"t{index}", 0, is_drum)
        for start, duration, pitch in notes:
            track.notes.append(symusic.Note(start, duration, pitch, 90))
        score.tracks.append(track)
    return score


def plan(text, score):
    return progression_per_beat(parse_chord_progression(text), beat_grid(score))


def test_pitch_class_entropy_by_hand():
    # Bar 0: C, E ; bar 1: G, C. Histogram C:2 E:1 G:1 -> 0.5*1 + 0.25*2 + 0.25*2 = 1.5 bits.
    score = build_score([(False, [(0, 4, 60), (4, 4, 64), (16, 4, 67), (20, 4, 72)]),
                         (True, [(0, 1, 37), (8, 1, 39), (16, 1, 42)])])  # drums do not count
    assert pitch_class_entropy(score) == pytest.approx(1.5)
    # Per bar: {C, E} = 1 bit, {G, C} = 1 bit ; over 2 bars it is the whole piece again.
    assert pitch_class_entropy(score, window_bars=1) == pytest.approx(1.0)
    assert pitch_class_entropy(score, window_bars=2) == pytest.approx(1.5)
    assert pitch_class_entropy(build_score([(False, [(0, 4, 60 + k) for k in range(12)])])) == pytest.approx(
        math.log2(12))
    assert math.isnan(pitch_class_entropy(build_score([(True, [(0, 1, 36)])])))
    with pytest.raises(ValueError):
        pitch_class_entropy(score, window_bars=0)


def test_grooving_similarity_by_hand():
    # Bars 0 and 1: onsets on every beat (positions 0 4 8 12 of 16); bar 2: on beats 1 and 3 only.
    notes = [(b * 16 + p, 2, 60) for b in (0, 1) for p in (0, 4, 8, 12)] + [(32, 2, 60), (40, 2, 60)]
    score = build_score([(False, notes[:6]), (True, notes[6:])])  # onsets from drums count too
    patterns = onset_patterns(score)
    assert patterns.shape == (3, 16)
    assert np.flatnonzero(patterns[2]).tolist() == [0, 8]
    # Pairs: (0,1) identical -> 1 ; (0,2) and (1,2) differ in 2 of 16 -> 0.875.
    assert grooving_pattern_similarity(score) == pytest.approx((1 + 0.875 + 0.875) / 3)
    assert math.isnan(grooving_pattern_similarity(build_score([(False, [(0, 4, 60)])])))


def test_onsets_round_to_the_nearest_position_and_across_bar_lines():
    # 8 positions per beat would keep them apart; at 1 per beat, tick 1 rounds to beat 0 and tick 15 to
    # the next bar's first beat.
    score = build_score([(False, [(1, 1, 60), (15, 1, 62), (20, 8, 64)])])
    patterns = onset_patterns(score, positions_per_beat=1)
    assert patterns.astype(int).tolist() == [[1, 0, 0, 0], [1, 1, 0, 0]]


def test_chord_accuracy_on_the_factory_song(song_midi):
    score = symusic.Score.from_file(str(song_midi))  # C Am F G, twice
    assert chord_accuracy(score, plan("C Am F G C Am F G", score)) == 1.0
    assert chord_accuracy(score, plan("C Am Dm G C Am Dm G", score)) == 0.75
    # Am7 planned where Am sounds: wrong exactly, right as a triad and by root.
    sevenths = plan("C Am7 F G C Am7 F G", score)
    assert chord_accuracy(score, sevenths) == 0.75
    assert chord_accuracy(score, sevenths, level="triad") == 1.0
    assert chord_accuracy(score, plan("C A F G C A F G", score), level="root") == 1.0
    # No-chord bars are not judged; a plan longer than the music counts the missing beats as misses.
    assert chord_accuracy(score, plan("N N F G N N F G", score)) == 1.0
    longer = np.concatenate([plan("C Am F G C Am F G", score), plan("C Am", score)[:8]])
    assert chord_accuracy(score, longer) == pytest.approx(32 / 40)
    assert math.isnan(chord_accuracy(score, np.zeros(8, dtype=int)))
    with pytest.raises(ValueError):
        chord_accuracy(score, sevenths, level="colour")


def test_note_density_error_by_hand():
    score = build_score([(False, [(0, 1, 60), (4, 1, 62), (8, 1, 64), (12, 1, 65), (16, 1, 67)]),
                         (True, [(24, 1, 38)])])  # 4 notes in bar 0, 2 in bar 1 (drum included)
    assert note_density_error(score, [4, 4]) == pytest.approx((0 + 2) / 2 / 4)
    assert note_density_error(score, [4, 4, 4]) == pytest.approx((0 + 2 + 4) / 3 / 4)  # bar 2 has 0 notes
    assert note_density_error(score, [4]) == 0.0
    for bad in ([0, 0], [], [[4, 4]], [-1, 3]):
        with pytest.raises(SymbolicError):
            note_density_error(score, bad)


def test_empty_beat_rate_by_hand():
    # Two bars (8 beats): a note over beats 0-1 (ends inside beat 1), a drum hit in beat 5,
    # a note ending exactly on beat 7's start (so beat 7 stays empty) -> sounding beats 0 1 5 6.
    score = build_score([(False, [(0, 6, 60), (25, 3, 62)]), (True, [(20, 1, 36)])])
    assert beat_grid(score).n_beats == 8
    assert empty_beat_rate(score) == pytest.approx(4 / 8)
    assert empty_beat_rate(build_score([])) == 1.0


def test_pitch_range_and_polyphony_by_hand():
    # C (0-8), E (0-4), G (4-8), then a lone high G at 8; a low drum that must not count.
    score = build_score([(False, [(0, 8, 48), (0, 4, 64), (4, 4, 67), (8, 4, 79)]), (True, [(0, 1, 35)])])
    assert pitch_range(score) == 31.0
    # Onsets 0: C E sound -> 2 ; 4: C G (E has ended) -> 2 ; 8: the high G -> 1.
    assert polyphony(score) == pytest.approx(5 / 3)
    drums_only = build_score([(True, [(0, 1, 36)])])
    assert math.isnan(pitch_range(drums_only)) and math.isnan(polyphony(drums_only))


def test_score_metrics_collects_everything(song_midi):
    score = symusic.Score.from_file(str(song_midi))
    metrics = score_metrics(score)
    assert set(metrics) == {"pitch_class_entropy", "grooving_similarity", "empty_beat_rate", "pitch_range",
                            "polyphony", "notes_per_bar"}
    assert metrics["grooving_similarity"] == 1.0  # every bar has the same rhythm
    assert metrics["empty_beat_rate"] == 0.0
    assert metrics["notes_per_bar"] == 32.0
    assert metrics["pitch_range"] == (72 + 9 + 7) - 36  # flute top E6 over Am, bass C2
    full = score_metrics(score, chord_plan=plan("C Am F G C Am F G", score), density_targets=[32] * 8)
    assert full["chord_accuracy"] == 1.0 and full["density_error"] == 0.0
    assert all(isinstance(value, float) for value in full.values())
