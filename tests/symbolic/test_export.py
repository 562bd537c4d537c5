import zipfile

import matplotlib.image
import mido
import music21
import numpy as np
import pretty_midi
import pytest
import symusic
from support.midi_factory import make_song
from symusic import Note, Score, Tempo, TimeSignature, Track

from symbolic.chords import N_CHORDS, chord_name, chord_pitch_classes
from symbolic.errors import SymbolicError
from symbolic.export import draw_pianoroll, parse_key, plot_pianoroll, write_midi, write_musicxml
from symbolic.export.midi import DRUM_CHANNEL, key_name, prepare_score
from symbolic.export.musicxml import chord_symbol
from symbolic.midi_io import read_score

NAMES = ["Piano", "Bass", "Flute", "Drums"]
PROGRAMS = [0, 33, 73, 0]
CHORD_NAMES = ["C", "Am", "F", "G"] * 2


@pytest.fixture
def song(tmp_path) -> Score:
    return read_score(make_song(tmp_path / "in.mid", bars=8))


def bar_chords(score: Score) -> list[tuple[int, str]]:
    return [(i * 4 * score.ticks_per_quarter, name) for i, name in enumerate(CHORD_NAMES)]


@pytest.fixture
def exported(song, tmp_path):
    path = write_midi(song, tmp_path / "out.mid", key="A minor", chords=bar_chords(song), title="My Song")
    return song, path


def score_of(*tracks: tuple[str, int, bool], notes: int = 4, tpq: int = 480) -> Score:
    score = Score(tpq)
    for name, program, is_drum in tracks:
        track = Track(name, program, is_drum)
        for i in range(notes):
            track.notes.append(Note(i * tpq, tpq // 2, 36 + (i % 5) if is_drum else 60 + i, 90))
        score.tracks.append(track)
    return score


# --- MIDI ---------------------------------------------------------------------------------------------

def test_mido_reads_conductor_tracks_and_channels(exported):
    song, path = exported
    midi = mido.MidiFile(path)
    assert midi.type == 1 and len(midi.tracks) == 5
    conductor = midi.tracks[0]
    assert conductor.name == "My Song"
    tick, markers, texts, metas = 0, [], [], {}
    for message in conductor:
        tick += message.time
        if message.type == "marker":
            markers.append((tick, message.text))
        elif message.type == "text":
            texts.append((tick, message.text))
        elif message.is_meta:
            metas.setdefault(message.type, message)
    assert markers == bar_chords(song) == texts
    assert metas["key_signature"].key == "Am"
    assert metas["set_tempo"].tempo == 500_000
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (4, 4)
    assert not any(m.type == "note_on" for m in conductor)
    names, channels = [], []
    for track in midi.tracks[1:]:
        names.append(track.name)
        used = {m.channel for m in track if hasattr(m, "channel")}
        assert len(used) == 1
        channels.append(used.pop())
        program = [m.program for m in track if m.type == "program_change"]
        assert program == [PROGRAMS[len(names) - 1]]
    assert names == NAMES
    assert channels[3] == DRUM_CHANNEL and DRUM_CHANNEL not in channels[:3] and len(set(channels)) == 4


def test_pretty_midi_reads_it(exported):
    song, path = exported
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [i.name for i in pm.instruments] == NAMES
    assert [i.program for i in pm.instruments] == PROGRAMS
    assert [i.is_drum for i in pm.instruments] == [False, False, False, True]
    assert [len(i.notes) for i in pm.instruments] == [t.note_num() for t in song.tracks]
    _, tempi = pm.get_tempo_changes()
    assert tempi.tolist() == pytest.approx([120.0])
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(4, 4)]
    assert pretty_midi.key_number_to_key_name(pm.key_signature_changes[0].key_number) == "A minor"
    assert [(e.time, e.text) for e in pm.text_events] == [(2.0 * i, c) for i, c in enumerate(CHORD_NAMES)]


def test_symusic_reads_it_with_the_same_notes(exported):
    song, path = exported
    back = symusic.Score(str(path))
    assert [(t.name, t.program, t.is_drum) for t in back.tracks] == list(
        zip(NAMES, PROGRAMS, [False, False, False, True], strict=True))
    for original, read in zip(song.tracks, back.tracks, strict=True):
        a, b = original.notes.numpy(), read.notes.numpy()
        for field in ("time", "duration", "pitch", "velocity"):
            np.testing.assert_array_equal(np.sort(a[field]), np.sort(b[field]))
    assert [round(t.qpm) for t in back.tempos] == [120]
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(4, 4)]
    assert [(k.key, k.tonality) for k in back.key_signatures] == [(0, 1)]
    assert [(m.time, m.text) for m in back.markers] == bar_chords(song)


