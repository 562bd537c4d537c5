import miditok
import numpy as np
import pytest
import symusic
from miditok.utils import get_bars_ticks

from symbolic.analysis import (
    annotated_chords_per_beat,
    bar_note_density,
    beat_grid,
    beat_onset_strength,
    chords_per_bar,
    chords_per_beat,
    estimate_key,
    key_name,
    parse_key,
    pitch_class_profiles,
    progression_per_beat,
)
from symbolic.chords import NO_CHORD, chord_name, parse_chord_progression, parse_chord_symbol
from symbolic.errors import SymbolicError
from symbolic.grid import BeatGrid, ticks_to_seconds

TPQ = 4  # ticks per quarter in the hand-made scores: one tick is a sixteenth


def build_score(tracks, time_signatures=((0, 4, 4),), tpq=TPQ):
    """tracks: list of (is_drum, [(start, duration, pitch, velocity), ...]) in ticks."""
    score = symusic.Score(tpq)
    for time, numerator, denominator in time_signatures:
        score.time_signatures.append(symusic.TimeSignature(time, numerator, denominator))
    for index, (is_drum, notes) in enumerate(tracks):
        track = symusic.Track(f"t{index}", 0, is_drum)
        for start, duration, pitch, velocity in notes:
            track.notes.append(symusic.Note(start, duration, pitch, velocity))
        score.tracks.append(track)
    return score


def names(ids):
    return [chord_name(c) for c in ids]


def chord_bars(bars, beats_per_chord=4):
    """Whole-bar block chords: one (pitches list) per bar -> notes held a bar each."""
    notes = []
    for bar, pitches in enumerate(bars):
        notes += [(bar * beats_per_chord * TPQ, beats_per_chord * TPQ, p, 80) for p in pitches]
    return notes


# ---- grid -------------------------------------------------------------------------------------------


def test_grid_of_factory_song(song_midi):
    score = symusic.Score.from_file(str(song_midi))
    grid = beat_grid(score)
    assert (grid.n_bars, grid.n_beats) == (8, 32)
    assert np.all(np.diff(grid.beat_ticks) == score.ticks_per_quarter)
    assert grid.bar_first_beat.tolist() == list(range(0, 33, 4))
    assert np.allclose(ticks_to_seconds(score, grid.bar_ticks), np.arange(9) * 2.0)  # 120 BPM


def test_grid_six_eight_has_eighth_note_beats_and_covers_last_note_end():
    score = build_score([(False, [(0, 2, 60, 80), (28, 3, 62, 80)])], time_signatures=((0, 6, 8),))
    grid = beat_grid(score)
    assert grid.beats_per_bar.tolist() == [6, 6, 6]  # last note ends at 31 -> third bar (24..36)
    assert grid.beat_ticks.tolist() == list(range(0, 37, 2))
    assert grid.beat_bar.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert grid.bar_of(np.array([0, 11, 12, 40])).tolist() == [0, 0, 1, 3]


def test_grid_of_empty_score_is_one_default_bar():
    grid = beat_grid(build_score([]))
    assert (grid.n_bars, grid.n_beats) == (1, 4)
    assert beat_grid(build_score([]), min_end_tick=5 * 16).n_bars == 5
    with pytest.raises(ValueError):
        BeatGrid(np.array([0]), np.array([0]), 4)


def test_grid_bars_line_up_with_miditok_remi_bars():
    # Time signature changes inside bars: MidiTok delays them to the next bar line; so must we.
    score = build_score([(False, [(i * 2, 2, 60 + i % 12, 90) for i in range(40)])],
                        time_signatures=((0, 4, 4), (9, 3, 4), (24, 6, 8), (41, 2, 4)))
    tokenizer = miditok.REMI(miditok.TokenizerConfig(use_time_signatures=True, use_programs=True))
    processed = tokenizer.preprocess_score(score.copy())
    theirs = np.array(get_bars_ticks(processed)) / processed.ticks_per_quarter
    grid = beat_grid(score)
    assert np.allclose(grid.bar_ticks[:-1] / TPQ, theirs)
    tokens = tokenizer.encode(score.copy())
    tokens = tokens[0].tokens if isinstance(tokens, list) else tokens.tokens
    assert tokens.count("Bar_None") == grid.n_bars
    # 3/4 (tick 9) starts at the next bar line, 16; 6/8 (tick 24) at 28; 2/4 (tick 41) at 52.
    assert grid.bar_ticks.tolist()[:6] == [0, 16, 28, 40, 52, 60]
    assert grid.beats_per_bar.tolist()[:5] == [4, 3, 6, 6, 2]


