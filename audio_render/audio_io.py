"""Writing and reading audio files: 16-bit WAV through the standard library, FLAC through PyAV.

Shapes: `samples` is `(n, c)` float32, n frames of c channels, full scale = 1.0.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from audio_render.errors import AudioRenderError

AUDIO_SUFFIXES = (".wav", ".flac")
_FLAC_CHUNK = 1 << 16  # frames per AudioFrame handed to the encoder


def check_audio_suffix(path: str | os.PathLike) -> str:
    """Return the lower-case suffix of an output path if it is `.wav` or `.flac`, else raise."""
    suffix = Path(path).suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise AudioRenderError(f"cannot write audio to {path}: use a .wav or .flac file name")
    return suffix


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float `(n, c)` in [-1, 1] to interleaved-ready int16 `(n, c)`, clipping anything outside."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit PCM WAV or FLAC, chosen by the suffix of `path`.

    Args:
        path: the file to write (written directly: callers wrap it in `atomic_output`).
        samples: `(n, c)` float, full scale 1.0.
        sample_rate: in Hz.
    """
    suffix = check_audio_suffix(path)
    pcm = to_int16(samples[:, None] if samples.ndim == 1 else samples)
    if suffix == ".wav":
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(pcm.shape[1])
            handle.setsampwidth(2)
            handle.setframerate(int(sample_rate))
            handle.writeframes(pcm.tobytes())
    else:
        _write_flac(Path(path), pcm, int(sample_rate))


def _write_flac(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    import av

    layout = "mono" if pcm.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=sample_rate, layout=layout)
        stream.format = "s16"
        for start in range(0, pcm.shape[0], _FLAC_CHUNK):
            chunk = np.ascontiguousarray(pcm[start:start + _FLAC_CHUNK]).reshape(1, -1)  # packed s16
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of any file FFmpeg reads.

    Returns:
        `(samples, sample_rate)`: samples `(n, c)` float32 at the file's own rate and channels.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioRenderError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels
            chunks = []
            resampler = av.AudioResampler(format="flt", layout=stream.codec_context.layout)
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    chunks.append(converted.to_ndarray().reshape(-1, channels))
            for converted in resampler.resample(None):
                chunks.append(converted.to_ndarray().reshape(-1, channels))
            rate = stream.codec_context.sample_rate
    except av.error.FFmpegError as error:
        raise AudioRenderError(f"cannot read audio from {path}: {error.strerror or error}") from None
    samples = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.float32)
    return samples.astype(np.float32, copy=False), rate