def test_music21_reads_it(exported):
    _, path = exported
    parsed = music21.converter.parse(str(path))
    assert [p.partName for p in parsed.parts] == NAMES
    for part, program in zip(parsed.parts[:3], PROGRAMS, strict=False):
        # music21 also guesses an instrument from the name ("Bass" -> a singer); the program is there too
        assert program in [i.midiProgram for i in part.getInstruments(recurse=True)]
    drums = parsed.parts[3]
    assert any(i.midiChannel == DRUM_CHANNEL for i in drums.getInstruments(recurse=True))
    assert all(isinstance(n, music21.note.Unpitched) for n in _hits(drums))
    key = parsed.recurse().getElementsByClass(music21.key.Key).first()
    assert (key.tonic.name, key.mode) == ("A", "minor")
    assert parsed.recurse().getElementsByClass(music21.meter.TimeSignature).first().ratioString == "4/4"
    assert parsed.recurse().getElementsByClass(music21.tempo.MetronomeMark).first().number == 120


def test_track_names_default_to_instrument_and_are_unique(tmp_path):
    score = score_of(("", 0, False), ("", 0, False), ("", 1, False), (" Lead  ", 81, False), ("Lead", 80, False),
                     ("", 0, True), ("", 0, False))
    score.tracks.append(Track("empty", 5, False))  # no notes: left out
    path = write_midi(score, tmp_path / "names.mid")
    names = [t.name for t in mido.MidiFile(path).tracks[1:]]
    assert names == ["Piano", "Piano 2", "Bright Piano", "Lead", "Lead 2", "Drums", "Piano 3"]
    assert mido.MidiFile(path).tracks[0].name == ""  # no title: an unnamed conductor track


def test_many_tracks_never_put_melody_on_channel_10(tmp_path):
    tracks = [(f"t{i}", i % 12, False) for i in range(18)]
    tracks.insert(4, ("kit", 0, True))
    tracks.insert(11, ("kit 2", 25, True))
    path = write_midi(score_of(*tracks, notes=1), tmp_path / "many.mid")
    for track in mido.MidiFile(path).tracks[1:]:
        channels = {m.channel for m in track if hasattr(m, "channel")}
        is_drum = track.name.startswith("kit")
        assert channels == {DRUM_CHANNEL} if is_drum else DRUM_CHANNEL not in channels, track.name
    back = symusic.Score(str(path))
    assert sum(t.is_drum for t in back.tracks) == 2 and len(back.tracks) == 20


def test_score_meta_kept_without_arguments(tmp_path):
    score = score_of(("", 40, False), notes=16)
    score.tempos.extend([Tempo(0, qpm=90), Tempo(4 * 480, qpm=140)])
    score.time_signatures.extend([TimeSignature(0, 3, 4), TimeSignature(3 * 480, 6, 8)])
    score.key_signatures.append(symusic.KeySignature(0, -3, 0))
    score.markers.append(symusic.TextMeta(480, "Intro"))
    back = symusic.Score(str(write_midi(score, tmp_path / "meta.mid")))
    assert [(t.time, round(t.qpm)) for t in back.tempos] == [(0, 90), (1920, 140)]
    assert [(t.time, t.numerator, t.denominator) for t in back.time_signatures] == [(0, 3, 4), (1440, 6, 8)]
    assert [(k.key, k.tonality) for k in back.key_signatures] == [(-3, 0)]
    assert [(m.time, m.text) for m in back.markers] == [(480, "Intro")]
    assert back.tracks[0].name == "Violin"


