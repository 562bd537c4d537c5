"""Selective scan (the S6 recurrence of Mamba) in pure PyTorch: a fast chunked path and a reference.

    h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t        (per channel d and state n)
    y_t = C_t . h_t  (+ D * u_t, then * silu(z_t))

`selective_scan` is the training path when mamba_ssm's CUDA kernel is not used. It never loops in
Python over every token: time is cut into chunks (a short loop over chunks carries the state across),
and inside a chunk the linear recurrence is solved by a log-depth odd/even parallel scan. The chunk's
[batch, chunk, d_inner, d_state] blocks stay small enough to live in the CPU cache, and only the
states at chunk boundaries are saved for the backward pass, which recomputes the rest (as the CUDA
kernel does). The scan multiplies decays and never divides by them, so it cannot overflow however
large delta * A becomes.

`selective_scan_reference` is the plain step-by-step loop the fast path is tested against.

Einops letters:
    b batch, l time (tokens), c tokens in one chunk, d inner channels (d_inner), n state size (d_state)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_CHUNK = 32


def linear_scan(a: Tensor, x: Tensor) -> Tensor:
    """Solve h_t = a_t * h_{t-1} + x_t with h_{-1} = 0 along dim 1 (a[:, 0] is not used).

    Odd/even parallel scan: combine neighbouring pairs, solve the half-length problem recursively,
    then fill in the even positions. Work O(L), depth O(log L); any length.

    Args:
        a, x: [b, c, ...] decays and inputs.

    Returns:
        h: [b, c, ...].
    """
    length = x.shape[1]
    if length == 1:
        return x
    pairs = length // 2
    a_odd = a[:, 1 : 2 * pairs : 2]
    x_odd = torch.addcmul(x[:, 1 : 2 * pairs : 2], a_odd, x[:, 0 : 2 * pairs : 2])
    h_odd = linear_scan(a_odd * a[:, 0 : 2 * pairs : 2], x_odd)
    h = torch.empty_like(x)
    h[:, 0] = x[:, 0]
    h[:, 1::2] = h_odd
    # Even positions 2, 4, ... follow the odd position just before them.
    n_even = (length - 1) // 2
    torch.addcmul(x[:, 2::2], a[:, 2::2], h_odd[:, :n_even], out=h[:, 2::2])
    return h


def reverse_linear_scan(b: Tensor, g: Tensor) -> Tensor:
    """Solve G_t = g_t + b_t * G_{t+1} with G_L = 0 along dim 1: the adjoint of `linear_scan`.

    The same odd/even scheme mirrored (pairs counted from the end), so no tensor is flipped.

    Args:
        b: [b, c-1, ...] decays between t and t+1 (b_t = a_{t+1} of the forward recurrence).
        g: [b, c, ...] inputs.

    Returns:
        G: [b, c, ...].
    """
    length = g.shape[1]
    if length == 1:
        return g
    first = length % 2  # with an odd length, position 0 stays out of the pairs
    b_first = b[:, first::2]  # links the first to the second element of each pair (t, t+1)
    g_first = torch.addcmul(g[:, first::2], b_first, g[:, first + 1 :: 2])
    G_first = reverse_linear_scan(b_first[:, :-1] * b[:, first + 1 :: 2], g_first)
    G = torch.empty_like(g)
    G[:, -1] = g[:, -1]
    G[:, first::2] = G_first
    # The second element of a pair follows the first element of the next pair.
    torch.addcmul(g[:, first + 1 : -1 : 2], b[:, first + 1 :: 2], G_first[:, 1:], out=G[:, first + 1 : -1 : 2])
    if first:
        torch.addcmul(g[:, 0], b[:, 0], G_first[:, 0], out=G[:, 0])
    return G


class _ChunkedScan(torch.autograd.Function):
    """y_t = C_t . h_t for the recurrence above; h0 is the state before the first token.

    Inside, chunk blocks are laid out [b c n d] (d innermost, so every reduction runs over long rows).
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk):
        # u, delta: [b, l, d]; A: [d, n]; B, C: [b, l, n]; h0: [b, d, n]
        A_t = A.t().contiguous()  # [n d]
        h = h0.transpose(1, 2).contiguous()  # [b n d]
        boundary_states = []
        y = u.new_empty(u.shape)
        for start in range(0, u.shape[1], chunk):
            end = min(start + chunk, u.shape[1])
            boundary_states.append(h)
            decay, hs = _chunk_states(u[:, start:end], delta[:, start:end], A_t, B[:, start:end], h)
            y[:, start:end] = (C[:, start:end, None, :] @ hs).squeeze(2)
            h = hs[:, -1]
        ctx.save_for_backward(u, delta, A_t, B, C, torch.stack(boundary_states))
        ctx.chunk = chunk
        return y, h.transpose(1, 2)

    @staticmethod
    def backward(ctx, dy, dh_last):
        u, delta, A_t, B, C, boundary_states = ctx.saved_tensors
        chunk = ctx.chunk
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dB, dC = torch.empty_like(B), torch.empty_like(C)
        dA_t = torch.zeros_like(A_t)
        carry = torch.zeros_like(boundary_states[0]) if dh_last is None else dh_last.transpose(1, 2)
        for index in reversed(range(boundary_states.shape[0])):
            start = index * chunk
            end = min(start + chunk, u.shape[1])
            h_in = boundary_states[index]
            d_c, u_c, b_c, dy_c = delta[:, start:end], u[:, start:end], B[:, start:end], dy[:, start:end]
            decay, hs = _chunk_states(u_c, d_c, A_t, b_c, h_in)
            g = dy_c[:, :, None, :] * C[:, start:end, :, None]  # [b c n d]: gradient reaching h_t from y_t
            g[:, -1] += carry
            G = reverse_linear_scan(decay[:, 1:], g)  # total gradient of h_t
            dlog_decay = G * decay  # gradient of delta_t * A: G_t * h_{t-1} * decay_t
            dlog_decay[:, 1:] *= hs[:, :-1]
            dlog_decay[:, 0] *= h_in
            GB = (b_c[:, :, None, :] @ G).squeeze(2)  # [b c d]
            ddelta[:, start:end] = (dlog_decay * A_t).sum(2) + GB * u_c
            du[:, start:end] = GB * d_c
            dB[:, start:end] = (G * (d_c * u_c)[:, :, None, :]).sum(-1)
            dC[:, start:end] = (hs * dy_c[:, :, None, :]).sum(-1)
            dA_t += (dlog_decay * d_c[:, :, None, :]).sum((0, 1))
            carry = G[:, 0] * decay[:, 0]
        return du, ddelta, dA_t.t(), dB, dC, carry.transpose(1, 2), None


