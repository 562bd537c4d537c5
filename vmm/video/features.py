"""Video features on one time grid: motion, cuts, visual beats, mood, and optional CLIP embeddings.

`extract_features` decodes a video once (or not at all when the cache has it), samples a dense
low-resolution grid for the weights-free features and, when CLIP weights are available locally,
a sparse grid for semantic embeddings, in the same pass.

Units: times in seconds from the first video frame; motion is the mean colour change per second
(channels 0..1, changes below the noise level ignored) between consecutive grid frames;
brightness and saturation are 0..1; warmth is mean(red - blue), -1..1.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symbolic.files import atomic_output
from vmm.errors import VMMError
from vmm.paths import check_input_file
from vmm.video.cache import FeatureCache, cache_key
from vmm.video.clip import ClipEncoder, load_clip_encoder
from vmm.video.reader import VideoReader
from vmm.video.rhythm import RhythmSettings, cut_scores, detect_cuts, detect_visual_beats, impact_envelope
from vmm.video.sampling import GridSample, GridSpec, Progress, display_size, sample_grids
from vmm.video.stats import FrameStats, colour_change, frame_stats, histogram_change

log = logging.getLogger(__name__)

FEATURES_VERSION = 1  # bump when the computation changes, so cached features are recomputed
ARRAY_FIELDS = ("times", "motion", "impact", "brightness", "saturation", "warmth")


@dataclass
class VideoFeatures:
    """Features of one video.

    Attributes:
        times: [N] grid times in seconds from the first frame (k / fps_grid).
        motion: [N] motion magnitude (colour change per second), cut frames excluded.
        impact: [N] visual impact envelope (sudden slowing of motion), >= 0.
        cuts: times (s) of the first frame of each new shot.
        visual_beats: times (s) of visual beats (peaks of `impact`).
        brightness, saturation, warmth: [N] mood features.
        duration: seconds of video that decoded.
        fps_grid: grid points per second.
        clip: [M, D] L2-normalised CLIP embeddings, or None without CLIP weights.
        clip_times: [M] seconds of the CLIP grid, or None.
        width, height: display size of the video.
        start_time: timestamp (s) of the first frame in the file (times count from it).
    """

    times: np.ndarray
    motion: np.ndarray
    impact: np.ndarray
    cuts: list[float]
    visual_beats: list[float]
    brightness: np.ndarray
    saturation: np.ndarray
    warmth: np.ndarray
    duration: float
    fps_grid: float
    clip: np.ndarray | None = None
    clip_times: np.ndarray | None = None
    width: int = 0
    height: int = 0
    start_time: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.times)
        for name in ARRAY_FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values, times has {n}")
        if (self.clip is None) != (self.clip_times is None):
            raise ValueError("clip and clip_times must both be given or both be None")
        if self.clip is not None and len(self.clip) != len(self.clip_times):
            raise ValueError(f"clip has {len(self.clip)} rows, clip_times has {len(self.clip_times)}")

    def mood(self) -> dict[str, float]:
        """Mean brightness, saturation and warmth over the video."""
        return {name: float(np.mean(getattr(self, name))) if len(self.times) else 0.0
                for name in ("brightness", "saturation", "warmth")}

    def save_npz(self, path: str | os.PathLike) -> None:
        """Write all features to an .npz file (atomically)."""
        arrays = {name: np.asarray(getattr(self, name)) for name in ARRAY_FIELDS}
        arrays.update(
            cuts=np.asarray(self.cuts, dtype=np.float64),
            visual_beats=np.asarray(self.visual_beats, dtype=np.float64),
            scalars=np.array([self.duration, self.fps_grid, self.width, self.height, self.start_time]),
            version=np.array(FEATURES_VERSION),
        )
        if self.clip is not None:
            arrays.update(clip=self.clip, clip_times=self.clip_times)
        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> VideoFeatures:
        """Read features written by `save_npz`.

        Raises:
            VMMError: the file is not a VMM features file.
        """
        path = check_input_file(path, "features file")
        arrays = _read_npz(path)
        missing = [name for name in (*ARRAY_FIELDS, "cuts", "visual_beats", "scalars") if name not in arrays]
        if missing:
            raise _not_features(path, f"missing {', '.join(missing)}")
        try:
            duration, fps_grid, width, height, start_time = (float(v) for v in arrays["scalars"].reshape(-1))
            return cls(
                **{name: arrays[name].reshape(-1) for name in ARRAY_FIELDS},
                cuts=arrays["cuts"].reshape(-1).tolist(), visual_beats=arrays["visual_beats"].reshape(-1).tolist(),
                duration=duration, fps_grid=fps_grid, width=int(width), height=int(height), start_time=start_time,
                clip=arrays.get("clip"), clip_times=arrays.get("clip_times"),
            )
        except (TypeError, ValueError) as error:  # wrong counts or kinds of values
            raise _not_features(path, f"its arrays do not fit together: {error}") from None


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, without running pickled code."""
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as error:
        reason = "it holds pickled Python objects" if "pickle" in str(error) else "not an .npz archive"
        raise _not_features(path, reason) from None
    except Exception:  # zipfile, OS and format errors all mean the same to the user
        raise _not_features(path, "not an .npz archive") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _not_features(path, "a single .npy array, not an .npz archive")
    try:
        with data:
            return {name: data[name] for name in data.files}
    except ValueError as error:
        reason = "it holds pickled Python objects" if "pickle" in str(error) else "a damaged .npz archive"
        raise _not_features(path, reason) from None
    except Exception:
        raise _not_features(path, "a damaged .npz archive") from None


