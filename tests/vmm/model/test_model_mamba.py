"""The Mamba mixer keeps mamba_ssm's parameters and initialisation; its paths agree."""

import math

import pytest
import torch
import torch.nn.functional as F

from vmm.model.mamba import Mamba
from vmm.model.scan import selective_scan_reference

# mamba_ssm.Mamba(d_model=64, d_state=16, d_conv=4, expand=2).state_dict() shapes (mamba_ssm 2.2),
# written out by hand because mamba_ssm cannot be imported without CUDA.
MAMBA_SSM_SHAPES = {
    "A_log": (128, 16),
    "D": (128,),
    "in_proj.weight": (256, 64),
    "conv1d.weight": (128, 1, 4),
    "conv1d.bias": (128,),
    "x_proj.weight": (36, 128),
    "dt_proj.weight": (128, 4),
    "dt_proj.bias": (128,),
    "out_proj.weight": (64, 128),
}


def test_parameter_names_and_shapes_match_mamba_ssm():
    mixer = Mamba(64, d_state=16, d_conv=4, expand=2)
    assert {name: tuple(t.shape) for name, t in mixer.state_dict().items()} == MAMBA_SSM_SHAPES
    # ...so a mamba_ssm state dict loads strictly.
    mixer.load_state_dict({name: torch.randn(shape) for name, shape in MAMBA_SSM_SHAPES.items()}, strict=True)


def test_initialisation_follows_mamba_ssm():
    torch.manual_seed(0)
    mixer = Mamba(64, d_state=16, dt_rank=None)
    torch.testing.assert_close(mixer.A_log, torch.log(torch.arange(1.0, 17.0)).repeat(128, 1))
    torch.testing.assert_close(mixer.D, torch.ones(128))
    dt = F.softplus(mixer.dt_proj.bias.detach())
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
    assert math.log(float(dt.max() / dt.min())) > 2  # spread log-uniformly, not constant
    assert mixer.dt_proj.weight.abs().max() <= 4**-0.5
    assert mixer.dt_proj.bias._no_reinit and mixer.A_log._no_weight_decay


def _mamba_reference(mixer, x):
    """mamba_ssm's slow path, written out: conv1d with padding, then the reference scan."""
    u, z = mixer.in_proj(x).chunk(2, dim=-1)
    u = F.silu(mixer.conv1d(u.transpose(1, 2))[..., : x.shape[1]]).transpose(1, 2)
    dt, B, C = mixer.x_proj(u).split([mixer.dt_rank, mixer.d_state, mixer.d_state], dim=-1)
    y = selective_scan_reference(u, dt @ mixer.dt_proj.weight.t(), -torch.exp(mixer.A_log), B, C, mixer.D, z,
                                 mixer.dt_proj.bias, delta_softplus=True)
    return mixer.out_proj(y)


def test_forward_equals_the_mamba_ssm_slow_path():
    torch.manual_seed(0)
    mixer = Mamba(16, d_state=4, kernel="torch", chunk_size=8)
    x = torch.randn(2, 21, 16)
    torch.testing.assert_close(mixer(x), _mamba_reference(mixer, x), rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
def test_cuda_kernel_path_equals_the_torch_path():
    from vmm.model.kernels import mamba_kernels

    if mamba_kernels() is None:
        pytest.skip("mamba_ssm / causal_conv1d kernels are not installed")
    torch.manual_seed(0)
    fast = Mamba(64, kernel="auto").cuda()
    slow = Mamba(64, kernel="torch").cuda()
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(2, 300, 64, device="cuda", requires_grad=True)
    y_fast, y_slow = fast(x), slow(x)
    torch.testing.assert_close(y_fast, y_slow, rtol=1e-3, atol=1e-3)
    (grad_fast,) = torch.autograd.grad(y_fast.square().sum(), x)
    (grad_slow,) = torch.autograd.grad(y_slow.square().sum(), x)
    torch.testing.assert_close(grad_fast, grad_slow, rtol=1e-3, atol=1e-3)
    # The prefill states of the two paths agree too.
    states = [mixer.allocate_state(2) for mixer in (fast, slow)]
    with torch.no_grad():
        fast(x, states[0]), slow(x, states[1])
    torch.testing.assert_close(states[0].ssm, states[1].ssm, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(states[0].conv, states[1].conv)
