from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest
from support.midi_factory import make_song
from symusic import Note, Score, Tempo, TimeSignature, Track

from symbolic.errors import SymbolicError
from symbolic.midi_io import read_score
from symbolic.tokenizer import (
    TOKEN_TYPES,
    TokenTimeline,
    build_tokenizer,
    decode,
    encode,
    load_tokenizer,
    save_tokenizer,
    token_timeline,
    token_types,
    tokenizer_hash,
    vocab_table,
)

TPQ = 480


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def _mixed_metre_song(path, arbitrary: bool = False):
    """Six tracks (drums too) over 2 bars of 3/4 at 100 BPM, then 2 bars of 6/8 at 140 BPM, then 2 of 4/4.

    Onsets are off the grid, velocities and durations vary (long notes too), so the round trip
    exercises every quantisation. With `arbitrary` False, times stay a third of a grid step away from
    rounding ties (so that a hand quantisation must agree exactly); with True they are anything.
    Returns the path of the written file.
    """
    rng = np.random.default_rng(1 if arbitrary else 0)
    score = Score(TPQ)
    score.time_signatures.extend([TimeSignature(0, 3, 4), TimeSignature(6 * TPQ, 6, 8),
                                  TimeSignature(12 * TPQ, 4, 4)])
    score.tempos.extend([Tempo(0, 100.0), Tempo(6 * TPQ, 140.0)])
    velocity_bins = build_tokenizer().velocities

    def velocity():
        while True:
            v = int(rng.integers(1, 128))
            gaps = np.sort(np.abs(velocity_bins - v))
            if arbitrary or gaps[0] != gaps[1]:  # away from the midpoint between two bins
                return v

    def duration():
        if arbitrary:
            return int(rng.integers(1, 4000))
        # Multiples of 1/4 quarter (a grid point in every metre and duration range) +- 1/3 of
        # the finest step (30 ticks), from 1/8 quarter to past the longest Duration token.
        return int(rng.choice([60, 120, 240, 480, 840, 1200, 2040, 3480, 6000])) + int(rng.integers(-10, 11))

    for program, is_drum, low, high in [(0, False, 48, 84), (33, False, 28, 52), (40, False, 55, 96),
                                        (56, False, 50, 80), (24, False, 40, 76), (0, True, 35, 60)]:
        track = Track(program=program, is_drum=is_drum, name=f"p{program}{'d' if is_drum else ''}")
        step = TPQ // 2 if program != 24 else TPQ
        sounding_until = {}  # pitch -> end tick: a re-struck pitch would cut the note short in MIDI
        # Stop a quarter before 20 quarters (the end of the 4/4 bars), away from metre changes.
        for onset in range(0, 20 * TPQ - step, step):
            pitch = int(rng.integers(low, high))
            if rng.random() < 0.3 or sounding_until.get(pitch, -1) >= onset - 120:
                continue
            time = max(0, onset + int(rng.integers(-119, 120) if arbitrary else rng.integers(-10, 11)))
            note = Note(time, duration(), pitch, velocity())
            track.notes.append(note)
            sounding_until[pitch] = note.time + note.duration
        score.tracks.append(track)
    score.dump_midi(str(path))
    return path


def _metre_at(score, tick):
    current = (4, 4)
    for ts in score.time_signatures:
        if ts.time <= tick:
            current = (ts.numerator, ts.denominator)
    return current


def _expected_notes(score, tok):
    """Notes per (program, drum) quantised by hand to the tokenizer's grid, in quarter notes."""
    tpq = score.ticks_per_quarter
    candidates = [Fraction(b) + Fraction(p, r) for b, p, r in tok.durations]
    notes = defaultdict(list)
    for track in score.tracks:
        for note in track.notes:
            beat = Fraction(4, _metre_at(score, note.time)[1])  # a beat, in quarters
            step = beat / tok.config.max_num_pos_per_beat
            onset = round(Fraction(note.time, tpq) / step) * step
            # A note just before a metre change may be moved onto it: its duration is in new beats.
            beat = Fraction(4, _metre_at(score, onset * tpq)[1])
            duration = min(candidates, key=lambda c: abs(c - Fraction(note.duration, tpq) / beat)) * beat
            velocity = int(min(tok.velocities, key=lambda v: abs(int(v) - note.velocity)))
            notes[(-1 if track.is_drum else track.program)].append((onset, note.pitch, duration, velocity))
    return {key: sorted(value) for key, value in notes.items()}


