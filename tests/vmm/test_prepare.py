import json
from pathlib import Path

import numpy as np
import pytest
from support.midi_factory import make_song
from symusic import Score, TimeSignature

from symbolic.analysis import beat_grid, chords_per_beat, estimate_key
from symbolic.chords import parse_pop909_label
from symbolic.midi_io import read_score
from symbolic.tokenizer import load_tokenizer, token_timeline, tokenizer_hash
from vmm.cli import main
from vmm.data.pop909 import align_to_beats
from vmm.data.shards import ShardIndex, load_shard, split_of, write_shard
from vmm.errors import VMMError

PROGRESSION = ["C:maj", "A:min", "F:maj", "G:maj"]  # the factory song's bars
BEAT_S = 0.5  # 120 BPM


def _pop909_song(folder: Path, lead_s: float = 2.25) -> Path:
    """A POP909-style song folder: the factory song starting `lead_s` late, its MIDI saying 1/4 (as
    POP909's do), with beat, chord and key files whose beats lie half a beat off tick 0."""
    folder.mkdir(parents=True)
    song = make_song(folder / f"{folder.name}.mid", bars=8)
    score = Score(str(song))
    shifted = score.shift_time(int(round(lead_s / BEAT_S * score.ticks_per_quarter)))
    shifted.time_signatures = [TimeSignature(0, 1, 4)]
    shifted.dump_midi(str(song))
    # Beats from 0.25 s; the song's bars start at lead_s, so downbeats are every 4th beat from k = 0.
    beats = [f"{0.25 + k * BEAT_S} 1.0 {1.0 if k % 4 == 0 else 0.0}" for k in range(4 + 32)]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    chords = [f"0.0\t{lead_s}\tN"]
    for bar in range(8):
        start = lead_s + bar * 4 * BEAT_S
        chords.append(f"{start}\t{start + 4 * BEAT_S}\t{PROGRESSION[bar % 4]}")
    (folder / "chord_midi.txt").write_text("\n".join(chords) + "\n")
    (folder / "key_audio.txt").write_text(f"0.0\t{lead_s + 16}\tA:min\n")
    return song


