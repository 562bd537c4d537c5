import hashlib
import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from audio_render.audio_io import read_audio, write_audio
from audio_render.errors import AudioRenderError
from audio_render.mux import OUTPUT_RATE, mux_audio_onto_video, picture_copied, probe_video

AAC_FRAME_S = 1024 / OUTPUT_RATE


def make_video(path, seconds=2.0, fps=25, sound_amplitude=None, codec="libx264", sound_freq=220.0,
               first_frame=0, pix_fmt="yuv420p"):
    """A small test video made with PyAV: moving stripes, optionally a sine as its sound.

    `first_frame` > 0 starts the picture that many frames after the sound (a start offset).
    """
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width = video.height = 64
        video.pix_fmt = pix_fmt
        audio = container.add_stream("aac", rate=44100, layout="stereo") if sound_amplitude else None
        for i in range(int(round(seconds * fps))):
            image = np.zeros((64, 64, 3), np.uint8)
            image[:, :, 0] = (i * 10) % 256
            image[i % 64, :, 1] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = first_frame + i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            total = int(seconds * 44100)
            wave = (sound_amplitude * np.sin(2 * np.pi * sound_freq * np.arange(total) / 44100)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = np.stack([wave[start:start + 1024]] * 2)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = 44100, start
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path


def stream_facts(path):
    """Per stream type: (packet count, sha1 of all packet bytes, end time in seconds)."""
    with av.open(str(path)) as container:
        kinds = {s.index: s.type for s in container.streams}  # read before closing (PyAV segfaults after)
        found = {s.index: [0, hashlib.sha1(), 0.0] for s in container.streams}
        for packet in container.demux():
            if packet.pts is None:
                continue
            facts = found[packet.stream.index]
            facts[0] += 1
            facts[1].update(bytes(packet))
            facts[2] = max(facts[2], float((packet.pts + packet.duration) * packet.stream.time_base))
    return {kinds[i]: (n, h.hexdigest(), end) for i, (n, h, end) in found.items()}


def tone(path, seconds, freq=880.0, amplitude=0.3):
    t = np.arange(int(seconds * 44100)) / 44100
    write_audio(path, np.repeat((amplitude * np.sin(2 * np.pi * freq * t))[:, None], 2, axis=1), 44100)
    return path


def band_level(samples, freq):
    """Amplitude of one frequency in the left channel (a DFT bin)."""
    x = samples[:, 0].astype(np.float64)
    t = np.arange(len(x)) / OUTPUT_RATE
    return 2 * abs(np.mean(x * np.exp(-2j * np.pi * freq * t)))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return {
        "silent": make_video(folder / "silent.mp4"),
        "sound": make_video(folder / "sound.mp4", sound_amplitude=0.5),
        "odd": make_video(folder / "odd.mp4", seconds=1.96, codec="mpeg4", fps=25),
    }


@pytest.mark.parametrize("music_seconds", [0.7, 5.0])  # shorter (padded) and longer (cut and faded)
@pytest.mark.parametrize("kind", ["silent", "sound", "odd"])
def test_replace_copies_the_picture_and_matches_the_video_length(videos, tmp_path, kind, music_seconds):
    video = videos[kind]
    music = tone(tmp_path / "music.wav", music_seconds)
    out = tmp_path / "out.mp4"
    result = mux_audio_onto_video(video, music, out)
    assert result.mode == "replace" and result.path == out
    before, after = stream_facts(video), stream_facts(out)
    assert after["video"][:2] == before["video"][:2]  # bit-identical picture
    duration = probe_video(video).duration_s
    assert result.duration_s == pytest.approx(duration)
    assert abs(after["audio"][2] - duration) <= AAC_FRAME_S
    sound, rate = read_audio(out)
    assert rate == OUTPUT_RATE
    assert abs(sound.shape[0] / rate - duration) <= AAC_FRAME_S
    assert band_level(sound[: int(0.5 * rate)], 880) == pytest.approx(0.3, abs=0.05)
    assert band_level(sound[: int(0.5 * rate)], 220) < 0.01  # the original sound is gone
    tail = np.max(np.abs(sound[-int(0.05 * rate):]))
    if music_seconds < duration:
        assert tail < 1e-3  # padded with silence
    else:
        assert tail < 0.1  # faded out at the cut


def test_mix_keeps_the_original_under_the_music(videos, tmp_path):
    music = tone(tmp_path / "music.wav", 5.0)
    out = tmp_path / "mixed.mkv"
    result = mux_audio_onto_video(videos["sound"], music, out, mode="mix", original_gain_db=-6.0,
                                  music_gain_db=-3.0)
    assert result.mode == "mix"
    assert stream_facts(out)["video"][:2] == stream_facts(videos["sound"])["video"][:2]
    sound, _ = read_audio(out)
    middle = sound[int(0.5 * OUTPUT_RATE): int(1.5 * OUTPUT_RATE)]
    assert band_level(middle, 220) == pytest.approx(0.5 * 10 ** (-6 / 20), rel=0.15)
    assert band_level(middle, 880) == pytest.approx(0.3 * 10 ** (-3 / 20), rel=0.15)
    assert np.max(np.abs(sound)) <= 10 ** (-1 / 20) + 0.02  # limited under the ceiling


@pytest.mark.parametrize("suffix, mode", [(".mkv", "replace"), (".ts", "replace"), (".ts", "mix"), (".mp4", "mix")])
def test_music_starts_with_the_first_frame_of_a_late_starting_video(tmp_path, suffix, mode):
    video = make_video(tmp_path / f"late{suffix}", sound_amplitude=0.05, first_frame=12)  # picture from 0.48 s
    out = tmp_path / "out.mkv"
    mux_audio_onto_video(video, tone(tmp_path / "m.wav", 5.0), out, mode=mode)
    picture = probe_video(out)
    assert picture.start_s == pytest.approx(0.48, abs=0.06)
    sound, rate = read_audio(out)  # decoded from the output's time 0
    onset = np.flatnonzero(np.abs(sound[:, 0]) > 0.2)[0] / rate
    assert onset == pytest.approx(picture.start_s, abs=0.01)
    assert abs(sound.shape[0] / rate - picture.end_s) <= AAC_FRAME_S


def test_mix_on_a_silent_video_replaces(videos, tmp_path):
    result = mux_audio_onto_video(videos["silent"], tone(tmp_path / "m.wav", 1.0), tmp_path / "o.mp4", mode="mix")
    assert result.mode == "replace"
    assert "audio" in stream_facts(tmp_path / "o.mp4")


def test_progress_reaches_the_end(videos, tmp_path):
    calls = []
    mux_audio_onto_video(videos["silent"], tone(tmp_path / "m.wav", 1.0), tmp_path / "o.mp4",
                         callback=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == 2000


def test_a_file_without_picture_is_refused(tmp_path):
    music = tone(tmp_path / "music.wav", 1.0)
    with pytest.raises(AudioRenderError, match="no video stream"):
        mux_audio_onto_video(tone(tmp_path / "only_sound.flac", 1.0), music, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("case, message", [
    ("missing_video", "video not found"),
    ("corrupt_video", "cannot read video"),
    ("music_is_video_without_sound", "no audio stream"),
    ("bad_suffix", "use one of"),
    ("same_as_input", "is the input video"),
    ("bad_mode", "unknown mux mode"),
])
def test_bad_input_is_one_line_and_leaves_nothing(videos, tmp_path, case, message):
    video, music, out, mode = videos["silent"], tone(tmp_path / "m.wav", 1.0), tmp_path / "out.mp4", "replace"
    if case == "missing_video":
        video = tmp_path / "nothing.mp4"
    elif case == "corrupt_video":
        video = tmp_path / "corrupt.mp4"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    elif case == "music_is_video_without_sound":
        music = videos["silent"]
    elif case == "bad_suffix":
        out = tmp_path / "out.gif"
    elif case == "same_as_input":
        video = make_video(tmp_path / "in.mp4")
        out = video
    elif case == "bad_mode":
        mode = "blend"
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(AudioRenderError, match=message) as error:
        mux_audio_onto_video(video, music, out, mode=mode)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


GIF_DELAYS = [10] * 5 + [30] * 5  # hundredths of a second: a GIF's frames last as long as each says


def make_gif(path, width=33, height=21):
    """A small animated GIF (odd size, frames of two lengths), written with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "rgb8"
        pts = 0
        for i, delay in enumerate(GIF_DELAYS):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, (3 * i) % width] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="rgb8")
            frame.pts, frame.time_base = pts, Fraction(1, 100)
            pts += delay
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def frame_times(path):
    with av.open(str(path)) as container:
        return [round(float(frame.time), 3) for frame in container.decode(video=0)]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm"])
def test_a_gif_is_re_encoded_with_its_frame_times(tmp_path, caplog, suffix):
    gif = make_gif(tmp_path / "anim.gif")
    out = tmp_path / f"out{suffix}"
    with caplog.at_level(logging.INFO, logger="audio_render.mux"):
        result = mux_audio_onto_video(gif, tone(tmp_path / "m.wav", 5.0), out)
    assert any("re-encoding" in r.message and "anim.gif" in r.message for r in caplog.records)
    picture = probe_video(out)
    assert picture.video_codec == ("vp9" if suffix == ".webm" else "h264")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (34, 22)  # padded to an even size for 4:2:0
    times = frame_times(out)
    expected = np.cumsum([0] + GIF_DELAYS[:-1]) / 100
    np.testing.assert_allclose(np.asarray(times) - times[0], expected, atol=0.011)
    sound, rate = read_audio(out)
    assert abs(sound.shape[0] / rate - picture.end_s) <= 2 * AAC_FRAME_S
    assert result.duration_s == pytest.approx(probe_video(gif).duration_s)


def test_which_pictures_are_copied():
    assert picture_copied("h264", ".mp4") and picture_copied("vp9", ".webm") and picture_copied("prores", ".mkv")
    assert picture_copied("mjpeg", ".mov") and picture_copied("png", ".mov")
    for codec, suffix in [("gif", ".mp4"), ("gif", ".mkv"), ("gif", ".mov"), ("mjpeg", ".mp4"), ("png", ".mp4"),
                          ("prores", ".mp4"), ("h264", ".webm"), (None, ".mkv")]:
        assert not picture_copied(codec, suffix), (codec, suffix)


def test_mjpeg_in_mp4_is_re_encoded_and_in_mov_copied(tmp_path):
    video = make_video(tmp_path / "mjpeg.mkv", codec="mjpeg", seconds=0.6, pix_fmt="yuvj420p")
    music = tone(tmp_path / "m.wav", 1.0)
    mux_audio_onto_video(video, music, tmp_path / "out.mp4")
    assert probe_video(tmp_path / "out.mp4").video_codec == "h264"
    mux_audio_onto_video(video, music, tmp_path / "out.mov")
    assert stream_facts(tmp_path / "out.mov")["video"][:2] == stream_facts(video)["video"][:2]
