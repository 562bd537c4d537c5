"""Condition fusion: per-token vectors from the video and chord streams, added to the token embeddings.

Two branches, each ending in a gradient-scale gate (the Switch Schedule's gradient control):

    "video":  MLP of [video controls ; CLIP features]       -> [b, l, d]
    "chords": embedding(chord id of the beat) + embedding(key) -> [b, l, d]

A stream switched off for a sample (use_video / use_chords False) contributes exactly zero for it, so
"none" is the unconditional model that classifier-free guidance needs.

Einops letters: b batch, l time (tokens), d d_model, v video features, c CLIP features
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vmm.model.conditions import Conditions
from vmm.model.config import VMMConfig


class _GradScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def scale_gradient(x: Tensor, scale: float) -> Tensor:
    """Identity forward; the gradient is multiplied by `scale` (0 = stop-gradient, nothing reaches x)."""
    if scale == 1.0:
        return x
    if scale == 0.0:
        return x.detach()
    return _GradScale.apply(x, scale)


class ConditionFuser(nn.Module):
    """Conditions -> [b, l, d] summed into the token embeddings."""

    BRANCHES = ("video", "chords")

    def __init__(self, config: VMMConfig):
        super().__init__()
        self.config = config
        self.video = nn.Sequential(nn.Linear(config.video_dim + config.clip_dim, config.d_model),
                                   nn.GELU(), nn.Linear(config.d_model, config.d_model))
        self.chords = nn.Embedding(config.n_chords, config.d_model)
        self.keys = nn.Embedding(config.n_keys, config.d_model)
        for table in (self.chords, self.keys):
            nn.init.normal_(table.weight, std=0.02)

    def forward(self, conditions: Conditions, check: bool = True) -> Tensor:
        """Args: conditions with [b, l] streams; check: validate shapes and ids (decoding skips it).

        Returns: [b, l, d].
        """
        if check:
            self._check(conditions)
        video = scale_gradient(self._video(conditions), self.config.video_grad_scale)
        chords = scale_gradient(self._chords(conditions), self.config.chord_grad_scale)
        return _gate(video, conditions.use_video) + _gate(chords, conditions.use_chords)

    def _video(self, conditions: Conditions) -> Tensor:
        features = conditions.video
        if self.config.clip_dim:
            clip = conditions.clip
            if clip is None:  # a sample without semantic features: zeros mean "nothing known"
                clip = features.new_zeros(*features.shape[:2], self.config.clip_dim)
            features = torch.cat([features, clip.to(features.dtype)], dim=-1)
        return _once_per_run(self.video, features.to(self.video[0].weight.dtype))

    def _chords(self, conditions: Conditions) -> Tensor:
        key = conditions.key
        if key is None:
            key = torch.full((conditions.batch_size,), self.config.n_keys - 1, device=conditions.chords.device)
        return self.chords(conditions.chords) + self.keys(key)[:, None, :]

    def _check(self, conditions: Conditions) -> None:
        """Shapes and id ranges, with messages that say which stream is wrong."""
        config, video = self.config, conditions.video
        if video.dim() != 3 or video.shape[-1] != config.video_dim:
            raise ValueError(f"video conditions must be [batch, length, {config.video_dim}], got {list(video.shape)}")
        if conditions.chords.shape != video.shape[:2]:
            raise ValueError(f"chords must be [batch, length] = {list(video.shape[:2])}, got {list(conditions.chords.shape)}")
        if conditions.clip is not None and conditions.clip.shape != (*video.shape[:2], config.clip_dim):
            raise ValueError(f"clip features must be [batch, length, {config.clip_dim}] (clip_dim of the model), "
                             f"got {list(conditions.clip.shape)}")
        for name, ids, size in (("chord", conditions.chords, config.n_chords), ("key", conditions.key, config.n_keys)):
            if ids is not None and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= size):
                raise ValueError(f"{name} ids must be in [0, {size}), got range [{int(ids.min())}, {int(ids.max())}]")

    def branch_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Parameters of each branch, for logging their gradient norms."""
        return {"video": list(self.video.parameters()),
                "chords": list(self.chords.parameters()) + list(self.keys.parameters())}


def _once_per_run(module: nn.Module, features: Tensor) -> Tensor:
    """module(features) for features [b, l, f], computed once per run of equal consecutive rows.

    The video controls change per beat, not per token (POP909 has about 24 tokens per beat), so on
    the CPU the MLP runs on the first row of each run and the result is gathered back (rows are
    independent, so the output and the parameters' gradients are the same). Not done on CUDA (the MLP
    is cheap there and the gather would not be) nor for features that need their own gradient.
    """
    flat = features.flatten(0, 1)
    if flat.is_cuda or features.requires_grad or flat.shape[0] < 2:
        return module(features)
    run_start = torch.ones(flat.shape[0], dtype=torch.bool, device=flat.device)
    run_start[1:] = (flat[1:] != flat[:-1]).any(-1)
    run_of_row = run_start.cumsum(0) - 1
    return module(flat[run_start])[run_of_row].view(*features.shape[:2], -1)


def _gate(branch: Tensor, use: Tensor | None) -> Tensor:
    """Zero the branch for samples where `use` [b] is False (exactly zero, no gradient)."""
    if use is None:
        return branch
    return torch.where(use.to(branch.device, torch.bool)[:, None, None], branch, torch.zeros((), dtype=branch.dtype,
                                                                                              device=branch.device))