def _prepare(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["prepare", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_pop909_folder_is_aligned_and_annotated(tmp_path, capsys):
    _pop909_song(tmp_path / "data" / "001")
    out = tmp_path / "out"
    code, stdout, _ = _prepare(["--midi-dir", str(tmp_path / "data"), "--annotations", "pop909",
                                "--out", str(out), "--workers", "1"], capsys)
    assert code == 0, stdout
    assert "1 songs" in stdout
    shard = load_shard(out / "shards" / "001.npz")
    # The first note is on a downbeat, so after alignment the song is 8 bars of 4/4 from tick 0.
    assert len(shard["density"]) == 8
    assert shard["density"].tolist() == [32.0] * 8  # 12 piano + 4 bass + 8 flute + 8 drum onsets
    assert shard["bar_first_beat"].tolist() == list(range(0, 33, 4))
    expected = [parse_pop909_label(PROGRESSION[beat // 4 % 4]) for beat in range(32)]
    assert shard["chords"].tolist() == expected
    assert int(shard["key"]) == 9 + 12  # A minor from key_audio.txt
    assert float(shard["tempo"]) == pytest.approx(120.0, abs=0.01)
    tok = load_tokenizer(out / "tokenizer.json")
    names = [tok[int(i)] for i in shard["tokens"][:3]]
    assert names == ["Bar_None", "TimeSig_4/4", "Position_0"]
    bars, beats = token_timeline(tok, shard["tokens"])
    assert np.array_equal(bars, shard["bar"]) and np.array_equal(beats, shard["beat"])
    assert shard["strength"].shape == (32,) and shard["strength"].max() == pytest.approx(1.0)
    # Onset strength follows the beats of the music: the drums' beats 1 and 3 are strongest.
    assert np.all(shard["strength"][0::4] >= shard["strength"][1::4])
    manifest = json.loads((out / "manifest.json").read_text())
    [song] = manifest["songs"]
    assert song["chords"] == "pop909" and song["key"] == "pop909" and song["n_bars"] == 8
    assert manifest["tokenizer_hash"] == tokenizer_hash(tok)


def test_without_annotations_chords_and_key_come_from_the_notes(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    song = make_song(data / "song.mid")
    out = tmp_path / "out"
    code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(out), "--workers", "1"], capsys)
    assert code == 0
    shard = load_shard(out / "shards" / "song.npz")
    score = read_score(song)
    grid = beat_grid(score)
    assert shard["chords"].tolist() == chords_per_beat(score, grid).tolist()
    tonic, mode = estimate_key(score)
    assert int(shard["key"]) == tonic + 12 * (mode == "minor")
    assert shard["bar_first_beat"].tolist() == grid.bar_first_beat.tolist()
    assert ShardIndex(out).songs()[0].chords == "recognised"


def test_align_to_beats_follows_irregular_bars(tmp_path):
    """Downbeats 4, 4, then a 2-beat bar, then 4s: a 2/4 bar is inserted and every downbeat is a bar line."""
    folder = tmp_path / "x"
    song = _pop909_song(folder)
    downbeats = {0, 4, 8, 10, 14, 18, 22, 26, 30, 34}
    (folder / "beat_midi.txt").write_text(
        "\n".join(f"{0.25 + k * BEAT_S} 1.0 {1.0 if k in downbeats else 0.0}" for k in range(36)) + "\n")
    score = read_score(song)
    aligned, alignment = align_to_beats(score, folder / "beat_midi.txt")
    tpq = score.ticks_per_quarter
    # The first note (at downbeat k=4) is the start of bar 0.
    assert alignment.time_signatures == ((0, 4), (4 * tpq, 2), (6 * tpq, 4))
    assert aligned.note_num() == score.note_num()
    first = min(int(t.notes.numpy()["time"].min()) for t in aligned.tracks)
    assert first == 0
    grid = beat_grid(aligned)
    bar_lines = set(grid.bar_ticks.tolist())
    assert {(k - 4) * tpq for k in downbeats if k >= 4} <= bar_lines


def test_bad_files_are_skipped_with_reasons(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    make_song(data / "good.mid")
    make_song(data / "sub" / "deep.MIDI", bars=4)
    (data / "empty.mid").write_bytes(b"")
    (data / "text.mid").write_text("not midi at all")
    (data / "cut.mid").write_bytes((data / "good.mid").read_bytes()[:200])
    import pretty_midi

    silent = pretty_midi.PrettyMIDI()
    silent.instruments.append(pretty_midi.Instrument(0))
    silent.write(str(data / "silent.mid"))
    (data / "notes.txt").write_text("ignored: not a MIDI suffix")
    out = tmp_path / "out"
    code, stdout, _ = _prepare(["--midi-dir", str(data), "--out", str(out), "--workers", "2"], capsys)
    assert code == 0
    index = ShardIndex(out)
    assert sorted(song.stem for song in index.songs()) == ["deep", "good"]
    reasons = {Path(skip.path).name: skip.reason for skip in index.manifest.skipped}
    assert set(reasons) == {"empty.mid", "text.mid", "cut.mid", "silent.mid"}
    assert "empty" in reasons["empty.mid"] and "not a MIDI" in reasons["text.mid"]
    assert "truncated" in reasons["cut.mid"] and "no notes" in reasons["silent.mid"]
    assert "skipped 4 file(s)" in stdout
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["deep.npz", "good.npz"]  # no temp files


def test_split_is_stable_and_manifest_lists_shards(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for n in range(6):
        make_song(data / f"s{n}.mid", bars=2)
    runs = []
    for name in ("a", "b"):
        code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(tmp_path / name), "--workers", "1",
                               "--val-fraction", "0.3"], capsys)
        assert code == 0
        runs.append({s.stem: s.split for s in ShardIndex(tmp_path / name).songs()})
    assert runs[0] == runs[1]
    hashed = {stem: split_of(stem, 0.3) for stem in runs[0]}
    if "val" in hashed.values():  # else the song with the smallest hash was moved to val
        assert runs[0] == hashed
    assert "val" in runs[0].values() and "train" in runs[0].values()
    index = ShardIndex(tmp_path / "a")
    assert len(index.paths("train")) + len(index.paths("val")) == 6 == len(index)
    assert all(path.is_file() for path in index.paths())
    totals = json.loads((tmp_path / "a" / "manifest.json").read_text())["totals"]
    assert totals["songs"] == 6 and totals["tokens"] == sum(s.n_tokens for s in index.songs())
    # The hash split alone: the same stem always lands in the same split.
    assert split_of("001", 0.05) == split_of("001", 0.05)
    assert sum(split_of(f"{n:03d}", 0.1) == "val" for n in range(2000)) == pytest.approx(200, abs=40)


def test_same_stem_in_two_folders_gets_distinct_shards(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "b").mkdir()
    make_song(data / "a" / "song.mid", bars=2)
    make_song(data / "b" / "song.mid", bars=3)
    code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(tmp_path / "out"), "--workers", "1"], capsys)
    assert code == 0
    assert sorted(s.stem for s in ShardIndex(tmp_path / "out").songs()) == ["a__song", "b__song"]


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    cases = [
        ["--midi-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o1")],
        ["--midi-dir", str(data), "--out", str(tmp_path / "o2")],  # no MIDI files in it
    ]
    for args in cases:
        code, _, err = _prepare(args, capsys)
        assert code == 2
        assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_non_empty_out_needs_force(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    make_song(data / "one.mid", bars=2)
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / "stale.npz").write_bytes(b"old")
    code, _, err = _prepare(["--midi-dir", str(data), "--out", str(out)], capsys)
    assert code == 2 and "--force" in err and err.count("\n") == 1
    code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(out), "--force", "--workers", "1"], capsys)
    assert code == 0
    assert [p.name for p in (out / "shards").iterdir()] == ["one.npz"]  # the earlier run's shard is gone


