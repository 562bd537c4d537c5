"""The backbone: shapes, causality, recurrent decoding equal to the full forward, attention blocks."""

import pytest
import torch
import torch.nn.functional as F

from vmm.model import Conditions, VMMConfig, VMMModel
from vmm.model.attention import sliding_window_attention

VOCAB = 40
WINDOW = 8


def _model(pattern, seed=0, **changes):
    torch.manual_seed(seed)
    config = VMMConfig(vocab_size=VOCAB, d_model=32, layer_pattern=pattern, d_state=8, n_heads=4,
                       attn_window=WINDOW, mlp_ratio=2.0, kernel="torch", **changes)
    return VMMModel(config).eval()


def _conditions(batch, length, seed=0, requires_grad=False):
    generator = torch.Generator().manual_seed(seed)
    return Conditions(video=torch.randn(batch, length, 4, generator=generator).requires_grad_(requires_grad),
                      chords=torch.randint(0, 157, (batch, length), generator=generator),
                      key=torch.tensor([3, 24][:batch]))


def _tokens(batch, length, seed=0):
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


def _slice(conditions, start, end):
    return Conditions(video=conditions.video[:, start:end], chords=conditions.chords[:, start:end],
                      key=conditions.key)


def test_shapes_with_and_without_conditions():
    model = _model("MMA")
    tokens = _tokens(2, 19)
    assert model(tokens).shape == (2, 19, VOCAB)
    assert model(tokens, _conditions(2, 19)).shape == (2, 19, VOCAB)
    cache = model.allocate_inference_cache(2)
    assert model.step(tokens[:, 0], None, cache).shape == (2, VOCAB)
    assert cache.seqlen_offset == 1


def _embedding_gradients(model, tokens, position, conditions=None):
    """d logits[:, position] / d (input embeddings), [b, l, d]."""
    embedded = model.embedding(tokens).detach().requires_grad_()
    handle = model.embedding.register_forward_hook(lambda module, args, output: embedded)
    try:
        model(tokens, conditions)[:, position].sum().backward()
    finally:
        handle.remove()
    return embedded.grad


@pytest.mark.parametrize("pattern", ["MMM", "AAA", "MAMA", "AM"])
def test_output_at_t_has_no_gradient_from_later_inputs(pattern):
    model = _model(pattern)
    tokens = _tokens(2, 3 * WINDOW + 5)  # longer than two windows: the block-wise attention path
    for position in (0, 7, 13, tokens.shape[1] - 2):
        grad = _embedding_gradients(model, tokens, position).abs().sum(dim=(0, 2))
        assert torch.count_nonzero(grad[position + 1 :]) == 0, f"future leaks into position {position}"
        assert grad[position] > 0
    if "M" in pattern:  # Mamba layers see the whole past
        assert grad[0] > 0


def test_attention_only_stack_sees_exactly_its_receptive_field():
    model = _model("AA")
    tokens = _tokens(1, 40)
    position = 35
    grad = _embedding_gradients(model, tokens, position).abs().sum(dim=(0, 2))
    reach = 2 * (WINDOW - 1)  # two layers of windows
    assert torch.count_nonzero(grad[: position - reach]) == 0
    assert torch.all(grad[position - reach : position + 1] > 0)


@pytest.mark.parametrize("pattern", ["MMA", "AM"])
def test_conditions_after_t_do_not_reach_t(pattern):
    model = _model(pattern)
    length = 3 * WINDOW
    conditions = _conditions(2, length, requires_grad=True)
    model(_tokens(2, length), conditions)[:, 10].sum().backward()
    grad = conditions.video.grad.abs().sum(dim=(0, 2))
    assert torch.count_nonzero(grad[11:]) == 0 and grad[10] > 0


@pytest.mark.parametrize("pattern", ["MMMM", "AAAA", "MAMA", "MMMA"])
@pytest.mark.parametrize("with_conditions", [False, True])
def test_prefill_then_step_reproduces_the_full_forward(pattern, with_conditions):
    model = _model(pattern)
    length, prefill = 4 * WINDOW + 3, WINDOW + 3  # beyond the window: the ring buffer wraps
    tokens = _tokens(2, length)
    conditions = _conditions(2, length) if with_conditions else None
    with torch.no_grad():
        full = model(tokens, conditions)
        cache = model.allocate_inference_cache(2)
        logits = [model(tokens[:, :prefill], conditions and _slice(conditions, 0, prefill), cache=cache)]
        for t in range(prefill, length):
            logits.append(model.step(tokens[:, t], conditions and conditions.at(t), cache)[:, None])
    torch.testing.assert_close(torch.cat(logits, dim=1), full, rtol=1e-4, atol=1e-4)
    assert cache.seqlen_offset == length


@pytest.mark.parametrize("pattern", ["MMMM", "AAAA", "MAMA"])
def test_prefill_in_pieces_and_step_from_scratch_reproduce_the_full_forward(pattern):
    model = _model(pattern, seed=1)
    length = 3 * WINDOW + 1
    tokens = _tokens(2, length, seed=1)
    with torch.no_grad():
        full = model(tokens)
        cache = model.allocate_inference_cache(2)
        pieces = [model(tokens[:, a:b], cache=cache) for a, b in ((0, 3), (3, 3 + 2 * WINDOW), (3 + 2 * WINDOW, length))]
        torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-4, atol=1e-4)
        cache.reset()
        steps = torch.stack([model.step(tokens[:, t], None, cache) for t in range(length)], dim=1)
    torch.testing.assert_close(steps, full, rtol=1e-4, atol=1e-4)


def test_cache_size_does_not_grow_with_length():
    model = _model("MA")
    cache = model.allocate_inference_cache(1)

    def size():
        return sum(t.numel() for state in cache.layers for t in vars(state).values())

    before = size()
    token = torch.zeros(1, dtype=torch.long)
    for _ in range(5 * WINDOW):
        model.step(token, None, cache)
    assert size() == before


def _dense_window_attention(q, k, v, window):
    first = k.shape[2] - q.shape[2]
    distance = torch.arange(first, k.shape[2])[:, None] - torch.arange(k.shape[2])[None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=(distance >= 0) & (distance < window))


@pytest.mark.parametrize(("queries", "keys", "window"), [(5, 5, 8), (13, 13, 8), (37, 37, 8), (64, 64, 16),
                                                          (30, 37, 8), (4, 11, 8), (50, 57, 8)])
def test_blockwise_attention_equals_the_dense_band(queries, keys, window):
    generator = torch.Generator().manual_seed(queries + keys)
    q = torch.randn(2, 3, queries, 4, generator=generator)
    k, v = torch.randn(2, 2, 3, keys, 4, generator=generator)
    torch.testing.assert_close(sliding_window_attention(q, k, v, window), _dense_window_attention(q, k, v, window))


def test_tiny_model_overfits_one_sequence():
    torch.manual_seed(0)
    model = VMMModel(VMMConfig.tiny(vocab_size=24)).train()
    tokens = torch.randint(0, 24, (1, 33))
    conditions = _conditions(1, 32)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        logits = model(tokens[:, :-1], conditions)
        loss = F.cross_entropy(logits.reshape(-1, 24), tokens[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[0] > 2.5 and losses[-1] < 0.3 * losses[0], losses[::10]
