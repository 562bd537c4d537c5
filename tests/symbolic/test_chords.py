import numpy as np
import pytest

from symbolic.chords import (
    N_CHORDS,
    NO_CHORD,
    QUALITIES,
    chord_id,
    chord_name,
    chord_pitch_classes,
    chord_root_quality,
    chords_at_times,
    parse_chord_progression,
    parse_chord_symbol,
    parse_note_name,
    parse_pop909_label,
    read_pop909_chords,
    recognise_chord,
    reduce_to_triad,
)
from symbolic.errors import SymbolicError


def names(ids):
    return [chord_name(c) for c in ids]


def test_vocabulary_round_trips_every_id():
    assert N_CHORDS == 1 + 12 * len(QUALITIES)
    assert chord_root_quality(NO_CHORD) is None and chord_name(NO_CHORD) == "N"
    seen = set()
    for cid in range(1, N_CHORDS):
        root, quality = chord_root_quality(cid)
        assert chord_id(root, quality) == cid
        assert parse_chord_symbol(chord_name(cid)) == cid  # every name we write, we read back
        assert chord_pitch_classes(cid)[0] == root
        seen.add(chord_name(cid))
    assert len(seen) == N_CHORDS - 1
    with pytest.raises(SymbolicError):
        chord_root_quality(N_CHORDS)


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("C", "C"), ("G/B", "G"), ("Am7", "Am7"), ("Fmaj7", "Fmaj7"), ("Bb7", "Bb7"), ("F#m7b5", "F#m7b5"),
        ("Bø", "Bm7b5"), ("Cdim", "Cdim"), ("Csus4", "Csus4"), ("Dsus", "Dsus4"), ("Db", "C#"),
        ("C#m", "C#m"), ("EbM7", "Ebmaj7"), ("G9", "G7"), ("Dm9", "Dm7"), ("Cadd9", "C"), ("C6/9", "C6"),
        ("Am/C", "Am"), ("E+", "Eaug"), ("C7(b9)", "C7"), ("Cm(maj7)", "CmMaj7"), ("C7/G", "C7"), ("Bo7", "Bdim7"), ("am", "Am"), ("C:maj", "C"), ("G7sus4", "G7sus4"),
    ],
)
def test_parse_chord_symbol(symbol, expected):
    assert chord_name(parse_chord_symbol(symbol)) == expected


@pytest.mark.parametrize("symbol", ["N", "NC", "n.c."])
def test_no_chord_symbols(symbol):
    assert parse_chord_symbol(symbol) == NO_CHORD


@pytest.mark.parametrize("symbol", ["H7", "Cxyz", "C/Q", "", "7"])
def test_unknown_symbol_names_it_and_lists_forms(symbol):
    with pytest.raises(SymbolicError) as info:
        parse_chord_symbol(symbol)
    message = str(info.value)
    assert repr(symbol) in message and "accepted" in message and "\n" not in message


def test_progression_with_and_without_bar_lines():
    bars = parse_chord_progression("C G/B Am7 Fmaj7 | Dm7 G7 C")
    assert [names(b) for b in bars] == [["C", "G", "Am7", "Fmaj7"], ["Dm7", "G7", "C"]]
    assert [names(b) for b in parse_chord_progression("Am F C G")] == [["Am"], ["F"], ["C"], ["G"]]
    assert [names(b) for b in parse_chord_progression("| C, G | F |")] == [["C", "G"], ["F"]]


def test_progression_repeat_and_errors():
    assert [names(b) for b in parse_chord_progression("| C G | % | F |")] == [["C", "G"], ["C", "G"], ["F"]]
    for bad in ["", " | ", "C | | G", "% C", "C X"]:
        with pytest.raises(SymbolicError):
            parse_chord_progression(bad)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("C:maj", "C"), ("A:min7", "Am7"), ("G:7/5", "G7"), ("Db:maj6", "C#6"), ("C:sus4", "Csus4"),
        ("Bb:sus4(b7)", "Bb7sus4"), ("F#:maj7/5", "F#maj7"), ("E:min/b3", "Em"), ("B:hdim7", "Bm7b5"),
        ("Ab:minmaj7", "AbmMaj7"), ("D:min9", "Dm7"), ("C:weird", "C"), ("C:minweird", "Cm"), ("E", "E"),
    ],
)
def test_pop909_labels(label, expected):
    assert chord_name(parse_pop909_label(label)) == expected


