import struct

import mido
import numpy as np
import pytest

from audio_render.audio_io import read_audio
from audio_render.errors import AudioRenderError
from audio_render.loudness import integrated_loudness, peak_dbfs
from audio_render.render import AUDIBLE_DB, FADE_SECONDS, read_midi_for_render, render_midi
from audio_render.synth import BLOCK_FRAMES, SILENCE_DB, SynthRequest, load_binding, synthesize


def onset_seconds(samples, sample_rate, threshold=1e-3):
    """Time of the first sample above `threshold`."""
    return int(np.flatnonzero(np.max(np.abs(samples), axis=1) > threshold)[0]) / sample_rate


def test_render_wav_keeps_the_tail_cuts_the_silence_and_hits_the_loudness(song_midi, small_soundfont, tmp_path):
    out = tmp_path / "song.wav"
    result = render_midi(song_midi, out, soundfont=small_soundfont, target_lufs=-16.0, peak_ceiling_db=-1.0)
    audio, rate = read_audio(out)
    _, end = read_midi_for_render(song_midi)
    assert end == pytest.approx(16.0 - 0.05, abs=0.06)  # 8 bars at 120 BPM, last notes end early
    assert result.path == out and result.sample_rate == rate == 44100 and audio.shape[1] == 2
    assert result.duration_s == pytest.approx(audio.shape[0] / rate, abs=1e-6)
    assert result.soundfont == small_soundfont
    # The release after the last note-off is kept, and at most a fade follows the last audible sample.
    assert end + 0.1 < result.duration_s < end + 5.0
    level = np.max(np.abs(audio), axis=1)
    last_audible = np.flatnonzero(level > level.max() * 10 ** (AUDIBLE_DB / 20))[-1] / rate
    assert result.duration_s - last_audible <= FADE_SECONDS + 0.01
    assert level[-1] < 1e-3  # faded to (near) zero: no click at the cut
    assert integrated_loudness(audio, rate) == pytest.approx(-16.0, abs=0.2)
    assert result.loudness_lufs == pytest.approx(-16.0, abs=0.01) or result.peak_dbfs == pytest.approx(-1.0, abs=0.01)
    assert peak_dbfs(audio) <= -1.0 + 0.01


def test_flac_and_sample_rate(song_midi, small_soundfont, tmp_path):
    out = tmp_path / "song.flac"
    result = render_midi(song_midi, out, soundfont=small_soundfont, sample_rate=22050)
    audio, rate = read_audio(out)
    assert rate == 22050 and result.sample_rate == 22050
    assert audio.shape[0] / rate == pytest.approx(result.duration_s, abs=1e-6)
    assert out.read_bytes()[:4] == b"fLaC"


def test_note_timing_is_sample_accurate_and_follows_tempo_changes(tmp_path, small_soundfont):
    # Two beats at 60 BPM (2 s), then 120 BPM: a note on beat 4 sounds at 2 + 2 * 0.5 = 3.0 s.
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=960))
    track.append(mido.Message("program_change", program=0, channel=0, time=0))
    track.append(mido.Message("note_on", note=60, velocity=110, channel=0, time=960))
    track.append(mido.Message("note_off", note=60, velocity=0, channel=0, time=480))
    path = tmp_path / "tempo.mid"
    midi.save(str(path))
    data, end = read_midi_for_render(path)
    assert end == pytest.approx(3.5)
    raw = synthesize(SynthRequest(data, small_soundfont, 44100, end, tail_seconds=2.0))
    assert onset_seconds(raw, 44100) == pytest.approx(3.0, abs=0.005)


def test_drums_play_on_channel_10(tmp_path, small_soundfont, single_note):
    path = single_note(tmp_path / "kick.mid", 0.5, 0.6, pitch=36, is_drum=True)
    data, end = read_midi_for_render(path)
    raw = synthesize(SynthRequest(data, small_soundfont, 44100, end))
    assert onset_seconds(raw, 44100) == pytest.approx(0.5, abs=0.005)


def test_tail_stops_at_silence_or_at_the_limit(tmp_path, small_soundfont, single_note):
    path = single_note(tmp_path / "one.mid", 0.0, 0.5, program=0)
    data, end = read_midi_for_render(path)
    free = synthesize(SynthRequest(data, small_soundfont, 44100, end, tail_seconds=10.0))
    assert free.shape[0] / 44100 < end + 10.0  # stopped because the tail went silent
    assert np.max(np.abs(free[-BLOCK_FRAMES:])) <= np.max(np.abs(free)) * 10 ** (SILENCE_DB / 20)
    capped = synthesize(SynthRequest(data, small_soundfont, 44100, end, tail_seconds=0.0))
    assert capped.shape[0] == int(np.ceil(end * 44100))


