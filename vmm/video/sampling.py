"""Sampling decoded frames on regular time grids, by timestamp.

Grid time t_k = k / fps shows the frame a player would show at t_k: the last frame whose timestamp is
at or before t_k (sample and hold). This is right for variable frame rates and never drifts the way
counting frames does. Several grids (a dense low-resolution one for motion and cuts, a sparse one for
CLIP) are filled in one decoding pass, and a frame is converted to RGB only if some grid point needs
it, so skipped frames cost only their decoding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import av
import numpy as np

from vmm.video.reader import VideoInfo, VideoReader

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class GridSpec:
    """One sampling grid.

    Attributes:
        fps: grid points per second.
        size: output (width, height) in display orientation.
    """

    fps: float
    size: tuple[int, int]

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise ValueError(f"grid fps must be positive, got {self.fps}")
        if min(self.size) < 1:
            raise ValueError(f"grid frame size must be positive, got {self.size}")


@dataclass(frozen=True)
class GridSample:
    """A frame taken for one grid point.

    Attributes:
        spec: index of the grid in the list given to `sample_grids`.
        index: k, the grid point's index.
        time: k / fps, seconds from the first frame.
        frame_time: when the frame shown at `time` appeared (<= time).
        frame_end: when the next frame appears (the end of the video for the last frame).
        image: [H, W, 3] uint8 RGB in display orientation, H and W from the grid's size.
    """

    spec: int
    index: int
    time: float
    frame_time: float
    frame_end: float
    image: np.ndarray


def display_size(info: VideoInfo, *, longest: int | None = None, shortest: int | None = None) -> tuple[int, int]:
    """A (width, height) with the video's display aspect, scaled so one side has the given length.

    Never scales up beyond the display size when `longest` is given.
    """
    width, height = info.width, info.height
    if longest is not None:
        scale = min(1.0, longest / max(width, height))
    elif shortest is not None:
        scale = shortest / min(width, height)
    else:
        scale = 1.0
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def to_rgb(frame: av.VideoFrame, size: tuple[int, int], rotation: int) -> np.ndarray:
    """Convert a decoded frame to RGB at `size` (display orientation), applying the rotation.

    Returns:
        [H, W, 3] uint8 with (W, H) = size.
    """
    turns = (rotation // 90) % 4
    width, height = size if turns % 2 == 0 else size[::-1]
    image = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA")
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


class _Grid:
    """Bookkeeping of one grid: the next index to fill and the held frame's converted image."""

    def __init__(self, number: int, spec: GridSpec, rotation: int) -> None:
        self.number, self.spec, self.rotation = number, spec, rotation
        self.next_index = 0
        self.cache: np.ndarray | None = None

    def fill_until(self, end: float, held: av.VideoFrame, held_time: float) -> Iterator[GridSample]:
        """Samples of the held frame for every grid point before `end`."""
        while (time := self.next_index / self.spec.fps) < end - 1e-9:
            if self.cache is None:
                self.cache = to_rgb(held, self.spec.size, self.rotation)
            yield GridSample(self.number, self.next_index, time, held_time, end, self.cache)
            self.next_index += 1


def sample_grids(reader: VideoReader, specs: Sequence[GridSpec], callback: Progress | None = None
                 ) -> Iterator[GridSample]:
    """Stream grid samples of a video, all grids in one decoding pass.

    Samples of different grids interleave; within a grid they come in time order. Only the frame on
    screen is held, so memory does not grow with the video's length.

    Args:
        reader: an open `VideoReader`.
        specs: the grids to fill.
        callback: progress(done, total) counted in points of the first grid; total is None when the
            file does not state its duration.
    Yields:
        `GridSample`s.
    """
    grids = [_Grid(i, spec, reader.info.rotation) for i, spec in enumerate(specs)]
    header = reader.info.header_duration
    total = math.ceil(header * specs[0].fps) if header else None
    held, held_time = None, 0.0
    for time, _, frame in reader.frames():
        if held is not None:
            for grid in grids:
                yield from grid.fill_until(time, held, held_time)
            if callback is not None:
                callback(grids[0].next_index, total)
        held, held_time = frame, time
        for grid in grids:
            grid.cache = None
    end = reader.decoded_duration
    for grid in grids:
        yield from grid.fill_until(end, held, held_time)
    if callback is not None:
        callback(grids[0].next_index, grids[0].next_index)
