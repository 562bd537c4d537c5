"""The audio codec: EnCodec through transformers, as MusicGen uses it (32 kHz, 50 frames/s, 4 codebooks).

Weights are never fetched: `load_codec` reads a local directory in transformers' format (the folder
`facebook/encodec_32khz` downloads to: `config.json` + `model.safetensors`). `tiny_codec` builds a small
random-weight codec with the same frame rate for tests.

Glossary: B batch, C audio channels, N samples, K codebooks, T codec frames.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_model
from transformers import EncodecConfig, EncodecModel

from vmm.errors import VMMError

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


class Codec:
    """EnCodec with a codes-in, codes-out interface.

    Args:
        model: a transformers `EncodecModel` without chunking (`chunk_length_s` null, as in the
            32 kHz MusicGen codec), so that a whole clip is one frame of codes.
    """

    def __init__(self, model: EncodecModel) -> None:
        config = model.config
        if config.chunk_length_s is not None:
            raise VMMError("the codec config sets chunk_length_s; use a MusicGen-style EnCodec (chunk_length_s null)")
        self.model = model.eval()
        self.bandwidth = float(config.target_bandwidths[-1])
        self.sample_rate = int(config.sampling_rate)
        self.channels = int(config.audio_channels)
        self.hop_length = int(config.hop_length)
        self.codebook_size = int(config.codebook_size)
        self.num_codebooks = int(model.quantizer.get_num_quantizers_for_bandwidth(self.bandwidth))

    @property
    def frame_rate(self) -> float:
        """Codec frames per second (50 for the 32 kHz codec)."""
        return self.sample_rate / self.hop_length

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: torch.device | str) -> Codec:
        self.model.to(device)
        return self

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform to codes.

        Args:
            wav: [B, C, N] float in [-1, 1] at `sample_rate`.

        Returns:
            [B, K, T] int64 codes, T = ceil(N / hop_length).
        """
        if wav.dim() != 3 or wav.shape[1] != self.channels:
            raise ValueError(f"expected wav [B, {self.channels}, N], got {tuple(wav.shape)}")
        out = self.model.encode(wav.to(self.device), bandwidth=self.bandwidth, return_dict=True)
        return out.audio_codes[0]

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes to waveform.

        Args:
            codes: [B, K, T] codes in [0, codebook_size).

        Returns:
            [B, C, T * hop_length] float waveform.
        """
        if codes.dim() != 3 or codes.shape[1] != self.num_codebooks:
            raise ValueError(f"expected codes [B, {self.num_codebooks}, T], got {tuple(codes.shape)}")
        out = self.model.decode(codes[None].to(self.device), [None], return_dict=True)
        return out.audio_values

    def encode_long(self, wav: torch.Tensor, chunk_seconds: float = 30.0, context_seconds: float = 1.0) -> torch.Tensor:
        """`encode` in chunks, for audio of any length in bounded memory.

        Each chunk is encoded with `context_seconds` of its neighbours on both sides and only its own
        frames are kept, so chunk edges see the same surroundings as in one pass.

        Args:
            wav: [B, C, N].

        Returns:
            [B, K, ceil(N / hop_length)] codes.
        """
        hop, total = self.hop_length, math.ceil(wav.shape[-1] / self.hop_length)
        chunk, context = self._frames(chunk_seconds), self._frames(context_seconds)
        parts = []
        for start in range(0, total, chunk):
            end = min(start + chunk, total)
            left = max(0, start - context)
            piece = wav[..., left * hop:(end + context) * hop]
            parts.append(self.encode(piece)[..., start - left:start - left + end - start])
        return torch.cat(parts, dim=-1)

    def decode_long(self, codes: torch.Tensor, chunk_seconds: float = 30.0, context_seconds: float = 1.0) -> torch.Tensor:
        """`decode` in chunks with `context_seconds` of neighbouring codes on each side (trimmed after).

        Args:
            codes: [B, K, T].

        Returns:
            [B, C, T * hop_length] waveform.
        """
        hop, total = self.hop_length, codes.shape[-1]
        chunk, context = self._frames(chunk_seconds), self._frames(context_seconds)
        parts = []
        for start in range(0, total, chunk):
            end = min(start + chunk, total)
            left = max(0, start - context)
            audio = self.decode(codes[..., left:end + context])
            parts.append(audio[..., (start - left) * hop:(end - left) * hop])
        return torch.cat(parts, dim=-1)

    def _frames(self, seconds: float) -> int:
        return max(1, round(seconds * self.frame_rate))

    def save(self, directory: str | os.PathLike) -> Path:
        """Write `config.json` + `model.safetensors` (transformers format) into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.config.to_json_file(directory / CONFIG_FILE)
        save_model(self.model, str(directory / WEIGHTS_FILE))
        return directory


