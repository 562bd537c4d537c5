"""Small test videos written with PyAV, with known answers.

`make_video` draws a square moving horizontally over a plain background. Its speed (pixels per
second) is piecewise constant and changes at known times, hard cuts (a new background and square
colour) happen at known times, and the file can carry rotation metadata, non-square pixels, a late
start time, irregular frame times (variable frame rate) or an audio track. Helpers make broken files:
truncated, corrupted in the middle, audio only, not a video at all.

Other tests reuse this module (`from support.video_factory import make_video`).
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

# Background / square colours of successive shots: each differs strongly from its neighbours.
SHOT_COLOURS = [
    ((20, 30, 120), (250, 220, 40)),
    ((200, 60, 30), (30, 240, 230)),
    ((30, 150, 60), (240, 40, 200)),
    ((230, 230, 230), (10, 10, 10)),
    ((90, 20, 110), (250, 250, 120)),
]

TIME_BASE = fractions.Fraction(1, 1000)


def square_positions(times: np.ndarray, speeds: Sequence[tuple[float, float]], travel: float,
                     pulse_period: float | None = None) -> np.ndarray:
    """Left edge of the square at each time, bouncing between 0 and `travel` pixels.

    Args:
        times: [T] seconds.
        speeds: (start time s, speed px/s) pairs, sorted; the speed holds until the next start.
        pulse_period: if set, the square moves only in the first half of each period (rests in the
            second half), which gives a visual rhythm with that period.
    Returns:
        [T] positions in pixels.
    """
    starts = np.array([s for s, _ in speeds], dtype=float)
    values = np.array([v for _, v in speeds], dtype=float)
    fine = np.arange(0.0, float(times.max(initial=0.0)) + 2e-3, 1e-3)
    speed = values[np.clip(np.searchsorted(starts, fine, side="right") - 1, 0, None)]
    if pulse_period is not None:
        speed = np.where((fine % pulse_period) < pulse_period / 2, speed, 0.0)
    distance = np.concatenate([[0.0], np.cumsum(speed[:-1]) * 1e-3])
    travelled = np.interp(times, fine, distance)
    phase = travelled % (2 * travel)
    return np.where(phase < travel, phase, 2 * travel - phase)


def render_frame(t: float, x: float, size: tuple[int, int], shot: int, marker: bool = True) -> np.ndarray:
    """One RGB frame [H, W, 3] uint8: background, moving square, and a white corner marker."""
    width, height = size
    background, square = SHOT_COLOURS[shot % len(SHOT_COLOURS)]
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = background
    side = max(4, min(width, height) // 4)
    top = (height - side) // 2
    left = int(round(x))
    frame[top:top + side, left:left + side] = square
    if marker:  # top-left marker, to check orientation after rotation
        frame[: max(2, height // 8), : max(2, width // 6)] = 255
    return frame


def make_video(
    path: str | Path,
    *,
    size: tuple[int, int] = (160, 120),
    fps: float = 25.0,
    duration: float = 4.0,
    speeds: Sequence[tuple[float, float]] = ((0.0, 40.0),),
    cuts: Sequence[float] = (),
    rotation: int = 0,
    start_time: float = 0.0,
    sample_aspect_ratio: fractions.Fraction | None = None,
    frame_times: Sequence[float] | None = None,
    pulse_period: float | None = None,
    codec: str = "libx264",
    audio: bool = False,
    container_format: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a small video and return its path.

    Args:
        size: coded (width, height); even numbers for yuv420p.
        speeds: (time s, speed px/s) pairs: the square's speed changes at these times.
        cuts: times (s, from the first frame) of hard cuts to a new shot.
        rotation: display rotation metadata, degrees counter-clockwise (90 = a player shows the
            frame turned a quarter to the left, with width and height swapped).
        start_time: timestamp of the first frame (a clip that starts late).
        sample_aspect_ratio: non-square pixels (e.g. 2 = each pixel is twice as wide as high).
        frame_times: explicit frame times (s, from the first frame) for variable frame rate;
            default a regular grid at `fps` over `duration`.
        pulse_period: the square moves in the first half of each period only (visual rhythm).
        audio: add a silent AAC track as long as the video.
        container_format: force a muxer (e.g. "matroska", "mpegts"); default from the suffix.
        options: muxer options (e.g. {"movflags": "faststart"}).
    """
    path = Path(path)
    width, height = size
    times = np.asarray(frame_times if frame_times is not None else np.arange(int(round(duration * fps))) / fps,
                       dtype=float)
    side = max(4, min(width, height) // 4)
    xs = square_positions(times, speeds, travel=width - side, pulse_period=pulse_period)
    shots = np.searchsorted(np.asarray(sorted(cuts), dtype=float), times + 1e-9, side="right")
    container = av.open(str(path), "w", format=container_format, options=options or {})
    stream = container.add_stream(codec, rate=fractions.Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = TIME_BASE
    if codec == "libx264":
        stream.options = {"preset": "ultrafast"}
    if sample_aspect_ratio is not None:
        stream.codec_context.sample_aspect_ratio = fractions.Fraction(sample_aspect_ratio)
    if rotation:
        stream.set_display_rotation(rotation)
    audio_stream = container.add_stream("aac", rate=22050, layout="mono") if audio else None
    for t, x, shot in zip(times, xs, shots, strict=True):
        frame = av.VideoFrame.from_ndarray(render_frame(t, x, size, int(shot)), format="rgb24")
        frame.pts = int(round((start_time + t) * 1000))
        frame.time_base = TIME_BASE
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
    if audio_stream is not None:
        _write_silence(container, audio_stream, float(times[-1]) + 1.0 / fps, start_time)
    container.close()
    return path


def _write_silence(container, stream, duration: float, start_time: float) -> None:
    rate, block = 22050, 1024
    start = int(round(start_time * rate))
    for i in range(math.ceil(duration * rate / block)):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, block), np.float32), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start + i * block
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def make_audio_only(path: str | Path, duration: float = 2.0) -> Path:
    """An AAC file with no video stream (e.g. `clip.m4a` or `clip.mp4`)."""
    path = Path(path)
    container = av.open(str(path), "w", format="mp4" if path.suffix in (".mp4", ".m4a", ".mov") else None)
    stream = container.add_stream("aac", rate=22050, layout="mono")
    _write_silence(container, stream, duration, 0.0)
    container.close()
    return path


def make_not_a_video(path: str | Path) -> Path:
    """A text file with a video suffix."""
    path = Path(path)
    path.write_text("this is not a video, only text with a .mp4 name\n" * 20)
    return path


def truncate_file(source: str | Path, target: str | Path, keep: float = 0.5) -> Path:
    """Copy the first `keep` fraction of `source`'s bytes to `target` (a download cut short)."""
    data = Path(source).read_bytes()
    Path(target).write_bytes(data[: int(len(data) * keep)])
    return Path(target)


def corrupt_middle(source: str | Path, target: str | Path, at: float = 0.5, length: int = 4000,
                   seed: int = 0) -> Path:
    """Copy `source` with `length` bytes of noise written at fraction `at` of the file."""
    data = bytearray(Path(source).read_bytes())
    start = int(len(data) * at)
    noise = np.random.default_rng(seed).integers(0, 256, size=min(length, len(data) - start), dtype=np.uint8)
    data[start:start + len(noise)] = noise.tobytes()
    Path(target).write_bytes(bytes(data))
    return Path(target)