def _decoded_notes(score):
    tpq = score.ticks_per_quarter
    notes = defaultdict(list)
    for track in score.tracks:
        for note in track.notes:
            notes[(-1 if track.is_drum else track.program)].append(
                (Fraction(note.time, tpq), note.pitch, Fraction(note.duration, tpq), note.velocity))
    return {key: sorted(value) for key, value in notes.items()}


@pytest.mark.parametrize("maker", ["factory", "mixed_metre"])
def test_round_trip_is_exact_up_to_quantisation(tok, tmp_path, maker):
    path = make_song(tmp_path / "song.mid") if maker == "factory" else _mixed_metre_song(tmp_path / "song.mid")
    score = read_score(path)
    ids = encode(tok, score)
    decoded = decode(tok, ids)
    expected = _expected_notes(score, tok)
    got = _decoded_notes(decoded)
    assert sorted(got) == sorted(expected)  # the same instruments, drums included
    assert -1 in got
    for key in expected:
        assert got[key] == expected[key], f"program {key}"
    # Drums stay drums; metre and tempo survive (tempo within the 2 BPM bins).
    assert any(track.is_drum for track in decoded.tracks)
    metres = [(Fraction(ts.time, decoded.ticks_per_quarter), ts.numerator, ts.denominator)
              for ts in decoded.time_signatures]
    original = [(Fraction(ts.time, score.ticks_per_quarter), ts.numerator, ts.denominator)
                for ts in score.time_signatures]
    assert metres == original
    for before, after in zip(score.tempos, decoded.tempos, strict=True):
        assert Fraction(after.time, decoded.ticks_per_quarter) == Fraction(before.time, score.ticks_per_quarter)
        assert abs(after.qpm - before.qpm) <= 1.0


def test_round_trip_of_arbitrary_times_equals_miditok_quantisation(tok, tmp_path):
    """Off-grid times of any value: decoding gives back exactly MidiTok's own quantised score."""
    score = read_score(_mixed_metre_song(tmp_path / "song.mid", arbitrary=True))
    decoded = decode(tok, encode(tok, score))
    expected = _decoded_notes(tok.preprocess_score(score))
    assert _decoded_notes(decoded) == expected
    assert sum(len(notes) for notes in expected.values()) == score.note_num()  # nothing dropped


def test_token_types_cover_the_vocabulary(tok):
    types = token_types(tok)
    assert len(types) == len(tok)
    counts = Counter(types.tolist())
    assert set(counts) == set(TOKEN_TYPES)
    assert counts["Pitch"] == 88 and counts["Velocity"] == 16 and counts["Program"] == 129
    assert counts["Bar"] == 1
    assert types[tok.vocab["PitchDrum_36"]] == "PitchDrum" and types[tok.vocab["Program_-1"]] == "Program"
    assert not any(name.startswith("Chord") for name in tok.vocab)  # chords are a separate stream


def test_timeline_of_hand_written_tokens(tok):
    names = ["BOS_None",
             "Bar_None", "TimeSig_3/4", "Position_0", "Program_0", "Pitch_60", "Velocity_63", "Duration_1.0.8",
             "Position_17", "Program_0", "Pitch_62", "Velocity_63", "Duration_0.4.8",
             "Bar_None", "TimeSig_3/4",  # an empty bar
             "Bar_None", "TimeSig_6/8", "Tempo_120.0", "Position_40", "Program_-1", "PitchDrum_36",
             "Velocity_63", "Duration_0.4.8",
             "Bar_None", "TimeSig_4/4", "Position_31", "Program_0"]
    ids = [tok.vocab[name] for name in names]
    bars, beats = token_timeline(tok, ids)
    assert bars.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]
    assert beats.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 3, 3, 6, 6, 6, 11, 11, 11, 11, 11,
                              12, 12, 15, 15]
    # The incremental helper gives the same, token by token.
    timeline = TokenTimeline(vocab_table(tok))
    assert [timeline.push(i) for i in ids] == list(zip(bars.tolist(), beats.tolist(), strict=True))
    assert timeline.beats_per_bar == 4 and timeline.position == 31


