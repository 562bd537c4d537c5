"""Reading videos: rotation, non-square pixels, start times, variable frame rate, damaged files."""

import logging
from fractions import Fraction

import numpy as np
import pytest
from support.video_factory import (
    corrupt_middle,
    make_audio_only,
    make_not_a_video,
    make_video,
    truncate_file,
)

from vmm.cli import main
from vmm.errors import VMMError
from vmm.video.features import extract_features
from vmm.video.reader import VideoReader, count_missing_frames
from vmm.video.sampling import GridSpec, display_size, sample_grids


def first_image(path, longest=64):
    with VideoReader(path) as reader:
        spec = GridSpec(10.0, display_size(reader.info, longest=longest))
        return reader.info, next(iter(sample_grids(reader, [spec]))).image


def marker_box(image):
    ys, xs = np.nonzero(image.min(axis=-1) > 200)
    return ys.min(), ys.max(), xs.min(), xs.max()


def test_plain_video_info(tmp_path):
    info, image = first_image(make_video(tmp_path / "plain.mp4", duration=1.0))
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.start_time == 0.0
    assert image.shape == (48, 64, 3)
    y0, _, x0, _ = marker_box(image)
    assert (y0, x0) == (0, 0)  # the marker is drawn top-left


def test_rotated_clip_reads_with_swapped_dims(tmp_path):
    info, image = first_image(make_video(tmp_path / "rot.mp4", duration=1.0, rotation=90))
    assert (info.width, info.height, info.rotation) == (120, 160, 90)
    assert image.shape == (64, 48, 3)
    # 90 degrees counter-clockwise (what ffmpeg's autorotate shows): top-left goes to bottom-left.
    y0, y1, x0, _ = marker_box(image)
    assert x0 == 0 and y1 == image.shape[0] - 1 and y0 > image.shape[0] // 2


def test_non_square_pixels_widen_the_picture(tmp_path):
    info, image = first_image(make_video(tmp_path / "sar.mp4", size=(80, 120), duration=1.0,
                                         sample_aspect_ratio=Fraction(2, 1)))
    assert (info.width, info.height) == (160, 120)
    assert image.shape == (48, 64, 3)


def test_late_start_times_count_from_the_first_frame(tmp_path):
    path = make_video(tmp_path / "late.mkv", duration=3.0, start_time=2.5, cuts=[1.2], audio=True)
    features = extract_features(path, use_clip=False, use_cache=False)
    assert features.start_time == pytest.approx(2.5)
    assert features.duration == pytest.approx(3.0, abs=0.05)
    assert features.times[0] == 0.0 and len(features.times) == 30
    assert features.cuts == [pytest.approx(1.2, abs=0.1)]


def test_variable_frame_rate_is_sampled_by_timestamp(tmp_path):
    times = [0.0, 0.1, 0.15, 0.5, 0.52, 1.0]
    path = make_video(tmp_path / "vfr.mkv", frame_times=times, fps=25.0)
    with VideoReader(path) as reader:
        samples = list(sample_grids(reader, [GridSpec(10.0, (32, 24))]))
    shown = [s.frame_time for s in samples]
    # Grid point t shows the last frame at or before t.
    assert shown == pytest.approx([0.0, 0.1, 0.15, 0.15, 0.15, 0.5, 0.52, 0.52, 0.52, 0.52, 1.0])


def test_truncated_file_yields_features_with_a_warning(tmp_path, caplog):
    source = make_video(tmp_path / "full.mkv", duration=4.0, cuts=[1.0])
    truncated = truncate_file(source, tmp_path / "cut.mkv", keep=0.5)
    with caplog.at_level(logging.WARNING):
        features = extract_features(truncated, use_clip=False, use_cache=False)
    assert 0.5 < features.duration < 3.5
    assert features.cuts == [pytest.approx(1.0, abs=0.1)]
    assert any("looks damaged" in r.message for r in caplog.records)


def test_truncated_mp4_without_index_is_a_clear_error(tmp_path):
    source = make_video(tmp_path / "full.mp4", duration=2.0)  # index (moov) at the end
    truncated = truncate_file(source, tmp_path / "cut.mp4", keep=0.5)
    with pytest.raises(VMMError, match="cannot read"):
        extract_features(truncated, use_clip=False, use_cache=False)


def test_damage_in_the_middle_is_skipped_with_a_warning(tmp_path, caplog):
    source = make_video(tmp_path / "full.ts", duration=4.0, cuts=[1.0, 3.0])
    damaged = corrupt_middle(source, tmp_path / "bad.ts", at=0.5, length=3000)
    with caplog.at_level(logging.WARNING):
        features = extract_features(damaged, use_clip=False, use_cache=False)
    assert features.duration == pytest.approx(4.0, abs=0.1)  # frames after the damage still decode
    assert features.cuts[0] == pytest.approx(1.0, abs=0.1)
    assert any("looks damaged" in r.message for r in caplog.records)


def test_missing_frames_count_only_in_constant_rate_streams():
    regular = [0.04] * 20
    assert count_missing_frames(regular) == 0
    assert count_missing_frames(regular[:10] + [0.16] + regular[10:]) == 3
    assert count_missing_frames([0.04, 0.5, 0.02, 0.3, 0.04, 0.1, 0.7, 0.04, 0.02, 0.9, 0.04]) == 0


@pytest.mark.parametrize("maker, message", [
    (lambda d: make_audio_only(d / "song.m4a"), "no video stream"),
    (lambda d: make_not_a_video(d / "notes.mp4"), "cannot read"),
])
def test_not_a_video_fails_with_one_line(tmp_path, capsys, maker, message):
    path = maker(tmp_path)
    with pytest.raises(VMMError, match=message):
        extract_features(path, use_clip=False, use_cache=False)
    assert main(["features", str(path), "--out", str(tmp_path / "f.npz"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not (tmp_path / "f.npz").exists()


def test_a_still_image_is_not_a_video(tmp_path):
    import av

    with av.open(str(tmp_path / "still.png"), "w") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb24"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((24, 32, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode())
    with pytest.raises(VMMError, match="single picture"):
        extract_features(tmp_path / "still.png", use_clip=False, use_cache=False)


def test_missing_and_empty_files_fail_clearly(tmp_path):
    with pytest.raises(VMMError, match="not found"):
        extract_features(tmp_path / "nope.mp4", use_clip=False, use_cache=False)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VMMError, match="empty"):
        extract_features(tmp_path / "empty.mp4", use_clip=False, use_cache=False)