def _not_features(path: Path, reason: str) -> VMMError:
    return VMMError(f"{path} is not a features file written by `vmm features` ({reason}); "
                    "make one with `vmm features VIDEO --out FEATURES.npz`")


class _RhythmTrack:
    """Accumulates per-frame measurements of the dense grid."""

    def __init__(self) -> None:
        self.frame_times: list[float] = []
        self.frame_ends: list[float] = []
        self.motion: list[float] = []
        self.scores: list[float] = []
        self.mood: list[tuple[float, float, float]] = []
        self._previous: FrameStats | None = None

    def add(self, sample: GridSample) -> None:
        same_frame = bool(self.frame_times) and sample.frame_time == self.frame_times[-1]
        if same_frame:  # a held frame: no change, motion continues
            stats = self._previous
            motion, score = (self.motion[-1] if self.motion else 0.0), 0.0
        else:
            stats = frame_stats(sample.image)
            if self._previous is None:
                motion, score = 0.0, 0.0
            else:
                change = colour_change(self._previous, stats)
                gap = max(1e-3, sample.frame_time - self.frame_times[-1])
                motion, score = change / gap, float(cut_scores(histogram_change(self._previous, stats), change))
        self.frame_times.append(sample.frame_time)
        self.frame_ends.append(sample.frame_end)
        self.motion.append(motion)
        self.scores.append(score)
        self.mood.append((stats.brightness, stats.saturation, stats.warmth))
        self._previous = stats


class _ClipTrack:
    """Batches frames of the sparse grid through a CLIP encoder."""

    def __init__(self, encoder: ClipEncoder, batch_size: int = 16) -> None:
        self.encoder, self.batch_size = encoder, batch_size
        self.pending: list[np.ndarray] = []
        self.times: list[float] = []
        self.embeddings: list[np.ndarray] = []

    def add(self, sample: GridSample) -> None:
        self.pending.append(sample.image)
        self.times.append(sample.time)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.embeddings.append(self.encoder.encode(np.stack(self.pending)))
            self.pending = []


def _resolve_encoder(clip_model: str | ClipEncoder, clip_weights, use_clip: bool) -> ClipEncoder | None:
    if not use_clip:
        return None
    if isinstance(clip_model, ClipEncoder):
        return clip_model
    encoder = load_clip_encoder(clip_model, clip_weights)
    if encoder is None:
        log.warning("no local CLIP weights for %s (pass --clip-weights PATH): semantic features are off; "
                    "motion, cuts, beats and mood still work", clip_model)
    return encoder


def compute_features(path: str | os.PathLike, *, grid_fps: float = 10.0, frame_side: int = 128,
                     encoder: ClipEncoder | None = None, clip_fps: float = 2.0,
                     settings: RhythmSettings = RhythmSettings(), callback: Progress | None = None
                     ) -> VideoFeatures:
    """Decode a video and compute its features (no cache). See `extract_features`."""
    with VideoReader(path) as reader:
        specs = [GridSpec(grid_fps, display_size(reader.info, longest=frame_side))]
        clip_track = None
        if encoder is not None:
            specs.append(GridSpec(clip_fps, display_size(reader.info, shortest=encoder.image_size)))
            clip_track = _ClipTrack(encoder)
        rhythm = _RhythmTrack()
        for sample in sample_grids(reader, specs, callback):
            if sample.spec == 0:
                rhythm.add(sample)
            else:
                clip_track.add(sample)
        info, duration = reader.info, reader.decoded_duration
    return _assemble(rhythm, clip_track, grid_fps, settings, duration, info)


