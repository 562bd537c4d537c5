"""Selective scan (the S6 recurrence of Mamba) in pure PyTorch: a fast chunked path and a reference.

    h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t        (per channel d and state n)
    y_t = C_t . h_t  (+ D * u_t, then * silu(z_t))

`selective_scan` is the training path when mamba_ssm's CUDA kernel is not used. It never loops in
Python over every token: time is cut into chunks (a short loop over chunks carries the state across),
and inside a chunk the linear recurrence is solved by a log-depth odd/even parallel scan. The chunk's
[batch, chunk, d_state, d_inner] blocks (2 MB at batch 2) stay in the CPU cache, and only the
states at chunk boundaries are saved for the backward pass, which recomputes the rest (as the CUDA
kernel does). The scan multiplies decays and never divides by them, so it cannot overflow however
large delta * A becomes.

`selective_scan_reference` is the plain step-by-step loop the fast path is tested against.

Einops letters:
    b batch, l time (tokens), c tokens in one chunk, d inner channels (d_inner), n state size (d_state)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_CHUNK = 32
LOG2_E = math.log2(math.e)


def linear_scan_(a: Tensor, x: Tensor) -> Tensor:
    """Solve h_t = a_t * h_{t-1} + x_t with h_{-1} = 0 along dim 1, in place (a[:, 0] is not used).

    Odd/even parallel scan: combine neighbouring pairs, solve the half-length problem recursively (on
    strided views, so nothing is copied), then fill in the even positions. Work O(c), depth O(log c),
    any length.

    Args:
        a: [b, c, ...] decays; overwritten with partial products.
        x: [b, c, ...] inputs; overwritten with the states h.

    Returns:
        x, now holding h.
    """
    length = x.shape[1]
    if length <= 2:
        if length == 2:
            x[:, 1].addcmul_(a[:, 1], x[:, 0])
        return x
    pairs = length // 2
    x_odd, a_odd = x[:, 1 : 2 * pairs : 2], a[:, 1 : 2 * pairs : 2]
    x_odd.addcmul_(a_odd, x[:, 0 : 2 * pairs : 2])  # pair (2k, 2k+1) folded into position 2k+1
    a_odd.mul_(a[:, 0 : 2 * pairs : 2])
    linear_scan_(a_odd, x_odd)
    # Even positions 2, 4, ... follow the odd position just before them.
    x[:, 2::2].addcmul_(a[:, 2::2], x_odd[:, : (length - 1) // 2])
    return x


def reverse_linear_scan_(b: Tensor, g: Tensor) -> Tensor:
    """Solve G_t = g_t + b_t * G_{t+1} with G_c = 0 along dim 1, in place: the adjoint of `linear_scan_`.

    The same odd/even scheme mirrored (pairs counted from the end), so no tensor is flipped.

    Args:
        b: [b, c-1, ...] decays between t and t+1 (b_t = a_{t+1} of the forward recurrence); overwritten.
        g: [b, c, ...] inputs; overwritten with G.

    Returns:
        g, now holding G.
    """
    length = g.shape[1]
    if length <= 2:
        if length == 2:
            g[:, 0].addcmul_(b[:, 0], g[:, 1])
        return g
    first = length % 2  # with an odd length, position 0 stays out of the pairs
    g_first, b_first = g[:, first::2], b[:, first::2]  # first elements of the pairs (t, t+1)
    g_first.addcmul_(b_first, g[:, first + 1 :: 2])
    b_first[:, :-1].mul_(b[:, first + 1 :: 2])
    reverse_linear_scan_(b_first[:, :-1], g_first)
    # The second element of a pair follows the first element of the next pair.
    g[:, first + 1 : -1 : 2].addcmul_(b[:, first + 1 :: 2], g_first[:, 1:])
    if first:
        g[:, 0].addcmul_(b[:, 0], g_first[:, 0])
    return g


class _ChunkedScan(torch.autograd.Function):
    """y_t = C_t . h_t for the recurrence above; h0 is the state before the first token.

    Inside, chunk blocks are laid out [b c n d] (d innermost, so every reduction runs over long rows).
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk):
        # u, delta: [b, l, d]; A: [d, n]; B, C: [b, l, n]; h0: [b, d, n]
        A_t = A.t().contiguous()  # [n d]
        A2_t = A_t * LOG2_E
        v = delta * u
        h = h0.transpose(1, 2).contiguous()  # [b n d]
        boundary_states = []
        y = u.new_empty(u.shape)
        for d_c, v_c, b_c, c_c, y_c in zip(*(t.split(chunk, dim=1) for t in (delta, v, B, C, y)), strict=True):
            boundary_states.append(h)
            decay, x = _chunk_inputs(d_c, v_c, A2_t, b_c, h)
            hs = linear_scan_(decay, x)
            torch.matmul(c_c[:, :, None, :], hs, out=y_c[:, :, None, :])
            h = hs[:, -1]
        ctx.save_for_backward(u, delta, A_t, B, C, torch.stack(boundary_states))
        ctx.chunk = chunk
        return y, h.transpose(1, 2)

    @staticmethod
    def backward(ctx, dy, dh_last):
        u, delta, A_t, B, C, boundary_states = ctx.saved_tensors
        A2_t = A_t * LOG2_E
        v = delta * u
        dv, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dB, dC = torch.empty_like(B), torch.empty_like(C)
        dA_t = torch.zeros_like(A_t)
        carry = torch.zeros_like(boundary_states[0]) if dh_last is None else dh_last.transpose(1, 2)
        chunks = zip(*(t.split(ctx.chunk, dim=1) for t in (delta, v, B, C, dy, dv, ddelta, dB, dC)), boundary_states,
                     strict=True)
        for d_c, v_c, b_c, c_c, dy_c, dv_c, ddelta_c, dB_c, dC_c, h_in in reversed(list(chunks)):
            decay, x = _chunk_inputs(d_c, v_c, A2_t, b_c, h_in)
            hs = linear_scan_(decay.clone(), x)
            g = dy_c[:, :, None, :] * c_c[..., None]  # [b c n d]: gradient reaching h_t from y_t
            g[:, -1] += carry
            G = reverse_linear_scan_(decay[:, 1:].clone(), g)  # total gradient of h_t
            dlog_decay = G * decay  # gradient of delta_t * A: G_t * h_{t-1} * decay_t
            dlog_decay[:, 1:] *= hs[:, :-1]
            dlog_decay[:, 0] *= h_in
            torch.matmul(b_c[:, :, None, :], G, out=dv_c[:, :, None, :])
            torch.sum(dlog_decay * A_t, dim=2, out=ddelta_c)
            torch.sum(G * v_c[:, :, None, :], dim=-1, out=dB_c)
            torch.sum(hs * dy_c[:, :, None, :], dim=-1, out=dC_c)
            dA_t += (dlog_decay * d_c[:, :, None, :]).sum((0, 1))
            carry = G[:, 0] * decay[:, 0]
        ddelta.addcmul_(dv, u)  # v = delta * u
        return dv * delta, ddelta, dA_t.t(), dB, dC, carry.transpose(1, 2), None


