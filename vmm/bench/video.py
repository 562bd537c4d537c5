"""`vmm bench video`: video features + musical plan time for a 60 s 1280x720 video, against decoding alone.

The video is made here with PyAV (h264, 30 fps): a textured background that pans, squares moving at
speeds that change per shot, a pulsing shot (a visual rhythm), and a hard cut every 7 s. VMM's number
is `extract_features` (no CLIP, no cache) + `make_plan`. Peers in the same run, on the same file:
`ffmpeg -i clip -f null -` (decoding alone, the floor any reader pays) and a naive PyAV reader that
converts every frame to a full-size RGB array (plain frame reading, no features). Goal:
features + plan in at most 10 s on the 2-core development machine.

CLIP ViT-B/32 (random weights; the speed does not depend on the weights) is timed per frame on the
CPU too, since with local weights `vmm score` embeds 2 frames per second of video.
"""

from __future__ import annotations

import argparse
import fractions
import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np

NAME = "video"
HELP = "features + plan time for a 60 s 1280x720 video (goal <= 10 s), against ffmpeg decoding; CLIP ms/frame"

GOAL_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test video (default 60)")
    parser.add_argument("--width", type=int, default=1280, help="video width (default 1280)")
    parser.add_argument("--height", type=int, default=720, help="video height (default 720)")
    parser.add_argument("--fps", type=int, default=30, help="video frame rate (default 30)")
    parser.add_argument("--video", type=Path, default=None, help="time this video instead of making one")
    parser.add_argument("--clip-frames", type=int, default=16, help="frames for the CLIP timing; 0 skips it")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each reader (median; default 1)")


