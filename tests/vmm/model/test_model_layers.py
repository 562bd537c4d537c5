"""The CPU fast paths of two small layers against PyTorch's own: RMSNorm and the causal convolution."""

import pytest
import torch
from torch import nn

from vmm.model.causal_conv import causal_conv1d
from vmm.model.norm import RMSNorm


def test_rms_norm_equals_pytorchs_in_outputs_and_gradients_and_shares_its_state_dict():
    torch.manual_seed(0)
    ours, reference = RMSNorm(16), nn.RMSNorm(16, eps=1e-5)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
    reference.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 16, requires_grad=True)
    grad = torch.randn(3, 7, 16)
    results = []
    for norm in (ours, reference):
        x.grad = None
        out = norm(x)
        out.backward(grad)
        results.append((out, x.grad, norm.weight.grad))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want)


def test_rms_norm_gradients_pass_gradcheck():
    norm = RMSNorm(6).double()
    x = torch.randn(2, 5, 6, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(norm, (x,))


@pytest.mark.parametrize("length", [1, 2, 3, 9])
@pytest.mark.parametrize("taps", [2, 4])
def test_causal_conv_equals_a_left_padded_depthwise_conv1d(length, taps):
    torch.manual_seed(length)
    conv = nn.Conv1d(5, 5, taps, groups=5, padding=taps - 1).double()
    u = torch.randn(2, length, 5, dtype=torch.double, requires_grad=True)
    reference = conv(u.transpose(1, 2))[..., :length].transpose(1, 2)
    torch.testing.assert_close(causal_conv1d(u, conv.weight, conv.bias), reference)
    assert torch.autograd.gradcheck(causal_conv1d, (u, conv.weight, conv.bias))


def test_causal_conv_takes_a_strided_view_like_in_projs_half():
    conv = nn.Conv1d(4, 4, 4, groups=4, padding=3)
    both = torch.randn(2, 6, 8)
    u = both[..., :4]  # not contiguous
    torch.testing.assert_close(causal_conv1d(u, conv.weight, conv.bias),
                               conv(u.transpose(1, 2))[..., :6].transpose(1, 2))
