"""The chunked selective scan equals the step-by-step reference, in outputs and in every gradient."""

import pytest
import torch

import vmm.model.scan as scan_module
from vmm.model.scan import linear_scan_, reverse_linear_scan_, selective_scan, selective_scan_reference


def _inputs(batch=2, length=37, dim=6, state=4, seed=0):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator).requires_grad_()

    return {
        "u": randn(batch, length, dim), "delta": randn(batch, length, dim),
        "A": (-3 * torch.rand(dim, state, generator=generator)).requires_grad_(),
        "B": randn(batch, length, state), "C": randn(batch, length, state), "D": randn(dim),
        "z": randn(batch, length, dim), "delta_bias": randn(dim), "initial_state": randn(batch, dim, state),
    }


def _run(scan, inputs, **kwargs):
    """Outputs, last state and the gradients of a loss that uses both."""
    for tensor in inputs.values():
        tensor.grad = None
    y, last = scan(**inputs, delta_softplus=True, return_last_state=True, **kwargs)
    weights = torch.linspace(-1, 1, y.numel()).reshape(y.shape)
    ((y * weights).sum() + (last**2).sum()).backward()
    return y.detach(), last.detach(), {name: tensor.grad.clone() for name, tensor in inputs.items()}


@pytest.mark.parametrize("chunk_size", [1, 4, 16, 64])
@pytest.mark.parametrize("length", [1, 37, 64])
def test_chunked_scan_matches_reference_outputs_and_gradients(chunk_size, length):
    inputs = _inputs(length=length)
    y, last, grads = _run(selective_scan, inputs, chunk_size=chunk_size)
    y_ref, last_ref, grads_ref = _run(selective_scan_reference, inputs)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(last, last_ref, rtol=1e-5, atol=1e-5)
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-4, atol=1e-4, msg=f"gradient of {name}")


def test_backward_recomputing_the_states_matches_the_reference(monkeypatch):
    """Past the memory budget the backward pass recomputes the chunk states instead of keeping them."""
    monkeypatch.setattr(scan_module, "SAVE_STATES_MAX_BYTES", 0)
    inputs = _inputs(length=37)
    _, _, grads = _run(selective_scan, inputs, chunk_size=8)
    _, _, grads_ref = _run(selective_scan_reference, inputs)
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-4, atol=1e-4, msg=f"gradient of {name}")


def test_scans_leave_their_decays_unchanged():
    a, x = torch.rand(2, 13, 3), torch.randn(2, 13, 3)
    original = a.clone()
    linear_scan_(a, x.clone())
    reverse_linear_scan_(a[:, 1:], x.clone())
    torch.testing.assert_close(a, original, rtol=0, atol=0)


def test_result_does_not_depend_on_chunk_size():
    inputs = _inputs(length=50)
    with torch.no_grad():
        results = [selective_scan(**inputs, delta_softplus=True, chunk_size=size) for size in (3, 7, 50, 128)]
    for result in results[1:]:
        torch.testing.assert_close(result, results[0], rtol=1e-5, atol=1e-5)


def test_huge_decays_stay_finite_and_exact():
    """Products of decays, never ratios: a decay of exp(-800) per step is no problem."""
    inputs = _inputs(length=40)
    with torch.no_grad():
        inputs["delta_bias"].fill_(50.0)
        inputs["A"].fill_(-16.0)
    y, _, grads = _run(selective_scan, inputs, chunk_size=16)
    y_ref, _, grads_ref = _run(selective_scan_reference, inputs)
    assert torch.isfinite(y).all() and all(torch.isfinite(g).all() for g in grads.values())
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grads["u"], grads_ref["u"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("length", [1, 2, 5, 8, 13])
def test_linear_scans_solve_their_recurrences(length):
    a, x = torch.rand(3, length, 2), torch.randn(3, length, 2)
    h, expected = linear_scan_(a.clone(), x.clone()), []
    state = torch.zeros(3, 2)
    for t in range(length):
        state = a[:, t] * state + x[:, t]
        expected.append(state)
    torch.testing.assert_close(h, torch.stack(expected, 1))
    b = a[:, 1:]
    G, expected = reverse_linear_scan_(b.clone(), x.clone()), [x[:, -1]]
    for t in reversed(range(length - 1)):
        expected.insert(0, x[:, t] + b[:, t] * expected[0])
    torch.testing.assert_close(G, torch.stack(expected, 1))


def test_zero_initial_state_is_the_default():
    inputs = _inputs(length=9)
    del inputs["initial_state"]
    with torch.no_grad():
        zero = torch.zeros(2, 6, 4)
        torch.testing.assert_close(selective_scan(**inputs), selective_scan(**inputs, initial_state=zero))


def test_bad_chunk_size_is_rejected():
    with pytest.raises(ValueError, match="chunk_size"):
        selective_scan(**_inputs(length=3), chunk_size=0)


def test_fast_softplus_matches_torch_in_value_and_gradient():
    from vmm.model.scan import softplus

    x = torch.cat([torch.linspace(-40, 40, 801), torch.tensor([-1e-8, 0.0, 1e-8, 19.99, 20.01, 100.0])])
    x = x.double().float().requires_grad_()
    expected = torch.nn.functional.softplus(x.detach().double())
    out = softplus(x)
    torch.testing.assert_close(out.double(), expected, rtol=2e-6, atol=0)
    out.sum().backward()
    torch.testing.assert_close(x.grad.double(), torch.sigmoid(x.detach().double()), rtol=1e-6, atol=1e-7)