def test_chords_replace_markers_and_no_chord_is_spelled(tmp_path):
    score = score_of(("", 0, False))
    score.markers.append(symusic.TextMeta(0, "old"))
    path = write_midi(score, tmp_path / "c.mid", chords=[(960, "G7"), (0, "N"), (480, "F#m7b5")])
    assert [(m.time, m.text) for m in symusic.Score(str(path)).markers] == [(0, "N.C."), (480, "F#m7b5"), (960, "G7")]


def test_score_in_seconds_is_converted(song, tmp_path):
    back = symusic.Score(str(write_midi(song.to("second"), tmp_path / "s.mid")))
    assert back.note_num() == song.note_num()
    assert back.tracks[0].notes[4].time == pytest.approx(song.tracks[0].notes[4].time, abs=1)


@pytest.mark.parametrize(("text", "fifths", "minor", "name"), [
    ("A minor", 0, True, "A minor"), ("F# major", 6, False, "F# major"), ("Bb", -2, False, "Bb major"),
    ("Ebm", -6, True, "Eb minor"), ("C:maj", 0, False, "C major"), ("a:min", 0, True, "A minor"),
    ("G# major", -4, False, "Ab major"), ("D# minor", 6, True, "D# minor"), ("b minor", 2, True, "B minor"),
    ("F sharp minor", 3, True, "F# minor"), ("Cb major", -7, False, "Cb major"), ("Db", -5, False, "Db major"),
])
def test_parse_key(text, fifths, minor, name):
    assert parse_key(text) == (fifths, minor)
    assert key_name(fifths, minor) == name


@pytest.mark.parametrize("key", ["H minor", "", "A dorian", "C##"])
def test_bad_key(song, tmp_path, key):
    with pytest.raises(SymbolicError, match="unknown key"):
        write_midi(song, tmp_path / "k.mid", key=key)
    assert not list(tmp_path.glob("k*"))


@pytest.mark.parametrize("chords", [[(-1, "C")], [(0, "")], [(0,)], [("x", "C")]])
def test_bad_chords(song, tmp_path, chords):
    with pytest.raises(SymbolicError, match="chord"):
        write_midi(song, tmp_path / "c.mid", chords=chords)


def test_empty_scores_are_refused(tmp_path):
    empty_tracks = Score(480)
    empty_tracks.tracks.append(Track("piano", 0, False))
    for score in (Score(480), empty_tracks):
        for write in (write_midi, write_musicxml, plot_pianoroll):
            with pytest.raises(SymbolicError, match="no notes"):
                write(score, tmp_path / "x.out")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SymbolicError, match="symusic Score"):
        write_midi("not a score", tmp_path / "x.mid")


def test_unwritable_paths(song, tmp_path):
    for write, suffix in ((write_midi, ".mid"), (write_musicxml, ".musicxml"), (plot_pianoroll, ".png")):
        with pytest.raises(SymbolicError, match="does not exist"):
            write(song, tmp_path / "missing" / f"x{suffix}")


def test_prepare_score_leaves_the_input_alone(song):
    song.tracks[0].name = ""
    prepared = prepare_score(song)
    assert prepared.tracks[0].name == "Piano" and song.tracks[0].name == ""


# --- MusicXML -----------------------------------------------------------------------------------------

def _hits(part):
    """Every sounding note of a part (chord members counted, tie continuations not)."""
    hits = []
    for element in part.recurse().notes:
        if isinstance(element, music21.harmony.ChordSymbol):  # chord symbols are music21 chords too
            continue
        for note in element.notes if isinstance(element, music21.chord.ChordBase) else [element]:
            tie = note.tie if note.tie is not None else element.tie
            if tie is None or tie.type == "start":
                hits.append(note)
    return hits