def _chunk_inputs(delta: Tensor, v: Tensor, A2_t: Tensor, B: Tensor, h_in: Tensor) -> tuple[Tensor, Tensor]:
    """Decays exp(delta*A) and inputs v*B (v = delta*u) of one chunk, both [b c n d]; h_in folded into step 0.

    A2_t is A (transposed, [n d]) times log2(e): exp2 gives the same value as exp, several times faster.
    """
    decay = torch.exp2(delta[:, :, None, :] * A2_t)
    x = v[:, :, None, :] * B[..., None]
    x[:, 0].addcmul_(decay[:, 0], h_in)
    return decay, x


class _Softplus(torch.autograd.Function):
    """log(1 + e^x) from exp2 and log (this CPU build's log1p is scalar and ~10x slower); exact gradient."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        y = torch.exp2(x * LOG2_E)
        u = 1 + y
        log1p = torch.where(u == 1, y, torch.log(u) * (y / (u - 1)))  # Kahan's log1p(y), accurate for small y
        return torch.where(x > 20, x, log1p)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.sigmoid(x)


def softplus(x: Tensor) -> Tensor:
    """softplus(x) = log(1 + exp(x)), as F.softplus (threshold 20) but faster on CPUs."""
    return _Softplus.apply(x)


def _prepare(u, delta, A, B, C, delta_bias, delta_softplus, softplus_fn):
    """Shared input handling of both paths: fp32, delta bias and softplus."""
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()
    if delta_softplus:
        delta = softplus_fn(delta)
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
    u, delta, A, B, C = _prepare(u, delta, A, B, C, delta_bias, delta_softplus, softplus)
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
    u, delta, A, B, C = _prepare(u, delta, A, B, C, delta_bias, delta_softplus, F.softplus)
    batch, length, dim = u.shape
    h = u.new_zeros(batch, dim, A.shape[1]) if initial_state is None else initial_state.float()
    ys = []
    for t in range(length):
        decay = torch.exp(delta[:, t, :, None] * A)
        h = decay * h + (delta[:, t] * u[:, t])[..., None] * B[:, t, None, :]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, t]))
    y = _finish(torch.stack(ys, dim=1), u, D, z, dtype)
    return (y, h) if return_last_state else y