def test_pop909_no_chord_and_bad_root():
    assert parse_pop909_label("N") == NO_CHORD
    with pytest.raises(SymbolicError):
        parse_pop909_label("Q:maj")


def test_read_pop909_chords_and_lookup(tmp_path):
    path = tmp_path / "chord_midi.txt"
    path.write_text("0.5\t2.0\tC:maj\n2.0\t3.0\tA:min7\n4.0\t5.0\tG:7/5\n")
    segments = read_pop909_chords(path)
    assert segments == [(0.5, 2.0, parse_chord_symbol("C")), (2.0, 3.0, parse_chord_symbol("Am7")),
                        (4.0, 5.0, parse_chord_symbol("G7"))]
    times = np.array([0.0, 0.5, 1.9, 2.0, 3.5, 4.2, 9.0])
    assert names(chords_at_times(segments, times)) == ["N", "C", "C", "Am7", "N", "G7", "N"]
    assert chords_at_times([], times).tolist() == [NO_CHORD] * 7


def test_read_pop909_chords_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("0.0\t1.0\tC:maj\nzero\t2\tG:maj\n")
    with pytest.raises(SymbolicError, match="line 2"):
        read_pop909_chords(bad)
    with pytest.raises(SymbolicError, match="cannot read"):
        read_pop909_chords(tmp_path / "missing.txt")


def test_reduce_to_triad_and_note_names():
    assert chord_name(reduce_to_triad(parse_chord_symbol("Am7"))) == "Am"
    assert chord_name(reduce_to_triad(parse_chord_symbol("Bm7b5"))) == "Bdim"
    assert reduce_to_triad(NO_CHORD) == NO_CHORD
    assert parse_note_name("Bb") == 10 and parse_note_name("f#") == 6
    with pytest.raises(SymbolicError):
        parse_note_name("Cmaj")


def profile_of(pitches, weights=None):
    profile = np.zeros(12)
    for i, pitch in enumerate(pitches):
        profile[pitch % 12] += 1.0 if weights is None else weights[i]
    return profile


@pytest.mark.parametrize(
    ("pitches", "bass", "expected"),
    [
        ([60, 64, 67], 0, "C"),
        ([52, 60, 67, 76], 4, "C"),  # first inversion, spread over three octaves
        ([43, 59, 62, 67, 74], 7, "G"),  # open voicing, doubled
        ([47, 62, 67], 11, "G"),  # G/B
        ([57, 60, 64, 67], 9, "Am7"),
        ([48, 64, 67, 69], 0, "C6"),  # same notes as Am7, bass decides
        ([53, 57, 60, 64], 5, "Fmaj7"),
        ([55, 59, 62, 65], 7, "G7"),
        ([59, 62, 65, 69], 11, "Bm7b5"),
        ([60, 65, 67], 0, "Csus4"),
        ([62, 65, 69], 2, "Dm"),
    ],
)
def test_recognise_voicings_and_inversions(pitches, bass, expected):
    assert chord_name(recognise_chord(profile_of(pitches), bass)) == expected


def test_recognise_ignores_a_short_passing_note():
    # C triad held, with a short D passing note in the melody.
    profile = profile_of([60, 64, 67, 62], weights=[4.0, 4.0, 4.0, 0.5])
    assert chord_name(recognise_chord(profile, 0)) == "C"


def test_recognise_returns_no_chord_for_weak_profiles():
    assert recognise_chord(np.zeros(12)) == NO_CHORD
    assert recognise_chord(np.ones(12)) == NO_CHORD  # chromatic cluster
    assert recognise_chord(profile_of([63])) == NO_CHORD  # a lone note names no chord
    with pytest.raises(SymbolicError):
        recognise_chord(np.ones(11))
