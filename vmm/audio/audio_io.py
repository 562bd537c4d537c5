"""Reading audio for the codec: any file FFmpeg decodes, resampled to the codec's rate, mono.

Writing goes through `audio_render.audio_io.write_audio` (16-bit WAV or FLAC) inside `atomic_output`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from vmm.errors import VMMError


def load_audio(path: str | os.PathLike, sample_rate: int) -> torch.Tensor:
    """Decode the first audio stream of `path`, downmixed to mono at `sample_rate`.

    Returns:
        [N] float32 samples.

    Raises:
        VMMError: the file is missing, has no audio stream, or cannot be decoded.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise VMMError(f"audio file not found: {path}")
    chunks = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise VMMError(f"{path} has no audio stream (give a file with sound)")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(container.streams.audio[0]):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except av.error.FFmpegError as error:
        raise VMMError(f"cannot decode audio from {path}: {error.strerror or error}") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return torch.from_numpy(samples.astype(np.float32, copy=False))
