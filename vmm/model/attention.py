"""Local causal attention: each token sees itself and the `window - 1` tokens before it.

Rotary positions (GPT-NeoX "rotate half" form) carry the order; PyTorch's scaled_dot_product_attention
does the work. Long sequences are cut into blocks of `window` queries, each attending to its own block
and the one before under a banded mask, so memory is O(l * window), never O(l^2). Decoding keeps a
ring buffer of `window` keys/values (see `vmm.model.cache.AttentionState`).

Einops letters: b batch, l time, d d_model, h heads, f head width, s key positions,
                n blocks, w tokens per block (the window)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from vmm.model.cache import AttentionState


class Rotary(nn.Module):
    """Rotary position embedding for head width `dim` (even)."""

    def __init__(self, dim: int, base: float = 10000.0):
        super().__init__()
        self.register_buffer("inv_freq", base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim),
                             persistent=False)

    def forward(self, q: Tensor, k: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
        """Rotate queries and keys [..., l, f] by the angles of `positions` [l] (absolute token indices)."""
        angles = torch.outer(positions.to(self.inv_freq.dtype), self.inv_freq)
        cos, sin = angles.cos().to(q.dtype), angles.sin().to(q.dtype)
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def sliding_window_attention(q: Tensor, k: Tensor, v: Tensor, window: int, dropout: float = 0.0) -> Tensor:
    """Causal attention restricted to the last `window` keys (the query's own position included).

    Args:
        q: [b, h, l, f] queries for the last l of the s key positions (s >= l).
        k, v: [b, h, s, f].

    Returns:
        [b, h, l, f].
    """
    length, keys = q.shape[2], k.shape[2]
    if keys <= window and length == keys:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
    if keys <= 2 * window:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=_band(keys - length, length, keys, window, q.device),
                                              dropout_p=dropout)
    return _blockwise_attention(q, k, v, window, dropout)


def _band(first: int, length: int, keys: int, window: int, device) -> Tensor:
    """Boolean mask [length, keys]: query i (at position first + i) sees keys j with 0 <= first+i-j < window."""
    distance = (torch.arange(first, first + length, device=device)[:, None]
                - torch.arange(keys, device=device)[None, :])
    return (distance >= 0) & (distance < window)


def _blockwise_attention(q: Tensor, k: Tensor, v: Tensor, window: int, dropout: float) -> Tensor:
    """Blocks of `window` queries attend to their block and the previous one: O(l * window) memory."""
    length, keys = q.shape[2], k.shape[2]
    n_blocks = -(-keys // window)
    tail = n_blocks * window - keys
    # Align queries with key positions (zero queries for the history, discarded) and pad the tail.
    q = F.pad(q, (0, 0, keys - length, tail))
    k, v = F.pad(k, (0, 0, 0, tail)), F.pad(v, (0, 0, 0, tail))
    first = F.scaled_dot_product_attention(q[:, :, :window], k[:, :, :window], v[:, :, :window],
                                           is_causal=True, dropout_p=dropout)
    # Blocks go to the batch dimension: SDPA's fused CPU kernel takes 4-d inputs only (5-d ones fall
    # back to the slower unfused path).
    q_blocks = rearrange(q[:, :, window:], "b h (n w) f -> (b n) h w f", w=window)
    k_pairs = rearrange(k.unfold(2, 2 * window, window), "b h n f s -> (b n) h s f")
    v_pairs = rearrange(v.unfold(2, 2 * window, window), "b h n f s -> (b n) h s f")
    rest = F.scaled_dot_product_attention(q_blocks, k_pairs, v_pairs, dropout_p=dropout,
                                          attn_mask=_band(window, window, 2 * window, window, q.device))
    rest = rearrange(rest, "(b n) h w f -> b h (n w) f", b=q.shape[0])
    out = torch.cat([first, rest], dim=2)
    return out[:, :, keys - length : keys]


class LocalAttention(nn.Module):
    """Multi-head sliding-window causal self-attention: [b, l, d] -> [b, l, d].

    Args:
        d_model: width; n_heads: heads (d_model / n_heads must be even); window: tokens seen per query;
        dropout: attention dropout in training.
    """

    def __init__(self, d_model: int, n_heads: int, window: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads, self.window, self.dropout = n_heads, window, dropout
        self.head_dim = d_model // n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        self.rotary = Rotary(self.head_dim)

    def forward(self, x: Tensor, state: AttentionState | None = None, offset: int = 0) -> Tensor:
        """Args: x [b, l, d]; state: ring buffer filled in place, continuing from `offset` tokens.

        Returns: [b, l, d].
        """
        q, k, v = rearrange(self.in_proj(x), "b l (three h f) -> three b h l f", three=3, h=self.n_heads)
        positions = torch.arange(offset, offset + x.shape[1], device=x.device)
        q, k = self.rotary(q, k, positions)
        if state is not None:
            past_k, past_v = state.history(offset)
            state.write(k, v, offset)
            k, v = torch.cat([past_k.to(k.dtype), k], dim=2), torch.cat([past_v.to(v.dtype), v], dim=2)
        out = sliding_window_attention(q, k, v, self.window, self.dropout if self.training else 0.0)
        return self.out_proj(rearrange(out, "b h l f -> b l (h f)"))

    def step(self, x: Tensor, state: AttentionState, offset: int) -> Tensor:
        """One token at position `offset`: x [b, d] -> [b, d]; writes its key/value into the ring."""
        # Views, not einops: at batch 1 decoding cost is per-call overhead.
        q, k, v = F.linear(x, self.in_proj.weight).view(x.shape[0], 3, self.n_heads, 1, self.head_dim).unbind(1)
        position = torch.tensor([offset], device=x.device)
        q, k = self.rotary(q, k, position)
        slot = offset % self.window
        state.keys[:, :, slot : slot + 1] = k
        state.values[:, :, slot : slot + 1] = v
        filled = min(offset + 1, self.window)  # slots 0 .. filled-1 hold the last `filled` positions
        out = F.scaled_dot_product_attention(q, state.keys[:, :, :filled], state.values[:, :, :filled])
        return F.linear(out.reshape(x.shape), self.out_proj.weight)

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> AttentionState:
        """Empty ring buffers of `window` slots."""
        device = self.out_proj.weight.device if device is None else device
        dtype = self.out_proj.weight.dtype if dtype is None else dtype
        shape = (batch_size, self.n_heads, self.window, self.head_dim)
        return AttentionState(keys=torch.zeros(shape, device=device, dtype=dtype),
                              values=torch.zeros(shape, device=device, dtype=dtype))
