"""Opening a video file with PyAV and streaming its decoded frames in presentation order.

What a player shows is what counts: rotation metadata (display matrix, or a legacy `rotate` tag),
non-square pixels (sample aspect ratio) and the time of the first frame are read here; frame times
are given in seconds from the first video frame, whatever the file's start time. Packets that fail
to decode are skipped with one warning at the end; files without a video stream, without a decodable
frame, or that are not media files at all raise `VMMError` with a one-line message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vmm.errors import VMMError
from vmm.paths import check_input_file

log = logging.getLogger(__name__)

# A file whose decoded length falls short of its header by more than this is reported as truncated.
TRUNCATION_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class VideoInfo:
    """What a player would show, read from the headers and the first frame.

    Attributes:
        width, height: display size in pixels, after non-square pixels and rotation are applied.
        coded_width, coded_height: size of the decoded pictures.
        rotation: counter-clockwise degrees (0, 90, 180, 270) the pictures are turned for display.
        sample_aspect_ratio: width of a pixel relative to its height.
        start_time: timestamp (s) of the first video frame in the file; frame times count from it.
        header_duration: duration (s) stated by the headers, or None when the file does not say.
        average_fps: frame rate stated by the headers, or None.
    """

    path: Path
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    sample_aspect_ratio: Fraction
    start_time: float
    header_duration: float | None
    average_fps: float | None


def _open_container(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), "r")
    except av.FFmpegError as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise VMMError(f"cannot read {path} as a video ({reason}); give a video file such as .mp4, .mov or .mkv") \
            from None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
        raise VMMError(f"{path} has no video stream (streams found: {kinds}); give a file with pictures")
    return container.streams.video[0]


def _legacy_rotation(stream) -> int:
    """The old `rotate` tag (clockwise degrees), as counter-clockwise degrees."""
    try:
        return -int(float(stream.metadata.get("rotate", "0")))
    except ValueError:
        return 0


def _quarter_turns(degrees: float) -> int:
    """Counter-clockwise degrees rounded to the nearest quarter turn, as 0..3."""
    return int(round(degrees / 90.0)) % 4


def count_missing_frames(intervals: list[float]) -> int:
    """Frames lost in a constant-frame-rate stream, judged from the gaps between frame times.

    Only a stream whose intervals are nearly all equal (90% within 10% of the median) is judged: in a
    variable-frame-rate stream long gaps are normal.
    """
    if len(intervals) < 10:
        return 0
    gaps = np.asarray(intervals)
    typical = float(np.median(gaps))
    if typical <= 0 or np.mean(np.abs(gaps - typical) <= 0.1 * typical) < 0.9:
        return 0
    long = gaps[gaps > 1.5 * typical]
    return int(np.sum(np.round(long / typical) - 1))


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


class VideoReader:
    """Streams the decoded frames of a file's first video stream; use as a context manager.

    Args:
        path: the video file.
        threads: let FFmpeg decode with several threads (frame and slice threading).
    """

    def __init__(self, path: str | os.PathLike, *, threads: bool = True) -> None:
        self.path = check_input_file(path, "video")
        self._threads = threads
        self._container = _open_container(self.path)
        try:
            self._stream = _video_stream(self._container, self.path)
            self.skipped_packets = 0
            self.info = self._probe()
        except BaseException:
            self._container.close()
            raise
        self.skipped_packets = 0
        self.missing_frames = 0
        self.decoded_duration: float | None = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _probe(self) -> VideoInfo:
        stream = self._stream
        first = self._first_frame()
        rotation = first.rotation if first.rotation else _legacy_rotation(stream)
        turns = _quarter_turns(rotation)
        sar = stream.sample_aspect_ratio or Fraction(1)
        if sar <= 0:
            sar = Fraction(1)
        display_w = max(1, int(round(first.width * float(sar))))
        display_h = first.height
        if turns % 2:
            display_w, display_h = display_h, display_w
        start = first.time if first.time is not None else (_seconds(stream.start_time, stream.time_base) or 0.0)
        header = _seconds(stream.duration, stream.time_base)
        if header is None and self._container.duration is not None:
            # Some muxers (Matroska) state the end time rather than the length: subtract the start,
            # which can only make the estimate shorter (it is used for progress and truncation checks).
            header = max(0.0, self._container.duration / av.time_base - start)
        rate = stream.average_rate or stream.guessed_rate
        # Start again for `frames()`: the first frame was decoded only to read its size and rotation
        # (reopening is cheap and, unlike seeking, exact for every container).
        self._reopen()
        return VideoInfo(
            path=self.path, codec=stream.codec_context.name, width=display_w, height=display_h,
            coded_width=first.width, coded_height=first.height, rotation=turns * 90,
            sample_aspect_ratio=Fraction(sar), start_time=float(start), header_duration=header,
            average_fps=float(rate) if rate else None,
        )

    def _reopen(self) -> None:
        self._container.close()
        self._container = _open_container(self.path)
        self._stream = self._container.streams.video[0]

    def _first_frame(self) -> av.VideoFrame:
        for frame in self._decode():
            return frame
        raise VMMError(f"no frame of {self.path} could be decoded (the file is damaged or empty); "
                       "re-encode or re-download it")

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order, skipping packets that fail to decode."""
        stream = self._stream
        if self._threads:
            stream.thread_type = "AUTO"
        packets = self._container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as error:  # a damaged container: keep what was read so far
                log.debug("demuxing %s stopped: %s", self.path, error)
                self.skipped_packets += 1
                packet = None
            try:
                frames = stream.decode(packet)
            except av.FFmpegError as error:
                log.debug("skipping a broken packet of %s: %s", self.path, error)
                self.skipped_packets += 1
                continue
            yield from frames
            if packet is None:
                return

    def frames(self) -> Iterator[tuple[float, float | None, av.VideoFrame]]:
        """Decoded frames with their times in seconds from the first frame, in presentation order.

        Frames whose timestamp does not advance are dropped (damaged timing). After the iterator
        ends, `decoded_duration` holds the end time of the last frame, and a warning is logged when
        packets were skipped or the file is shorter than its header says (a truncated file).

        Yields:
            (time s, duration s or None, frame); the frame stays valid until the next one is taken.
        """
        start = self.info.start_time
        last_time, last_duration = None, None
        intervals: list[float] = []
        for frame in self._decode():
            time = frame.time
            if time is None:
                if last_time is None:
                    time = start
                else:
                    time = start + last_time + (last_duration or 1.0 / (self.info.average_fps or 25.0))
            time -= start
            if last_time is not None and time <= last_time:
                self.skipped_packets += 1
                continue
            duration = _seconds(frame.duration, frame.time_base) if frame.duration else None
            if last_time is not None:
                intervals.append(time - last_time)
            last_time, last_duration = time, duration
            yield time, duration, frame
        if last_time is None:
            raise VMMError(f"no frame of {self.path} could be decoded (the file is damaged); re-encode or re-download it")
        if not intervals:
            raise VMMError(f"{self.path} holds a single picture, not a video; give a video file")
        fallback = 1.0 / self.info.average_fps if self.info.average_fps else 0.04
        self.decoded_duration = last_time + (last_duration or fallback)
        self.missing_frames = count_missing_frames(intervals)
        self._warn_if_damaged()

    def _warn_if_damaged(self) -> None:
        header = self.info.header_duration
        short = header is not None and self.decoded_duration < header - TRUNCATION_TOLERANCE_S
        if self.skipped_packets or self.missing_frames or short:
            details = []
            if self.skipped_packets:
                details.append(f"{self.skipped_packets} damaged packet(s) skipped")
            if self.missing_frames:
                details.append(f"{self.missing_frames} frame(s) missing")
            if short:
                details.append(f"decoded {self.decoded_duration:.2f} s of the {header:.2f} s its header states")
            log.warning("%s looks damaged (%s); features cover what could be decoded", self.path.name,
                        "; ".join(details))