# ---- density and strength ---------------------------------------------------------------------------


def test_density_counts_every_track_including_drums(song_midi):
    score = symusic.Score.from_file(str(song_midi))
    # Per bar: piano 4 beats x 3 notes, bass 4, flute 8 eighths, drums 4 + 4 hats.
    assert bar_note_density(score).tolist() == [32] * 8
    hand = build_score([(False, [(0, 4, 60, 80), (4, 4, 62, 80), (20, 4, 64, 80)]), (True, [(2, 1, 36, 100)])])
    assert bar_note_density(hand).tolist() == [3, 1]


def test_onset_strength_weights_velocity_and_nearness():
    hand = build_score([
        (False, [(0, 4, 60, 127), (7, 4, 62, 64), (10, 1, 64, 100)]),  # beat 0 strong; 7 is just before beat 2
        (True, [(12, 1, 36, 127), (12, 1, 42, 127)]),  # two drum hits on beat 3
    ])
    strength = beat_onset_strength(hand)
    # beat 0: 1.0 ; beat 1: nothing near (tick 7 is 0.75 into beat 1 -> counts for beat 2); tick 10 is mid-beat.
    expected = np.array([1.0, 0.0, 64 / 127, 2.0]) / 2.0
    assert np.allclose(strength, expected)
    assert beat_onset_strength(build_score([])).tolist() == [0.0] * 4
    with pytest.raises(ValueError):
        beat_onset_strength(hand, tolerance=0.0)


# ---- key ----------------------------------------------------------------------------------------------


def test_key_of_factory_song_is_c_major(song_midi):
    assert estimate_key(symusic.Score.from_file(str(song_midi))) == (0, "major")


def test_key_of_a_minor_piece():
    # Am Dm E Am with the leading tone G#; a melody stressing A and C.
    bars = [[45, 57, 60, 64], [50, 57, 62, 65], [40, 56, 59, 64], [45, 57, 60, 64]]
    melody = [(b * 16 + k * 4, 4, p, 90) for b, line in enumerate([[69, 72, 71, 69], [69, 65, 64, 62],
                                                                    [64, 68, 71, 68], [69, 64, 60, 69]])
              for k, p in enumerate(line)]
    score = build_score([(False, chord_bars(bars)), (False, melody), (True, [(0, 1, 42, 90)])])
    tonic, mode = estimate_key(score)
    assert key_name(tonic, mode) == "A minor"
    with pytest.raises(SymbolicError):
        estimate_key(build_score([(True, [(0, 1, 36, 100)])]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A minor", (9, "minor")), ("Am", (9, "minor")), ("F# major", (6, "major")), ("Gb:maj", (6, "major")),
     ("C", (0, "major")), ("Bb min", (10, "minor")), ("EbM", (3, "major")), ("c# Minor", (1, "minor"))],
)
def test_parse_key(text, expected):
    assert parse_key(text) == expected
    assert parse_key(key_name(*expected)) == expected


@pytest.mark.parametrize("text", ["", "H minor", "A dorianish", "minor", "C major major", "Am7"])
def test_parse_key_rejects_nonsense(text):
    with pytest.raises(SymbolicError, match="unknown key"):
        parse_key(text)


# ---- chords -------------------------------------------------------------------------------------------


def test_profiles_and_bass_of_a_held_chord():
    hand = build_score([(False, [(0, 8, 60, 80), (0, 2, 64, 80), (4, 4, 48, 80), (4, 1, 43, 80)]),
                        (True, [(0, 4, 35, 100)])])
    profiles, bass = pitch_class_profiles(hand)
    assert profiles.shape == (4, 12)
    assert profiles[0, 0] == 1.0 and profiles[0, 4] == 0.5 and profiles[1, 0] == 2.0 and profiles[1, 7] == 0.25
    assert profiles[0, 11] == 0.0  # the drum (pitch 35 = B) is ignored
    # Beat 1: the low G (43) sounds a quarter of the beat, which is long enough to be the bass.
    assert bass.tolist() == [0, 7, -1, -1]