def test_rmi_files_are_found_and_read(tmp_path, capsys):
    import struct

    data = tmp_path / "data"
    data.mkdir()
    midi = make_song(tmp_path / "x.mid", bars=2).read_bytes()
    body = b"RMID" + b"data" + struct.pack("<I", len(midi)) + midi
    (data / "wrapped.rmi").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(tmp_path / "out"), "--workers", "1"], capsys)
    assert code == 0
    assert [s.stem for s in ShardIndex(tmp_path / "out").songs()] == ["wrapped"]


def test_shard_checks(tmp_path):
    good = {"tokens": np.arange(4), "bar": np.zeros(4), "beat": np.array([0, 0, 1, 3]),
            "density": np.array([4.0]), "strength": np.ones(4), "chords": np.zeros(4),
            "bar_first_beat": np.array([0, 4]), "key": np.array(0), "tempo": np.array(120.0)}
    path = write_shard(tmp_path / "ok.npz", good)
    assert load_shard(path)["tokens"].dtype == np.int32
    with pytest.raises(VMMError, match="after the last bar or beat"):
        write_shard(tmp_path / "bad.npz", {**good, "beat": np.array([0, 0, 1, 4])})
    assert not (tmp_path / "bad.npz").exists()
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(VMMError, match="cannot be read"):
        load_shard(tmp_path / "broken.npz")
    with pytest.raises(VMMError, match="vmm prepare"):
        ShardIndex(tmp_path)


def test_song_with_only_unrepresentable_notes_is_skipped(tmp_path, capsys):
    import pretty_midi

    data = tmp_path / "data"
    data.mkdir()
    make_song(data / "ok.mid", bars=2)
    midi = pretty_midi.PrettyMIDI()
    high = pretty_midi.Instrument(0)
    high.notes.append(pretty_midi.Note(100, 120, 0.0, 1.0))  # above the piano's 108
    midi.instruments.append(high)
    midi.write(str(data / "high.mid"))
    code, _, _ = _prepare(["--midi-dir", str(data), "--out", str(tmp_path / "out"), "--workers", "1"], capsys)
    assert code == 0
    [skip] = ShardIndex(tmp_path / "out").manifest.skipped
    assert Path(skip.path).name == "high.mid" and "no notes the tokenizer can represent" in skip.reason


def test_pop909_tracks_get_distinct_role_programs(tmp_path, capsys):
    """POP909's MELODY, BRIDGE and PIANO tracks are all piano; the shards give each role its program."""
    folder = tmp_path / "data" / "002"
    song = _pop909_song(folder)
    score = Score(str(song))
    for track, name in zip(score.tracks, ["MELODY", "BRIDGE", "PIANO"], strict=False):
        track.name, track.program = name, 0
    score.dump_midi(str(song))
    out = tmp_path / "out"
    code, stdout, _ = _prepare(["--midi-dir", str(tmp_path / "data"), "--annotations", "pop909",
                                "--out", str(out), "--workers", "1"], capsys)
    assert code == 0, stdout
    tok = load_tokenizer(out / "tokenizer.json")
    programs = {tok[int(i)] for i in load_shard(out / "shards" / "002.npz")["tokens"]
                if tok[int(i)].startswith("Program_")}
    assert {"Program_73", "Program_11", "Program_0"} <= programs


def test_no_progress_bar_when_not_on_a_terminal(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    make_song(data / "one.mid", bars=2)
    code, out, err = _prepare(["--midi-dir", str(data), "--out", str(tmp_path / "out"), "--workers", "1"], capsys)
    assert code == 0 and err == "" and out.startswith("1 songs")


def test_midi_dir_that_is_a_file_names_its_folder(tmp_path, capsys):
    song = make_song(tmp_path / "good.mid", bars=2)
    code, _, err = _prepare(["--midi-dir", str(song), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "is a file, not a folder" in err and f"({tmp_path})" in err and "not found" not in err
    assert not (tmp_path / "out").exists()


def _all_bad_folder(tmp_path: Path) -> Path:
    data = tmp_path / "bad_midi"
    data.mkdir()
    (data / "a_text.mid").write_text("not midi at all")
    (data / "b_empty.mid").write_bytes(b"")
    return data


def test_when_every_file_is_bad_no_output_folder_is_left(tmp_path, capsys):
    data = _all_bad_folder(tmp_path)
    out = tmp_path / "out"
    code, stdout, err = _prepare(["--midi-dir", str(data), "--out", str(out), "--workers", "1"], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "none of the 2 MIDI file(s)" in err and "a_text.mid" in err and "not a MIDI" in err
    assert not out.exists() and stdout == ""


def test_when_every_file_is_bad_an_earlier_preparation_is_kept(tmp_path, capsys):
    good = tmp_path / "good_midi"
    good.mkdir()
    make_song(good / "one.mid", bars=2)
    out = tmp_path / "out"
    assert _prepare(["--midi-dir", str(good), "--out", str(out), "--workers", "1"], capsys)[0] == 0
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = _prepare(["--midi-dir", str(_all_bad_folder(tmp_path)), "--out", str(out), "--force",
                             "--workers", "1"], capsys)
    assert code == 2 and "none of the 2" in err
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
