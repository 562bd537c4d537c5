"""CLIP image embeddings through open_clip, from local weights only.

Weights come from a checkpoint the user names (`--clip-weights PATH`) or from a file open_clip or
the Hugging Face hub cache already holds for one of the model's pretrained tags. Nothing is ever
downloaded: without local weights `load_clip_encoder` returns None and the caller goes on without
semantic features.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vmm.errors import VMMError
from vmm.video.cache import file_fingerprint

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class LocalWeights:
    """A checkpoint on disk and how its model was trained (normalisation, activation)."""

    path: Path
    tag: str | None = None
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    quick_gelu: bool = False


class ClipEncoder:
    """Embeds RGB frames with an open_clip model's image tower.

    Args:
        model: an open_clip `CLIP` (or anything with `encode_image` and `visual.image_size`).
        mean, std: per-channel normalisation the weights were trained with.
        identity: a string naming model and weights exactly (used as a cache key), or None when
            the weights have no stable identity (random weights); then results are not cached.
        device: where the model runs.
    """

    def __init__(self, model: torch.nn.Module, *, mean=OPENAI_MEAN, std=OPENAI_STD,
                 identity: str | None = None, device: str | torch.device = "cpu") -> None:
        import torch  # imported here: reading videos without CLIP does not need torch

        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        size = model.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.identity = identity

    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        """Centre-crop and normalise frames whose shorter side is already `image_size`.

        Args:
            images: [B, H, W, 3] uint8 RGB, min(H, W) == image_size.
        Returns:
            [B, 3, S, S] float32 with S = image_size.
        """
        import torch

        s = self.image_size
        h, w = images.shape[1:3]
        top, left = (h - s) // 2, (w - s) // 2
        crop = torch.from_numpy(np.ascontiguousarray(images[:, top:top + s, left:left + s]))
        pixels = crop.to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        return (pixels - self.mean) / self.std

    def encode(self, images: np.ndarray) -> np.ndarray:
        """L2-normalised image embeddings.

        Args:
            images: [B, H, W, 3] uint8 RGB, shorter side == image_size.
        Returns:
            [B, D] float32.
        """
        import torch

        with torch.inference_mode():
            features = self.model.encode_image(self.preprocess(images))
            return torch.nn.functional.normalize(features.float(), dim=-1).cpu().numpy()


@contextlib.contextmanager
def quiet_open_clip(level: int = logging.WARNING) -> Iterator[None]:
    """Hold back open_clip's messages below `level` (it logs its steps on the root logger)."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(max(previous, level))
    try:
        yield
    finally:
        root.setLevel(previous)


def find_cached_weights(model_name: str) -> LocalWeights | None:
    """A checkpoint for `model_name` already in open_clip's or the Hugging Face cache, or None.

    Looks, for each pretrained tag open_clip knows for the model, at the file it would download,
    without downloading it.
    """
    import open_clip
    from open_clip import pretrained as pretrained_module

    for tag in open_clip.list_pretrained_tags_by_model(model_name):
        cfg = open_clip.get_pretrained_cfg(model_name, tag)
        for path in _candidate_files(cfg, pretrained_module):
            if path.is_file():
                return LocalWeights(path=path, tag=tag, mean=tuple(cfg.get("mean", OPENAI_MEAN)),
                                    std=tuple(cfg.get("std", OPENAI_STD)), quick_gelu=bool(cfg.get("quick_gelu")))
    return None


def _candidate_files(cfg: dict, pretrained_module) -> list[Path]:
    files = []
    if cfg.get("file"):
        files.append(Path(cfg["file"]))
    if cfg.get("hf_hub"):
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(cfg["hf_hub"])
        names = [filename] if filename else [pretrained_module.HF_SAFE_WEIGHTS_NAME, pretrained_module.HF_WEIGHTS_NAME]
        for name in names:
            found = try_to_load_from_cache(repo_id, name)
            if isinstance(found, str):
                files.append(Path(found))
    if cfg.get("url"):
        files.append(Path("~/.cache/clip").expanduser() / os.path.basename(cfg["url"]))
    return files


def load_clip_encoder(model_name: str = "ViT-B-32", weights: str | os.PathLike | None = None,
                      device: str | torch.device = "cpu") -> ClipEncoder | None:
    """Build a CLIP image encoder from local weights; None when no weights are found locally.

    Args:
        model_name: an open_clip architecture name (e.g. "ViT-B-32", "ViT-B-32-quickgelu").
        weights: a checkpoint file; when None, open_clip's and the hub's caches are searched.
    Raises:
        VMMError: the named file is missing or does not fit the architecture.
    """
    import open_clip

    if model_name not in open_clip.list_models():
        raise VMMError(f"unknown CLIP model {model_name!r}; choose one of open_clip's models, e.g. ViT-B-32")
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise VMMError(f"CLIP weights not found: {path} (check --clip-weights)")
        local = LocalWeights(path=path)
    else:
        local = find_cached_weights(model_name)
        if local is None:
            return None
    try:
        with quiet_open_clip():
            model = open_clip.create_model(model_name, pretrained=str(local.path), device=device,
                                           force_quick_gelu=local.quick_gelu, pretrained_text=False)
    except Exception as error:  # open_clip raises RuntimeError, KeyError, pickle errors, ...
        raise VMMError(f"cannot load CLIP weights {local.path} into {model_name} "
                       f"({type(error).__name__}: {str(error).splitlines()[0][:120]})") from None
    identity = f"{model_name}:{local.tag or 'file'}:{file_fingerprint(local.path)}"
    log.info("CLIP %s weights: %s", model_name, local.path)
    return ClipEncoder(model, mean=local.mean, std=local.std, identity=identity, device=device)