def test_cli_backend_matches_the_library(song_midi, small_soundfont, tmp_path):
    lib = render_midi(song_midi, tmp_path / "lib.wav", soundfont=small_soundfont, backend="library")
    cli = render_midi(song_midi, tmp_path / "cli.wav", soundfont=small_soundfont, backend="cli")
    assert cli.duration_s == pytest.approx(lib.duration_s, abs=0.2)
    assert cli.gain_db == pytest.approx(lib.gain_db, abs=0.1)
    a, _ = read_audio(tmp_path / "lib.wav")
    b, _ = read_audio(tmp_path / "cli.wav")
    n = min(len(a), len(b))
    assert np.corrcoef(a[:n, 0], b[:n, 0])[0, 1] > 0.99  # same notes at the same times


def test_auto_falls_back_to_the_program_without_the_binding(song_midi, small_soundfont, tmp_path, monkeypatch):
    monkeypatch.setattr("audio_render.synth.load_binding", lambda: None)
    result = render_midi(song_midi, tmp_path / "out.wav", soundfont=small_soundfont)
    assert result.duration_s > 16
    with pytest.raises(AudioRenderError, match="library cannot be loaded"):
        render_midi(song_midi, tmp_path / "out2.wav", soundfont=small_soundfont, backend="library")


def test_binding_is_usable_here():
    assert load_binding() is not None


def test_progress_callback(song_midi, small_soundfont, tmp_path):
    calls = []
    render_midi(song_midi, tmp_path / "out.wav", soundfont=small_soundfont,
                callback=lambda done, total: calls.append((done, total)))
    assert len(calls) > 10
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]


def test_rmi_file_renders(song_midi, small_soundfont, tmp_path):
    data = song_midi.read_bytes()
    body = b"data" + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
    rmi = tmp_path / "song.rmi"
    rmi.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"RMID" + body)
    result = render_midi(rmi, tmp_path / "rmi.wav", soundfont=small_soundfont)
    assert result.duration_s > 16


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    (b"", "empty"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x00\x90", "truncated"),
    (b"hello, this is text", "not a MIDI file"),
])
def test_bad_midi_is_one_line_and_leaves_nothing(tmp_path, small_soundfont, content, message):
    path = tmp_path / "bad.mid"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioRenderError, match=message) as error:
        render_midi(path, tmp_path / "out.wav", soundfont=small_soundfont)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["bad.mid"] if content is not None else [])


def test_midi_without_notes(tmp_path, small_soundfont):
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000)]))
    midi.save(str(tmp_path / "empty.mid"))
    with pytest.raises(AudioRenderError, match="no notes"):
        render_midi(tmp_path / "empty.mid", tmp_path / "out.wav", soundfont=small_soundfont)


@pytest.mark.parametrize("out_name, message", [
    ("out.mp3", "use a .wav or .flac"),
    ("missing_dir/out.wav", "does not exist"),
])
def test_bad_output_path(song_midi, small_soundfont, tmp_path, out_name, message):
    with pytest.raises(AudioRenderError, match=message):
        render_midi(song_midi, tmp_path / out_name, soundfont=small_soundfont)


def test_bad_settings(song_midi, small_soundfont, tmp_path):
    with pytest.raises(AudioRenderError, match="sample rate"):
        render_midi(song_midi, tmp_path / "x.wav", soundfont=small_soundfont, sample_rate=200_000)
    with pytest.raises(AudioRenderError, match="peak ceiling"):
        render_midi(song_midi, tmp_path / "x.wav", soundfont=small_soundfont, peak_ceiling_db=3.0)
    with pytest.raises(AudioRenderError, match="backend"):
        render_midi(song_midi, tmp_path / "x.wav", soundfont=small_soundfont, backend="gpu")


def test_existing_file_is_replaced_only_when_complete(song_midi, small_soundfont, tmp_path, monkeypatch):
    out = tmp_path / "out.wav"
    out.write_bytes(b"old")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("audio_render.render.write_audio", broken)
    with pytest.raises(AudioRenderError, match="No space left"):
        render_midi(song_midi, out, soundfont=small_soundfont)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name != "song.mid"] == ["out.wav"]
