"""The inference cache: one protocol for both mixer kinds (after mamba_ssm's InferenceParams).

Each layer owns a state object, allocated once by `allocate_state(batch, device, dtype)`; the model
keeps them in an `InferenceCache` together with `seqlen_offset`, the number of tokens already seen
(the absolute position of the next token). Layers read the offset and update their state in place:

- a Mamba layer keeps its convolution window and its SSM state (constant size);
- an attention layer keeps a ring buffer of its last `window` keys and values (rotary already
  applied): the key of position p lives in slot p % window.

So memory and time per decoded token do not grow with the length of the piece.

Einops letters: b batch, e inner channels, n SSM state, k conv taps, h heads, w window slots, f head width
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class MambaState:
    """conv: [b, e, k] the last k inputs of the convolution (oldest first); ssm: [b, e, n] (fp32)."""

    conv: Tensor
    ssm: Tensor

    def reset(self) -> None:
        self.conv.zero_()
        self.ssm.zero_()


@dataclass
class AttentionState:
    """keys, values: [b, h, w, f] ring buffers; position p is in slot p % w."""

    keys: Tensor
    values: Tensor

    @property
    def window(self) -> int:
        return self.keys.shape[2]

    def history(self, offset: int) -> tuple[Tensor, Tensor]:
        """The last min(offset, window - 1) keys and values in time order: [b, h, m, f] each."""
        count = min(offset, self.window - 1)
        slots = torch.arange(offset - count, offset, device=self.keys.device) % self.window
        return self.keys[:, :, slots], self.values[:, :, slots]

    def write(self, keys: Tensor, values: Tensor, offset: int) -> None:
        """Store the keys/values [b, h, l, f] of positions offset .. offset+l-1 (the last `window` win)."""
        length = keys.shape[2]
        keep = min(length, self.window)
        slots = torch.arange(offset + length - keep, offset + length, device=self.keys.device) % self.window
        self.keys[:, :, slots] = keys[:, :, length - keep :].detach()
        self.values[:, :, slots] = values[:, :, length - keep :].detach()

    def reset(self) -> None:
        self.keys.zero_()
        self.values.zero_()


LayerState = MambaState | AttentionState


@dataclass
class InferenceCache:
    """Per-layer states and the number of tokens already processed.

    Allocate with `VMMModel.allocate_inference_cache`; `VMMModel.forward(..., cache=cache)` fills it
    (prefill) and `VMMModel.step` continues one token at a time. Both advance `seqlen_offset`.
    """

    batch_size: int
    layers: list[LayerState] = field(default_factory=list)
    seqlen_offset: int = 0

    def reset(self) -> None:
        """Forget everything: the next token is position 0 again."""
        for state in self.layers:
            state.reset()
        self.seqlen_offset = 0