def test_musicxml_parses_back(song, tmp_path):
    path = write_musicxml(song, tmp_path / "out.musicxml", title="My Song", chords=bar_chords(song))
    text = path.read_text()
    assert "Music21</creator>" not in text and "<time-modification" not in text
    parsed = music21.converter.parse(str(path))
    assert parsed.metadata.bestTitle == "My Song"
    assert [p.partName for p in parsed.parts] == NAMES
    assert [len(_hits(p)) for p in parsed.parts] == [t.note_num() for t in song.tracks]
    programs = [p.getInstrument().midiProgram for p in parsed.parts[:3]]
    assert programs == PROGRAMS[:3]
    drums = parsed.parts[3]
    assert isinstance(drums.recurse().getElementsByClass(music21.clef.Clef).first(), music21.clef.PercussionClef)
    positions = {(n.displayStep, n.displayOctave) for n in _hits(drums)}
    assert positions == {("F", 4), ("C", 5), ("G", 5)}  # kick, snare, closed hat
    symbols = parsed.parts[0].recurse().getElementsByClass(music21.harmony.ChordSymbol)
    assert [s.figure for s in symbols] == CHORD_NAMES
    key = parsed.recurse().getElementsByClass(music21.key.KeySignature).first()
    assert key is None or key.sharps == 0


def test_musicxml_from_midi_path_and_mxl(song, tmp_path):
    midi = write_midi(song, tmp_path / "song.mid", key="F# major", chords=bar_chords(song))
    path = write_musicxml(midi, tmp_path / "song.mxl")
    assert zipfile.is_zipfile(path)
    parsed = music21.converter.parse(str(path))
    assert len(parsed.parts) == 4
    symbols = parsed.parts[0].recurse().getElementsByClass(music21.harmony.ChordSymbol)
    assert [s.figure for s in symbols] == CHORD_NAMES  # the MIDI file's chord markers
    assert parsed.recurse().getElementsByClass(music21.key.KeySignature).first().sharps == 6
    with pytest.raises(SymbolicError, match="not found"):
        write_musicxml(tmp_path / "nope.mid", tmp_path / "x.musicxml")


def test_musicxml_quantises_performed_timing_without_tuplets(tmp_path):
    score = read_score(make_song(tmp_path / "in.mid", bars=4))
    rng = np.random.default_rng(0)
    for track in score.tracks:  # humanise: +-15 ticks at 220 per quarter (about 7% of a beat)
        n = track.notes.numpy()
        time = np.maximum(n["time"] + rng.integers(-15, 16, len(n["time"])), 0).astype(np.int32)
        duration = np.maximum(n["duration"] + rng.integers(-15, 16, len(n["time"])), 5).astype(np.int32)
        track.notes = type(track.notes).from_numpy(time, duration, n["pitch"], n["velocity"])
    plain = write_musicxml(score, tmp_path / "plain.musicxml").read_text()
    assert "<time-modification" not in plain and "<grace" not in plain
    parsed = music21.converter.parse(str(tmp_path / "plain.musicxml"))
    assert [len(_hits(p)) for p in parsed.parts] == [t.note_num() for t in score.tracks]
    with pytest.raises(SymbolicError, match="quarter_divisors"):
        write_musicxml(score, tmp_path / "bad.musicxml", quarter_divisors=())


def test_chord_symbols_for_the_whole_vocabulary():
    for cid in range(1, N_CHORDS):
        symbol = chord_symbol(chord_name(cid))
        assert {p.pitchClass for p in symbol.pitches} == set(chord_pitch_classes(cid)), chord_name(cid)


@pytest.mark.parametrize(("label", "root", "bass", "pitch_classes"), [
    ("Ebmaj7", "E-", "E-", {3, 7, 10, 2}), ("G/B", "G", "B", {7, 11, 2}), ("Bb/D", "B-", "D", {10, 2, 5}),
    ("A:min7", "A", "A", {9, 0, 4, 7}), ("Db:maj6", "D-", "D-", {1, 5, 8, 10}), ("C♯m", "C#", "C#", {1, 4, 8}),
    ("CmMaj7/G", "C", "G", {0, 3, 7, 11}), ("C9", "C", "C", {0, 4, 7, 10, 2}),
])
def test_chord_symbol_labels(label, root, bass, pitch_classes):
    symbol = chord_symbol(label)
    assert (symbol.root().name, symbol.bass().name) == (root, bass)
    assert {p.pitchClass for p in symbol.pitches} == pitch_classes


@pytest.mark.parametrize("label", ["N", "N.C.", "", "xyz", "H7"])
def test_chord_symbol_none(label):
    assert chord_symbol(label) is None


