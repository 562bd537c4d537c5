import struct

import pytest

from symbolic.errors import MidiReadError
from symbolic.midi_io import is_midi_path, read_score


def _second_track(data: bytes) -> tuple[int, int]:
    """Byte offset of the second MTrk chunk's body and its length."""
    start = data.find(b"MTrk", 20)
    (size,) = struct.unpack(">I", data[start + 4:start + 8])
    return start + 8, size


def test_reads_multitrack_song(song_midi):
    score = read_score(song_midi)
    assert score.ticks_per_quarter > 0
    assert score.note_num() == 96 + 32 + 64 + 64
    assert sorted((t.program, t.is_drum) for t in score.tracks) == [(0, False), (0, True), (33, False), (73, False)]


def test_reads_rmi_wrapped_file(song_midi, tmp_path):
    midi = song_midi.read_bytes()
    # A LIST chunk of odd length before the data chunk checks the padding rule too.
    info = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\x00"
    body = b"RMID" + info + b"data" + struct.pack("<I", len(midi)) + midi
    rmi = tmp_path / "song.rmi"
    rmi.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert read_score(rmi).note_num() == read_score(song_midi).note_num()


def _error(path) -> str:
    with pytest.raises(MidiReadError) as info:
        read_score(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "nope.mid")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    assert "empty" in _error(path)


def test_not_midi(tmp_path):
    path = tmp_path / "text.mid"
    path.write_text("this is a text file pretending to be MIDI")
    assert "not a MIDI file" in _error(path)
    wav = tmp_path / "audio.rmi"
    wav.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")
    assert "not a MIDI file" in _error(wav)


def test_truncated_file(song_midi, tmp_path):
    data = song_midi.read_bytes()
    for cut in (10, 30, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.mid"
        path.write_bytes(data[:cut])
        assert "truncated" in _error(path)


def test_corrupt_bytes(song_midi, tmp_path):
    data = bytearray(song_midi.read_bytes())
    body, size = _second_track(bytes(data))
    # A data byte where a status byte must be: the chunk structure is intact, the events are not.
    data[body:body + size] = (b"\x00\x40" * size)[:size]
    path = tmp_path / "corrupt.mid"
    path.write_bytes(bytes(data))
    assert "corrupt" in _error(path)


def test_no_notes(tmp_path):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(program=0))
    path = tmp_path / "silent.mid"
    midi.write(str(path))
    assert "no notes" in _error(path)


def test_folder_is_not_a_file(tmp_path):
    folder = tmp_path / "x.mid"
    folder.mkdir()
    assert "folder" in _error(folder)


def test_is_midi_path():
    assert is_midi_path("a/b.MID") and is_midi_path("x.midi") and is_midi_path("y.rmi")
    assert not is_midi_path("z.wav")