def _cut_time(k: int, frame_times: np.ndarray, frame_ends: np.ndarray) -> float:
    """Best estimate of when the shot seen at grid point k began.

    The first frame of the new shot appeared after the last old frame seen (at grid point k-1) ended
    and no later than the frame seen at k: the middle of that interval is within half of it of the
    truth, and exact when the video's frames fall on the grid.
    """
    earliest, latest = frame_ends[k - 1], frame_times[k]
    return float(0.5 * (earliest + latest)) if earliest <= latest else float(latest)


def _assemble(rhythm: _RhythmTrack, clip_track: _ClipTrack | None, fps: float, settings: RhythmSettings,
              duration: float, info) -> VideoFeatures:
    frame_times, frame_ends = np.asarray(rhythm.frame_times), np.asarray(rhythm.frame_ends)
    motion = np.asarray(rhythm.motion, dtype=np.float32)
    scores = np.asarray(rhythm.scores, dtype=np.float32)
    cut_indices = detect_cuts(scores, fps, settings)
    if len(motion) > 1:
        motion[0] = motion[1]
    for k in cut_indices:  # the picture change at a cut is not motion
        motion[k] = motion[k - 1]
    envelope = impact_envelope(motion, cut_indices)
    beats = detect_visual_beats(envelope, motion, fps, settings)
    times = np.arange(len(motion)) / fps
    mood = np.asarray(rhythm.mood, dtype=np.float32).reshape(-1, 3)
    clip = clip_times = None
    if clip_track is not None:
        clip_track.flush()
        clip = np.concatenate(clip_track.embeddings) if clip_track.embeddings else np.zeros((0, 0), np.float32)
        clip_times = np.asarray(clip_track.times)
    return VideoFeatures(
        times=times, motion=motion, impact=envelope,
        cuts=[_cut_time(k, frame_times, frame_ends) for k in cut_indices], visual_beats=[float(times[k]) for k in beats],
        brightness=mood[:, 0], saturation=mood[:, 1], warmth=mood[:, 2],
        duration=float(duration), fps_grid=float(fps), clip=clip, clip_times=clip_times,
        width=info.width, height=info.height, start_time=info.start_time,
    )


def extract_features(
    path: str | os.PathLike,
    *,
    grid_fps: float = 10.0,
    clip_weights: str | os.PathLike | None = None,
    clip_model: str | ClipEncoder = "ViT-B-32",
    clip_fps: float = 2.0,
    use_clip: bool = True,
    frame_side: int = 128,
    callback: Progress | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> VideoFeatures:
    """Features of a video, from the cache when it has them.

    Args:
        path: a video file PyAV/FFmpeg can read.
        grid_fps: points per second of the motion/cut/beat/mood grid.
        clip_weights: a local open_clip checkpoint; None searches open_clip's and the hub's caches.
        clip_model: an open_clip architecture name, or a ready `ClipEncoder` (tests pass a tiny one).
        clip_fps: points per second of the CLIP grid.
        use_clip: False skips CLIP entirely (no search for weights, no notice).
        frame_side: longest side in pixels of the frames the weights-free features are measured on.
        callback: progress(done, total) in grid points; total may be None.
        cache_dir: cache folder; None means `$VMM_CACHE_DIR` or ~/.cache/vmm/features.
        use_cache: False neither reads nor writes the cache.
    Returns:
        `VideoFeatures`.
    Raises:
        VMMError: the file is missing, not a video, has no video stream, or no frame decodes.
    """
    if not grid_fps > 0 or not clip_fps > 0:
        raise VMMError(f"grid rates must be positive (grid_fps={grid_fps}, clip_fps={clip_fps})")
    path = check_input_file(path, "video")
    if use_clip and not isinstance(clip_model, ClipEncoder):
        # A file that is not a video fails here, with its one error, before CLIP weights are looked
        # for (which takes seconds, or prints a notice when there are none).
        with VideoReader(path):
            pass
    encoder = _resolve_encoder(clip_model, clip_weights, use_clip)
    cache = FeatureCache(cache_dir) if use_cache and (encoder is None or encoder.identity) else None
    key = None
    if cache is not None:
        key = cache_key(path, {
            "version": FEATURES_VERSION, "grid_fps": grid_fps, "frame_side": frame_side,
            "clip": encoder.identity if encoder else None, "clip_fps": clip_fps if encoder else None,
            "rhythm": RhythmSettings().__dict__,
        })
        cached = cache.get(key)
        if cached is not None:
            log.debug("features of %s from the cache (%s)", Path(path).name, cache.path_for(key))
            return cached
    features = compute_features(path, grid_fps=grid_fps, frame_side=frame_side, encoder=encoder,
                                clip_fps=clip_fps, callback=callback)
    if cache is not None:
        cache.put(key, features)
    return features