def tiny_codec_config(codebook_size: int = 64, num_codebooks: int = 4) -> EncodecConfig:
    """A small EnCodec config with MusicGen's geometry (32 kHz, hop 640 = 50 frames/s)."""
    frame_rate = 50
    bits = (codebook_size - 1).bit_length()
    bandwidth = num_codebooks * frame_rate * bits / 1000.0
    return EncodecConfig(
        sampling_rate=32000,
        audio_channels=1,
        num_filters=4,
        hidden_size=16,
        codebook_dim=16,
        codebook_size=codebook_size,
        num_lstm_layers=1,
        upsampling_ratios=[8, 5, 4, 4],
        target_bandwidths=[bandwidth],
        use_causal_conv=False,
        use_conv_shortcut=False,
        normalize=False,
        chunk_length_s=None,
        overlap=None,
    )


def tiny_codec(seed: int = 0, codebook_size: int = 64, num_codebooks: int = 4) -> Codec:
    """A random-weight small codec for tests (deterministic for a given seed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EncodecModel(tiny_codec_config(codebook_size, num_codebooks)).eval()
        _init_codebooks_from_probe(model)
    return Codec(model)


@torch.no_grad()
def _init_codebooks_from_probe(model: EncodecModel) -> None:
    """Give a random codec usable codebooks (transformers initialises them to zeros, so every frame
    would get code 0): each residual codebook takes random latent vectors of a probe signal (tones
    and noise), the first step of k-means initialisation."""
    rate = model.config.sampling_rate
    time = torch.arange(2 * rate) / rate
    freqs = 110.0 * 2 ** (torch.randint(0, 36, (8,)) / 12)
    probe = sum(torch.sin(2 * torch.pi * f * time) * torch.rand(()) for f in freqs) / 8
    probe = (probe + 0.05 * torch.randn_like(probe))[None, None]
    residual = model.encoder(probe)[0].T  # [frames, codebook_dim]
    for layer in model.quantizer.layers:
        codebook = layer.codebook
        pick = torch.randint(0, residual.shape[0], (codebook.codebook_size,))
        codebook.embed.copy_(residual[pick] + 1e-3 * torch.randn_like(residual[pick]))
        codebook.embed_avg.copy_(codebook.embed)
        residual = residual - codebook.embed[codebook.quantize(residual)]


def load_codec(path: str | os.PathLike, device: torch.device | str = "cpu") -> Codec:
    """Load an EnCodec codec from a local directory in transformers' format.

    Args:
        path: a folder holding `config.json` and `model.safetensors` (e.g. a local copy of
            `facebook/encodec_32khz`, or the `codec/` folder of a VMM audio model).

    Raises:
        VMMError: naming the missing folder or file, or a config that is not EnCodec.
    """
    path = Path(path)
    missing = missing_files(path, (CONFIG_FILE, WEIGHTS_FILE))
    if missing:
        raise VMMError(
            f"codec folder {path} lacks {', '.join(missing)}: put an EnCodec checkpoint in transformers format "
            f"there (config.json + model.safetensors, e.g. facebook/encodec_32khz)"
        )
    try:
        config = EncodecConfig.from_json_file(path / CONFIG_FILE)
        model = EncodecModel(config)
        missing, unexpected = model.load_state_dict(load_file(str(path / WEIGHTS_FILE)), strict=False)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise VMMError(f"cannot load the codec from {path}: {error}") from None
    if missing or unexpected:
        raise VMMError(f"{path / WEIGHTS_FILE} does not fit its EnCodec config: missing {missing[:3]}, "
                       f"unexpected {unexpected[:3]}")
    log.info("codec: %s (%d Hz, %d codebooks)", path, config.sampling_rate, config.num_quantizers)
    return Codec(model).to(device)


def missing_files(directory: Path, names: tuple[str, ...]) -> list[str]:
    """Names (relative to `directory`) that are not files there (all of them when the folder is absent)."""
    return [name for name in names if not (directory / name).is_file()]
