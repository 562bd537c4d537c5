"""`generate_neural_audio`: a score (and a video) to a waveform through the audio-token decoder.

This is what `vmm score --audio-model DIR` and `vmm neural-audio` call. Steps: load the artefact
(`vmm.audio.artefact`), read the score (note-event tokens and the lead line's chroma) and the video
(per-frame features), generate codec frames in sliding windows, decode with EnCodec, write the file.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

from vmm.audio.artefact import check_artefact, load_audio_model
from vmm.audio.chroma import Renderer, score_chroma
from vmm.audio.config import AudioLMConfig
from vmm.audio.sampling import Callback, SamplingSettings
from vmm.audio.score_stream import note_events
from vmm.audio.sources import ClipSources
from vmm.audio.video_stream import FrameFeatures, frame_features
from vmm.audio.windows import generate_long
from vmm.errors import VMMError

log = logging.getLogger(__name__)


def video_frame_features(video_path: str | os.PathLike, config: AudioLMConfig,
                         clip_weights: str | os.PathLike | None = None) -> FrameFeatures:
    """Read a video through `vmm.video.features` and turn it into the model's per-frame vectors.

    CLIP runs only when the model was trained with CLIP embeddings; if its weights are not found the
    video stream still works on the weights-free features (has_clip = 0).
    """
    from vmm.video.features import extract_features

    features = extract_features(video_path, clip_weights=clip_weights, use_clip=config.clip_dim > 0)
    if config.clip_dim > 0 and features.clip is None:
        log.warning("no CLIP weights: the audio model's video stream uses the weights-free features only")
    return frame_features(features, config.clip_dim)


def generate_neural_audio(
    midi_path: str | os.PathLike | None,
    video_path: str | os.PathLike | None,
    model_dir: str | os.PathLike,
    out_wav: str | os.PathLike,
    *,
    seed: int = 0,
    callback: Callback | None = None,
    device: str = "cpu",
    window_seconds: float = 30.0,
    overlap_seconds: float | None = None,
    sampling: SamplingSettings = SamplingSettings(),
    melody_renderer: Renderer = "synth",
    clip_weights: str | os.PathLike | None = None,
) -> Path:
    """Render a score (and/or a video) to audio with the neural decoder.

    Args:
        midi_path: the symbolic score (its note events and lead-line chroma condition the audio), or None.
        video_path: the video (long/short-term visual streams; sets the duration), or None.
        model_dir: the artefact folder (`codec/` + `decoder/`, see `vmm.audio.artefact`).
        out_wav: `.wav` or `.flac`, written atomically.
        seed: the sampling seed.
        callback: progress as callback(steps_done, steps_total).
        window_seconds, overlap_seconds: sliding windows for long inputs; the overlap defaults to a
            third of the window (10 s of 30 s), the prompt carried into the next window.
        sampling: top-k, temperature, classifier-free guidance.
        melody_renderer: how the lead line is rendered before its chroma is taken ("synth" or "soundfont").
        clip_weights: local open_clip checkpoint, for models trained with CLIP features.

    Returns:
        The written path. Its length is the video's duration (or the score's, without a video).

    Raises:
        VMMError: missing model files (naming them), no input, bad window settings, unreadable inputs.
    """
    from audio_render.audio_io import write_audio
    from audio_render.render import check_output_path
    from symbolic.files import atomic_output
    from symbolic.midi_io import read_score

    if midi_path is None and video_path is None:
        raise VMMError("neural audio needs a score (MIDI) or a video to follow; give at least one")
    out = check_output_path(out_wav)
    check_artefact(model_dir)
    score = read_score(midi_path) if midi_path is not None else None
    lm, codec = load_audio_model(model_dir, device)
    config = lm.config
    video = video_frame_features(video_path, config, clip_weights) if video_path is not None else None
    duration = video.duration if video is not None else float(score.to("second").end())
    total = max(1, math.ceil(duration * config.frame_rate - 1e-9))
    window, overlap = _window_frames(window_seconds, overlap_seconds, config.frame_rate)
    sources = ClipSources(config, video=video,
                          score=note_events(score) if score is not None else None,
                          chroma=score_chroma(score, config.frame_rate, total, melody_renderer) if score is not None else None)
    generator = torch.Generator(device=lm.device).manual_seed(seed)
    log.info("neural audio: %.1f s, %d frames, windows of %d frames (overlap %d)", duration, total, window, overlap)
    codes = generate_long(lm, lambda w: sources.window(w.start, w.end), total, window_frames=window,
                          overlap_frames=overlap, settings=sampling, generator=generator, callback=callback)
    wav = codec.decode_long(codes)[0]  # [C, N]
    wav = wav[:, : round(duration * codec.sample_rate)].T.float().cpu().numpy()
    with atomic_output(out) as tmp:
        write_audio(tmp, wav, codec.sample_rate)
    return out


def _window_frames(window_seconds: float, overlap_seconds: float | None, frame_rate: float) -> tuple[int, int]:
    if overlap_seconds is None:
        overlap_seconds = window_seconds / 3
    window, overlap = round(window_seconds * frame_rate), round(overlap_seconds * frame_rate)
    if window <= 0 or not 0 <= overlap < window:
        raise VMMError(f"windows of {window_seconds} s with {overlap_seconds} s overlap do not work: "
                       f"the overlap must be >= 0 and shorter than the window")
    return window, overlap

