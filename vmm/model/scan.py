"""Selective scan (the S6 recurrence of Mamba) in pure PyTorch: a fast chunked path and a reference.

    h_t = exp(delta_t * A) * h_{t-1} + delta_t * u_t * B_t        (per channel d and state n)
    y_t = C_t . h_t  (+ D * u_t, then * silu(z_t))

`selective_scan` is the training path when mamba_ssm's CUDA kernel is not used. It never loops in
Python over every token: time is cut into chunks (a short loop over chunks carries the state across),
and inside a chunk the linear recurrence is solved by a log-depth odd/even parallel scan. The chunk's
[batch, chunk, d_state, d_inner] blocks (2 MB at batch 2) stay in the CPU cache. The forward pass
keeps every chunk's states for the backward pass while they fit in SAVE_STATES_MAX_BYTES (64 MB for
2 x 1,024 tokens of a d_model 256 layer); beyond that only the states at chunk boundaries are kept
and the backward pass recomputes the rest (as the CUDA kernel does). The scan multiplies decays and
never divides by them, so it cannot overflow however large delta * A becomes.

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


def linear_scan_(a: Tensor, x: Tensor, _own_a: bool = False) -> Tensor:
    """Solve h_t = a_t * h_{t-1} + x_t with h_{-1} = 0 along dim 1, in place in x (a[:, 0] is not used).

    Odd/even parallel scan: combine neighbouring pairs, solve the half-length problem recursively (on
    strided views, so nothing is copied), then fill in the even positions. Work O(c), depth O(log c),
    any length. `a` is left as it was (the pair products go to a half-length tensor of its own), so
    the backward pass can reuse the decays without a copy.

    Args:
        a: [b, c, ...] decays (read only).
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
    x_odd, a_odd, a_even = x[:, 1 : 2 * pairs : 2], a[:, 1 : 2 * pairs : 2], a[:, 0 : 2 * pairs : 2]
    x_odd.addcmul_(a_odd, x[:, 0 : 2 * pairs : 2])  # pair (2k, 2k+1) folded into position 2k+1
    a_pairs = a_odd.mul_(a_even) if _own_a else a_odd * a_even
    linear_scan_(a_pairs, x_odd, _own_a=True)
    # Even positions 2, 4, ... follow the odd position just before them (their own a is untouched).
    x[:, 2::2].addcmul_(a[:, 2::2], x_odd[:, : (length - 1) // 2])
    return x


def reverse_linear_scan_(b: Tensor, g: Tensor, _own_b: bool = False) -> Tensor:
    """Solve G_t = g_t + b_t * G_{t+1} with G_c = 0 along dim 1, in place in g: the adjoint of
    `linear_scan_`.

    The same odd/even scheme mirrored (pairs counted from the end), so no tensor is flipped; `b` is
    left as it was.

    Args:
        b: [b, c-1, ...] decays between t and t+1 (b_t = a_{t+1} of the forward recurrence; read only).
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
    g_first, b_first, b_second = g[:, first::2], b[:, first::2], b[:, first + 1 :: 2]
    g_first.addcmul_(b_first, g[:, first + 1 :: 2])
    b_pairs = b_first[:, :-1].mul_(b_second) if _own_b else b_first[:, :-1] * b_second
    reverse_linear_scan_(b_pairs, g_first, _own_b=True)
    # The second element of a pair follows the first element of the next pair.
    g[:, first + 1 : -1 : 2].addcmul_(b_second, g_first[:, 1:])
    if first:
        g[:, 0].addcmul_(b[:, 0], g_first[:, 0])
    return g


# Saving every state of the forward pass spares the backward pass a second scan; past this many bytes
# of states (per call) the backward pass recomputes them chunk by chunk instead.
SAVE_STATES_MAX_BYTES = 512 * 2**20


class _ChunkedScan(torch.autograd.Function):
    """y_t = C_t . h_t for the recurrence above; h0 is the state before the first token.

    Inside, chunk blocks are laid out [b c n d] (d innermost, so every reduction runs over long rows).
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C, h0, chunk):
        # u, delta: [b, l, d]; A: [d, n]; B, C: [b, l, n]; h0: [b, d, n]
        batch, length, dim = u.shape
        A_t = A.t().contiguous()  # [n d]
        A2_t = A_t * LOG2_E
        v = delta * u
        h = h0.transpose(1, 2).contiguous()  # [b n d]
        save_states = any(ctx.needs_input_grad[:6])
        save_states &= batch * length * dim * A.shape[1] * 4 <= SAVE_STATES_MAX_BYTES
        decay = u.new_empty(batch, chunk, A.shape[1], dim)
        boundary_states, chunk_states = [], []
        y = u.new_empty(u.shape)
        for d_c, v_c, b_c, c_c, y_c in zip(*(t.split(chunk, dim=1) for t in (delta, v, B, C, y)), strict=True):
            boundary_states.append(h)
            decay_c = decay[:, : d_c.shape[1]]
            hs = linear_scan_(decay_c, _chunk_inputs(d_c, v_c, A2_t, b_c, h, decay_c), _own_a=True)
            torch.matmul(c_c[:, :, None, :], hs, out=y_c[:, :, None, :])
            h = hs[:, -1]
            if save_states:  # one tensor per chunk: small blocks are reused by malloc, a huge one is not
                chunk_states.append(hs)
        ctx.save_for_backward(u, delta, A_t, B, C, torch.stack(boundary_states))
        ctx.chunk_states = chunk_states
        ctx.chunk = chunk
        return y, h.transpose(1, 2)

    @staticmethod
    def backward(ctx, dy, dh_last):
        u, delta, A_t, B, C, boundary_states = ctx.saved_tensors
        chunk_states, ctx.chunk_states = ctx.chunk_states, None
        A2_t = A_t * LOG2_E
        v = delta * u
        dv, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dB, dC = u.new_empty(B.shape), u.new_empty(C.shape)
        carry = torch.zeros_like(boundary_states[0]) if dh_last is None else dh_last.transpose(1, 2)
        batch, length, dim = u.shape
        decay = u.new_empty(batch, ctx.chunk, A_t.shape[0], dim)
        work = torch.empty_like(decay)
        dA_terms = torch.zeros_like(decay)  # summed over batch and time once, after the loop
        starts = range(0, length, ctx.chunk)
        for index in reversed(range(len(starts))):
            at = slice(starts[index], starts[index] + ctx.chunk)
            d_c, v_c, b_c, c_c, dy_c = delta[:, at], v[:, at], B[:, at], C[:, at], dy[:, at]
            size, h_in = d_c.shape[1], boundary_states[index]
            decay_c, work_c = decay[:, :size], work[:, :size]
            if chunk_states:
                hs = chunk_states[index]
                _decays(d_c, A2_t, decay_c)
            else:
                hs = linear_scan_(decay_c, _chunk_inputs(d_c, v_c, A2_t, b_c, h_in, decay_c))
            G = torch.mul(dy_c[:, :, None, :], c_c[..., None])  # [b c n d]: gradient reaching h_t from y_t
            G[:, -1] += carry
            reverse_linear_scan_(decay_c[:, 1:], G)  # now the total gradient of h_t
            # Gradient of log decay_t = delta_t * A: G_t * decay_t * h_{t-1}.
            dlog_decay = torch.mul(G, decay_c, out=work_c)
            dlog_decay[:, 1:] *= hs[:, :-1]
            dlog_decay[:, 0] *= h_in
            torch.matmul(b_c[:, :, None, :], G, out=dv[:, at, None, :])
            torch.sum(G * v_c[:, :, None, :], dim=-1, out=dB[:, at])  # (a batched matvec is slower here)
            torch.sum(hs * dy_c[:, :, None, :], dim=-1, out=dC[:, at])
            carry = G[:, 0] * decay_c[:, 0]
            dA_terms[:, :size].addcmul_(dlog_decay, d_c[:, :, None, :])
            torch.sum(dlog_decay.mul_(A_t), dim=2, out=ddelta[:, at])
        ddelta.addcmul_(dv, u)  # v = delta * u
        return dv * delta, ddelta, dA_terms.sum((0, 1)).t(), dB, dC, carry.transpose(1, 2), None


def _decays(delta: Tensor, A2_t: Tensor, out: Tensor) -> Tensor:
    """exp(delta * A) of one chunk, [b c n d], written into `out`.

    A2_t is A (transposed, [n d]) times log2(e): exp2 gives the same value as exp, several times faster.
    """
    return torch.mul(delta[:, :, None, :], A2_t, out=out).exp2_()


def _chunk_inputs(delta: Tensor, v: Tensor, A2_t: Tensor, B: Tensor, h_in: Tensor, decay: Tensor) -> Tensor:
    """Decays (written into `decay`) and inputs v*B (v = delta*u; returned) of one chunk, both [b c n d];
    h_in folded into step 0."""
    _decays(delta, A2_t, decay)
    x = v[:, :, None, :] * B[..., None]
    x[:, 0].addcmul_(decay[:, 0], h_in)
    return x


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