def test_musicxml_chord_symbols_with_flats(song, tmp_path):
    tpq = song.ticks_per_quarter
    chords = [(0, "Bb"), (2 * tpq, "Eb:maj7"), (4 * tpq, "N"), (8 * tpq, "F#m7b5/C"), (12 * tpq, "nonsense")]
    parsed = music21.converter.parse(str(write_musicxml(song, tmp_path / "c.musicxml", chords=chords)))
    symbols = parsed.parts[0].recurse().getElementsByClass(music21.harmony.ChordSymbol)
    got = [(s.getOffsetInHierarchy(parsed.parts[0]), s.root().name, s.bass().name) for s in symbols]
    assert got == [(0.0, "B-", "B-"), (2.0, "E-", "E-"), (8.0, "F#", "C")]


# --- piano roll ---------------------------------------------------------------------------------------

def test_pianoroll_png(song, tmp_path):
    path = plot_pianoroll(song, tmp_path / "roll.png", chords=bar_chords(song), title="My Song")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width > 1000 and 400 < height < width
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # tracks in colour, not a blank canvas


def test_pianoroll_content(song):
    figure = draw_pianoroll(song, chords=bar_chords(song), title="My Song")
    legend = figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == NAMES
    colours = [tuple(h.get_facecolor()) for h in legend.legend_handles]
    assert len(set(colours)) == 4
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert [t for t in texts if t in {"C", "Am", "F", "G"}] == CHORD_NAMES
    assert [str(b) for b in range(1, 9)] == [t for t in texts if t.isdigit()]
    assert "My Song" in figure._suptitle.get_text() and "120 BPM" in figure._suptitle.get_text()
    drum_labels = [t.get_text() for t in figure.axes[-1].get_yticklabels()]
    assert drum_labels == ["Kick", "Snare", "Closed hat"]
    bare = draw_pianoroll(song, bar_lines=False)
    assert not any(t.get_text().isdigit() for ax in bare.axes for t in ax.texts)


def test_pianoroll_melodic_only_and_drums_only(tmp_path):
    melodic = score_of(("Lead", 81, False))
    drums = score_of(("", 0, True))
    assert len(draw_pianoroll(melodic).axes) == 2  # bar strip + roll
    assert len(draw_pianoroll(drums, bar_lines=False).axes) == 1
    assert plot_pianoroll(drums, tmp_path / "d.png").stat().st_size > 0


def test_pianoroll_dense_chord_labels_do_not_collide(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    score = read_score(make_song(tmp_path / "long.mid", bars=30, tempo=100))
    names = ["Cmaj7", "Am7", "F#m7b5", "G7sus4", "Dm9", "E7/G#"]
    chords = [(i * 2 * score.ticks_per_quarter, names[i % 6]) for i in range(60)]  # two per bar
    figure = draw_pianoroll(score, chords=chords)
    FigureCanvasAgg(figure).draw()  # lays the figure out, so text extents are final
    labels = [t for t in figure.axes[0].texts if t.get_text() in names]
    assert len(labels) >= 50
    for row in {t.get_position()[1] for t in labels}:
        boxes = sorted((t.get_window_extent() for t in labels if t.get_position()[1] == row), key=lambda b: b.x0)
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_non_ascii_text_is_written_as_utf8(tmp_path):
    score = score_of(("Klavier é 夜", 0, False))
    path = write_midi(score, tmp_path / "u.mid", title="Café – 夜", chords=[(0, "C♯m")])
    back = symusic.Score(str(path))
    assert back.tracks[0].name == "Klavier é 夜"
    assert [m.text for m in back.markers] == ["C♯m"]
    assert mido.MidiFile(path, charset="utf-8").tracks[0].name == "Café – 夜"


def test_parse_key_reads_every_key_the_analysis_names():
    from symbolic.analysis import key_name as analysis_key_name

    for tonic in range(12):
        for mode in ("major", "minor"):
            fifths, minor = parse_key(analysis_key_name(tonic, mode))
            assert minor == (mode == "minor")
            assert (7 * fifths + (9 if minor else 0)) % 12 == tonic  # the signature's tonic
