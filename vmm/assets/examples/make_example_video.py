"""Write the bundled example video `example.mp4`: 16 s, 640x360, 25 fps, three shots.

Shot 1 (0-5 s): a slow orange disc drifting over a warm gradient. Shot 2 (5-10.5 s): a blue
square bouncing fast on a dark background, pulsing every 0.6 s. Shot 3 (10.5-16 s): calm green
stripes sliding slowly. So the clip has hard cuts at 5.0 s and 10.5 s, a change of motion and mood
at each, and a visual pulse in the middle shot. Made here, by this script: no licence questions.

    python vmm/assets/examples/make_example_video.py [OUT]
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT, FPS, DURATION = 640, 360, 25, 16.0
CUTS = (5.0, 10.5)


def _grid():
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return x.astype(np.float32), y.astype(np.float32)


X, Y = _grid()


def shot_warm(t: float) -> np.ndarray:
    frame = np.empty((HEIGHT, WIDTH, 3), np.float32)
    frame[..., 0] = 200 + 40 * X / WIDTH
    frame[..., 1] = 120 + 60 * Y / HEIGHT
    frame[..., 2] = 60
    cx, cy = 120 + 40 * t, 180 + 30 * np.sin(t)
    disc = (X - cx) ** 2 + (Y - cy) ** 2 < 60 ** 2
    frame[disc] = (255, 170, 40)
    return frame


def shot_fast(t: float) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), 20, np.float32)
    local = t - CUTS[0]
    span = WIDTH - 100
    x = abs((local * 700) % (2 * span) - span)
    y = 130 + 90 * abs(np.sin(local * 3.0))
    size = 70 + 30 * (local % 0.6 < 0.12)  # a pulse every 0.6 s
    square = (abs(X - x - 50) < size / 2) & (abs(Y - y - 50) < size / 2)
    frame[square] = (60, 120, 255)
    return frame


def shot_calm(t: float) -> np.ndarray:
    stripes = 0.5 + 0.5 * np.sin((X + 25 * (t - CUTS[1])) / 30)
    frame = np.empty((HEIGHT, WIDTH, 3), np.float32)
    frame[..., 0] = 40 + 40 * stripes
    frame[..., 1] = 110 + 100 * stripes
    frame[..., 2] = 70 + 40 * stripes
    return frame


def frame_at(t: float) -> np.ndarray:
    shot = shot_warm if t < CUTS[0] else shot_fast if t < CUTS[1] else shot_calm
    return np.clip(shot(t), 0, 255).astype(np.uint8)


def write(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "30", "preset": "veryfast"}
        stream.time_base = Fraction(1, FPS)
        for index in range(int(DURATION * FPS)):
            frame = av.VideoFrame.from_ndarray(frame_at(index / FPS), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("example.mp4")
    print(write(out))