def _onset_beats_by_hand(score):
    """Global beat and bar of every note onset of the mixed-metre song (3/4, 3/4, 6/8, 6/8, 4/4...)."""
    beats, bars = [], []
    for track in score.tracks:
        for note in track.notes:
            q = Fraction(note.time, score.ticks_per_quarter)
            q = round(q * 8) / 8 if q < 6 else round(q * 16) / 16  # the tokenizer's grid
            if q < 6:  # two bars of 3/4: a beat is a quarter
                beats.append(int(q)), bars.append(int(q) // 3)
            elif q < 12:  # two bars of 6/8: a beat is an eighth
                beats.append(6 + int((q - 6) * 2)), bars.append(2 + int((q - 6) // 3))
            else:
                beats.append(18 + int(q - 12)), bars.append(4 + int((q - 12) // 4))
    return sorted(beats), sorted(bars)


def test_timeline_matches_note_onsets(tok, tmp_path):
    score = read_score(_mixed_metre_song(tmp_path / "m.mid"))
    ids = encode(tok, score)
    bars, beats = token_timeline(tok, ids)
    types = token_types(tok)[np.asarray(ids)]
    is_note = (types == "Pitch") | (types == "PitchDrum")
    expected_beats, expected_bars = _onset_beats_by_hand(score)
    assert sorted(beats[is_note].tolist()) == expected_beats
    assert sorted(bars[is_note].tolist()) == expected_bars
    assert np.all(np.diff(beats) >= 0) and np.all(np.diff(bars) >= 0)


def test_save_and_load(tok, tmp_path, song_midi):
    path = save_tokenizer(tok, tmp_path)
    assert path == tmp_path / "tokenizer.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid", "tokenizer.json"]  # no temp file left
    loaded = load_tokenizer(path)
    assert loaded.vocab == tok.vocab
    assert tokenizer_hash(loaded) == tokenizer_hash(tok)
    score = read_score(song_midi)
    assert encode(loaded, score) == encode(tok, score)


def test_load_errors(tmp_path):
    with pytest.raises(SymbolicError, match="not found"):
        load_tokenizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SymbolicError, match="not a tokenizer"):
        load_tokenizer(bad)
    other = tmp_path / "other.json"
    other.write_text('{"tokenization": "TSD"}')
    with pytest.raises(SymbolicError, match="REMI"):
        load_tokenizer(other)


def test_hash_changes_with_config(tok):
    from miditok import REMI, TokenizerConfig

    from symbolic.tokenizer import TOKENIZER_PARAMS

    other = REMI(TokenizerConfig(**{**TOKENIZER_PARAMS, "num_velocities": 8}))
    assert tokenizer_hash(other) != tokenizer_hash(tok)


@pytest.mark.parametrize("maker", ["factory", "mixed_metre"])
def test_timeline_agrees_with_analysis_beat_grid(tok, tmp_path, maker):
    from symbolic.analysis import beat_grid

    path = make_song(tmp_path / "s.mid") if maker == "factory" else _mixed_metre_song(tmp_path / "s.mid")
    score = read_score(path)
    grid = beat_grid(score)
    ids = encode(tok, score)
    bars, beats = token_timeline(tok, ids)
    types = token_types(tok)[np.asarray(ids)]
    is_note = (types == "Pitch") | (types == "PitchDrum")
    # Onsets snapped to the finest grid step of both songs (1/16 quarter) before asking the grid.
    step = score.ticks_per_quarter // 16 if maker == "mixed_metre" else score.ticks_per_quarter // 2
    onsets = np.array([round(n.time / step) * step for t in score.tracks for n in t.notes])
    assert sorted(beats[is_note].tolist()) == sorted(grid.beat_of(onsets).tolist())
    assert sorted(bars[is_note].tolist()) == sorted(grid.bar_of(onsets).tolist())
    # Every bar line of the tokens falls on the grid's bar line.
    is_bar = types == "Bar"
    assert bars[is_bar].tolist() == list(range(is_bar.sum()))
    assert beats[is_bar].tolist() == grid.bar_first_beat[:is_bar.sum()].tolist()
    assert grid.n_bars >= is_bar.sum()  # the grid also covers notes ringing past the last onset