def _texture(rng: np.random.Generator, height: int, width: int, tint: tuple[int, int, int]) -> np.ndarray:
    """A smooth random texture [H, W, 3] uint8 (blobs plus fine grain), tinted."""
    coarse = rng.random((height // 40 + 2, width // 40 + 2, 1)).astype(np.float32)
    smooth = np.kron(coarse, np.ones((40, 40, 1), np.float32))[:height, :width]
    grain = rng.random((height, width, 1), dtype=np.float32) * 0.15
    base = (0.35 + 0.5 * smooth + grain) * np.asarray(tint, np.float32)[None, None, :]
    return np.clip(base, 0, 255).astype(np.uint8)


def make_test_video(path: Path, seconds: float, width: int, height: int, fps: int, seed: int = 0) -> list[float]:
    """Write the benchmark video; return its cut times."""
    rng = np.random.default_rng(seed)
    shot_s = 7.0
    n_shots = int(np.ceil(seconds / shot_s))
    tints = [(230, 180, 120), (110, 160, 230), (150, 220, 140), (220, 120, 200), (240, 230, 200)]
    pad = width // 4
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"preset": "ultrafast", "crf": "26"}
    stream.codec_context.time_base = fractions.Fraction(1, fps)
    texture = None
    side = height // 5
    for i in range(int(round(seconds * fps))):
        t = i / fps
        shot = int(t // shot_s)
        if texture is None or i == int(round(shot * shot_s * fps)):
            texture = _texture(rng, height, width + 2 * pad, tints[shot % len(tints)])
        speed = 80.0 * (1 + shot % 3)  # pixels per second, changes each shot
        pan = int(round((t - shot * shot_s) * speed * 0.5)) % (2 * pad)
        frame = texture[:, pan:pan + width].copy()
        moving = (shot % 2 == 1) and ((t % 0.5) < 0.25)  # odd shots pulse at 120 BPM
        travel = t * speed if shot % 2 == 0 else (t // 0.5 * 0.25 + min(t % 0.5, 0.25)) * speed * 2
        for k in range(3):
            x = int(travel * (1 + 0.3 * k) + k * width / 3) % (width - side)
            y = (k + 1) * height // 4 - side // 2
            frame[y:y + side, x:x + side] = (255 - 60 * k, 40 + 80 * k, 60 if moving else 200)
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame.pts = i
        container.mux(stream.encode(video_frame))
    container.mux(stream.encode())
    container.close()
    return [s * shot_s for s in range(1, n_shots)]


def _time(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _vmm_features_and_plan(path: Path) -> tuple[float, object, object]:
    from vmm.plan.make import make_plan
    from vmm.video.features import extract_features

    result = {}

    def work():
        result["features"] = extract_features(path, use_clip=False, use_cache=False)
        result["plan"] = make_plan(result["features"])

    return _time(work), result["features"], result["plan"]


def _naive_pyav(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")


def _ffmpeg_decode(path: Path) -> float | None:
    if shutil.which("ffmpeg") is None:
        return None
    return _time(lambda: subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                                        check=True, capture_output=True))


def clip_ms_per_frame(frames: int, batch: int = 8) -> float:
    """Milliseconds per frame for open_clip ViT-B-32's image tower on the CPU (random weights)."""
    import open_clip
    import torch

    from vmm.video.clip import ClipEncoder, quiet_open_clip

    with quiet_open_clip(logging.ERROR):  # random weights are the point here, not a problem
        model = open_clip.create_model("ViT-B-32", pretrained=None, pretrained_text=False)
    encoder = ClipEncoder(model)
    images = np.random.default_rng(0).integers(0, 255, size=(batch, 224, 398, 3), dtype=np.uint8)
    encoder.encode(images[:1])  # warm-up
    done, started = 0, time.perf_counter()
    with torch.inference_mode():
        while done < frames:
            encoder.encode(images[:min(batch, frames - done)])
            done += min(batch, frames - done)
    return (time.perf_counter() - started) / done * 1000.0


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        truth: list[float] = []
        if args.video is not None:
            path = args.video
        else:
            path = Path(tmp) / "bench.mp4"
            started = time.perf_counter()
            truth = make_test_video(path, args.seconds, args.width, args.height, args.fps)
            made = time.perf_counter() - started
            print(f"made a {args.seconds:g} s {args.width}x{args.height} {args.fps} fps h264 video in {made:.1f} s "
                  f"({path.stat().st_size / 1e6:.1f} MB)")
        runs, peers, naive = [], [], []
        for _ in range(max(1, args.repeats)):
            seconds, features, plan = _vmm_features_and_plan(path)
            runs.append(seconds)
            peers.append(_ffmpeg_decode(path))
            naive.append(_time(lambda: _naive_pyav(path)))
        ours = float(np.median(runs))
        verdict = "met" if ours <= GOAL_S else "MISSED"
        print(f"  vmm features + plan (no CLIP)   {ours:6.2f} s  ({features.duration / ours:5.1f}x real time; "
              f"goal <= {GOAL_S:g} s for 60 s 720p: {verdict})")
        if peers[0] is not None:
            floor = float(np.median(peers))
            print(f"  ffmpeg -f null (decode only)    {floor:6.2f} s  -> vmm / decode-only time {ours / floor:5.2f}x")
        else:
            print("  ffmpeg -f null (decode only)    ffmpeg not installed")
        naive_s = float(np.median(naive))
        print(f"  PyAV decode + full-size RGB     {naive_s:6.2f} s  -> vmm / plain frame reading {ours / naive_s:5.2f}x")
        found = f"{len(features.cuts)} cuts" + (f" (made {len(truth)})" if truth else "")
        print(f"  found {found}, {len(features.visual_beats)} visual beats; plan {plan.tempo:g} BPM "
              f"({plan.tempo_source}), {plan.n_bars} bars, {plan.key}")
    if args.clip_frames > 0:
        ms = clip_ms_per_frame(args.clip_frames)
        print(f"  CLIP ViT-B/32 image tower, CPU  {ms:6.1f} ms/frame (random weights, batch 8) -> "
              f"{ms * 2 * 60 / 1000:.1f} s for 60 s at 2 frames/s")
    return 0