def test_chords_of_factory_song(song_midi):
    score = symusic.Score.from_file(str(song_midi))
    assert names(chords_per_bar(score)) == ["C", "Am", "F", "G"] * 2
    assert names(chords_per_beat(score)) == [c for c in ["C", "Am", "F", "G"] * 2 for _ in range(4)]


def test_chords_in_inversions_and_spread_voicings():
    bars = [
        [52, 67, 72, 76],  # C/E, spread
        [47, 62, 67, 74],  # G/B
        [45, 64, 67, 72, 79],  # Am7 open: A . E G C G
        [41, 64, 69, 72, 76],  # Fmaj7 with doubled E
        [43, 59, 65, 74],  # G7 open
        [48, 55, 64, 72],  # C open
    ]
    score = build_score([(False, chord_bars(bars)), (True, [(t, 1, 37 + t % 5, 100) for t in range(0, 96, 2)])])
    assert names(chords_per_bar(score)) == ["C", "G", "Am7", "Fmaj7", "G7", "C"]


def test_sparse_beats_take_the_chord_of_their_bar():
    # Bar 0: a C chord on beat 0 only, then lone melody notes E, G, D on beats 1-3.
    # Bar 1: F held three beats, then a lone G (not in F) on beat 3. Thin beats must not flip.
    notes = [(0, 4, p, 80) for p in (36, 48, 52, 55)] + [(4, 4, 76, 80), (8, 4, 79, 80), (12, 4, 74, 80)]
    notes += [(16, 12, p, 80) for p in (41, 53, 57, 60)] + [(28, 4, 79, 80)]
    beats = chords_per_beat(build_score([(False, notes)]))
    assert names(beats) == ["C"] * 4 + ["F"] * 4


def test_silence_and_drums_only_are_no_chord():
    notes = chord_bars([[60, 64, 67], [], [], [55, 59, 62]])
    drums = (True, [(t, 1, 38, 100) for t in range(0, 64, 4)])
    assert names(chords_per_bar(build_score([(False, notes), drums]))) == ["C", "N", "N", "G"]
    assert chords_per_beat(build_score([drums])).tolist() == [NO_CHORD] * 16


def test_chords_ignore_drums(song_midi):
    score = symusic.Score.from_file(str(song_midi))
    noisy = score.copy()
    drums = next(track for track in noisy.tracks if track.is_drum)
    for k in range(64):  # pitched-looking drum notes on every eighth: C#, Eb, F#, Bb
        drums.notes.append(symusic.Note(k * score.ticks_per_quarter // 2, score.ticks_per_quarter // 4, 37 + 3 * (k % 4), 127))
    assert chords_per_beat(noisy).tolist() == chords_per_beat(score).tolist()


def test_progression_per_beat_shares_bars_evenly():
    grid = beat_grid(build_score([(False, [(0, 48, 60, 80)])]))  # 3 bars of 4/4
    bars = parse_chord_progression("C G/B Am7 Fmaj7 | Dm7 G7 C")
    assert names(progression_per_beat(bars, grid)) == ["C", "G", "Am7", "Fmaj7", "Dm7", "G7", "C", "C",
                                                       "N", "N", "N", "N"]
    assert names(progression_per_beat(parse_chord_progression("F G"), grid)) == ["F"] * 4 + ["G"] * 4 + ["N"] * 4
    with pytest.raises(SymbolicError, match="bar 1"):
        progression_per_beat(parse_chord_progression("C D E F G | C"), grid)


def test_annotated_chords_follow_the_tempo_map():
    # 60 BPM for the first bar (1 s per beat), then 120 BPM (0.5 s per beat).
    score = build_score([(False, [(0, 32, 60, 80)])])
    score.tempos.append(symusic.Tempo(0, 60.0))
    score.tempos.append(symusic.Tempo(16, 120.0))
    c, g = parse_chord_symbol("C"), parse_chord_symbol("G")
    segments = [(0.0, 4.0, c), (4.0, 5.0, g)]  # C for bar 0 (4 s), G for two beats of bar 1
    assert names(annotated_chords_per_beat(score, segments)) == ["C"] * 4 + ["G", "G", "N", "N"]
