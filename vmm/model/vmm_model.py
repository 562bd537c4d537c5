"""VMMModel: token embedding + condition fusion + hybrid Mamba/attention backbone + LM head.

    tokens [b, l] -> embedding (+ ConditionFuser(conditions)) -> layers (pattern "MMMA"...) -> norm -> logits

Training and prefill use `forward`; decoding uses `step`, one token at a time with an `InferenceCache`
(constant time and memory per token). Names follow mamba_ssm's MambaLMHeadModel where they can
(embedding, layers.i.mixer, norm_f, lm_head).

Einops letters: b batch, l time (tokens), d d_model, v vocabulary
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vmm.model.blocks import Block
from vmm.model.cache import InferenceCache
from vmm.model.conditions import Conditions
from vmm.model.config import VMMConfig
from vmm.model.fusion import ConditionFuser
from vmm.model.norm import RMSNorm


class VMMModel(nn.Module):
    """The hybrid decoder. Args: config, a `VMMConfig`."""

    def __init__(self, config: VMMConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.fuser = ConditionFuser(config)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(Block(kind, config) for kind in config.layer_pattern)
        self.norm_f = RMSNorm(config.d_model, eps=1e-5)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self._init_weights()
        if config.tie_embeddings:
            self.lm_head.weight = self.embedding.weight

    def _init_weights(self) -> None:
        """GPT-2/mamba_ssm style: small embeddings, residual output projections scaled by 1/sqrt(2 n_layers)."""
        nn.init.normal_(self.embedding.weight, std=0.02)
        for name, parameter in self.named_parameters():
            if name.endswith(("mixer.out_proj.weight", "mlp.fc2.weight")):
                with torch.no_grad():
                    parameter /= math.sqrt(2 * self.config.n_layers)

    def forward(self, tokens: Tensor, conditions: Conditions | None = None,
                cache: InferenceCache | None = None) -> Tensor:
        """Logits for every position.

        Args:
            tokens: [b, l] token ids.
            conditions: per-token condition streams of length l, or None (unconditional).
            cache: if given, filled in place (prefill), continuing after `cache.seqlen_offset` tokens.

        Returns:
            [b, l, v] logits.
        """
        x = self._embed(tokens, conditions)
        offset = 0 if cache is None else cache.seqlen_offset
        states = [None] * len(self.layers) if cache is None else cache.layers
        for layer, state in zip(self.layers, states, strict=True):
            x = layer(x, state, offset)
        if cache is not None:
            cache.seqlen_offset += tokens.shape[1]
        return self.lm_head(self.norm_f(x))

    def _embed(self, tokens: Tensor, conditions: Conditions | None, check: bool = True) -> Tensor:
        x = self.embedding(tokens)
        if conditions is not None:
            if conditions.video.shape[:2] != tokens.shape:
                raise ValueError(f"conditions cover {list(conditions.video.shape[:2])} tokens but the input is "
                                 f"{list(tokens.shape)}: give one condition vector per token")
            x = x + self.fuser(conditions, check).to(x.dtype)
        return self.drop(x)

    @torch.inference_mode()
    def step(self, token: Tensor, conditions: Conditions | None, cache: InferenceCache) -> Tensor:
        """Decode one token per sequence (under torch.inference_mode: the logits are inference tensors).

        Args:
            token: [b] the latest token ids.
            conditions: the conditions of this token (length 1, e.g. `conditions.at(t)`), or None.
            cache: from `allocate_inference_cache`, advanced by one position.

        Returns:
            [b, v] logits for the next token.
        """
        x = self._embed(token[:, None], conditions, check=False)[:, 0]  # per-token id checks would cost more than the step
        offset = cache.seqlen_offset
        for layer, state in zip(self.layers, cache.layers, strict=True):
            x = layer.step(x, state, offset)
        cache.seqlen_offset = offset + 1
        return self.lm_head(self.norm_f(x))

    def allocate_inference_cache(self, batch_size: int, device=None, dtype=None) -> InferenceCache:
        """Empty per-layer states for `batch_size` sequences (on the model's device by default)."""
        return InferenceCache(batch_size=batch_size,
                              layers=[layer.allocate_state(batch_size, device, dtype) for layer in self.layers])

    def num_parameters(self) -> int:
        """Number of distinct parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())