def _chunk_states(u: Tensor, delta: Tensor, A_t: Tensor, B: Tensor, h_in: Tensor) -> tuple[Tensor, Tensor]:
    """States of one chunk. Returns decay exp(delta*A) and h, both [b c n d]."""
    decay = torch.exp(delta[:, :, None, :] * A_t)
    x = (delta * u)[:, :, None, :] * B[..., None]
    x[:, 0] += decay[:, 0] * h_in  # fold the incoming state into the first step
    return decay, linear_scan(decay, x)


def _prepare(u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    """Shared input handling of both paths: fp32, delta bias and softplus."""
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()
    if delta_softplus:
        delta = F.softplus(delta)
    return u.float(), delta, A.float(), B.float(), C.float()


def _finish(y: Tensor, u: Tensor, D: Tensor | None, z: Tensor | None, dtype: torch.dtype) -> Tensor:
    if D is not None:
        y = y + u * D.float()
    if z is not None:
        y = y * F.silu(z.float())
    return y.to(dtype)


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    initial_state: Tensor | None = None,
    return_last_state: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> Tensor | tuple[Tensor, Tensor]:
    """Chunked selective scan, differentiable in every input (initial_state included).

    Same arithmetic as mamba_ssm's `selective_scan_fn`, but time-major tensors ("b l d"), which is
    what the Mamba block produces on this path without transposes.

    Args:
        u: [b, l, d] input; delta: [b, l, d] step size (before bias/softplus); A: [d, n] (negative);
        B, C: [b, l, n]; D: [d] skip; z: [b, l, d] gate; delta_bias: [d];
        initial_state: [b, d, n] state before the first token (zeros if None);
        chunk_size: tokens per chunk (a memory/speed trade-off; results do not depend on it).

    Returns:
        y: [b, l, d] in u's dtype, and the last state [b, d, n] (fp32) if return_last_state.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    dtype = u.dtype
    u, delta, A, B, C = _prepare(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    batch, _, dim = u.shape
    h0 = u.new_zeros(batch, dim, A.shape[1]) if initial_state is None else initial_state.float()
    y, last = _ChunkedScan.apply(u, delta, A, B, C, h0, chunk_size)
    y = _finish(y, u, D, z, dtype)
    return (y, last) if return_last_state else y


def selective_scan_reference(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    initial_state: Tensor | None = None,
    return_last_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Step-by-step selective scan (one Python iteration per token): the ground truth for tests.

    Same arguments and results as `selective_scan`.
    """
    dtype = u.dtype
    u, delta, A, B, C = _prepare(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    batch, length, dim = u.shape
    h = u.new_zeros(batch, dim, A.shape[1]) if initial_state is None else initial_state.float()
    ys = []
    for t in range(length):
        decay = torch.exp(delta[:, t, :, None] * A)
        h = decay * h + (delta[:, t] * u[:, t])[..., None] * B[:, t, None, :]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, t]))
    y = _finish(torch.stack(ys, dim=1), u, D, z, dtype)
    return (y, h) if return_last_state else y
