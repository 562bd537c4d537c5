"""RMSNorm with a hand-written backward pass, for the CPU.

PyTorch's RMSNorm is a composite of small ops on the CPU (pow, mean, rsqrt, two multiplies, and their
autograd graph): 1.5 ms forward + backward at 2 x 1,024 x 256 on this machine, against 0.4 ms for the
fused LayerNorm. This version does the same arithmetic in a few whole-tensor passes (0.9 ms). On CUDA
it defers to `F.rms_norm`. The module has the parameters of `nn.RMSNorm` (`weight`), so state dicts
move between them.

    y = x / sqrt(mean(x^2) + eps) * weight
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _RMSNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, eps: float) -> Tensor:
        rstd = torch.rsqrt(torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(x.shape[-1]).add_(eps))
        x_hat = x * rstd
        ctx.save_for_backward(x_hat, rstd, weight)
        return x_hat * weight

    @staticmethod
    def backward(ctx, dy: Tensor):
        x_hat, rstd, weight = ctx.saved_tensors
        dweight = None
        if ctx.needs_input_grad[1]:
            dweight = (dy * x_hat).flatten(0, -2).sum(0)
        g = dy * weight
        # d/dx of x * rstd(x): rstd * (g - x_hat * mean(g * x_hat))
        projection = torch.linalg.vecdot(g, x_hat, dim=-1).div_(x_hat.shape[-1]).unsqueeze(-1)
        dx = g.sub_(x_hat * projection).mul_(rstd)
        return dx, dweight, None


class RMSNorm(nn.Module):
    """Root-mean-square normalisation over the last dimension (of size `dim`), with a learned scale."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.normalized_shape, self.eps = (dim,), eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        if x.is_cuda or x.dtype != self.weight.dtype:
            return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)
        return _RMSNormFunction.apply(x, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
