"""The decoder with its conditions: shapes, causality, cache parity, null conditions, overfitting a clip."""

import numpy as np
import pytest
import torch

from vmm.audio.chroma import chroma_from_audio
from vmm.audio.codec import tiny_codec
from vmm.audio.conditions import AudioConditions, WindowInputs, collate
from vmm.audio.config import AudioLMConfig, preset
from vmm.audio.lm import AudioLM
from vmm.audio.sampling import SamplingSettings, generate_window, sample_top_k


def window_inputs(num_frames, seed=0, feature_dim=7):
    gen = torch.Generator().manual_seed(seed)
    return WindowInputs(
        video_long=torch.randn(16, feature_dim, generator=gen),
        video_short=torch.randn(4, feature_dim, generator=gen),
        video_short_frames=torch.arange(4).float() * num_frames / 4,
        score_ids=torch.randint(1, 4000, (12,), generator=gen),
        score_frames=torch.randint(0, num_frames, (12,), generator=gen).float(),
        chroma=torch.eye(12)[torch.randint(0, 12, (num_frames,), generator=gen)],
    )


@pytest.fixture
def lm():
    torch.manual_seed(0)
    return AudioLM(AudioLMConfig()).eval()


def test_shapes_and_loss(lm):
    codes = torch.randint(0, 64, (2, 4, 30))
    cond = collate([window_inputs(30), WindowInputs()], 30)  # the second item has no condition at all
    logits = lm(codes, cond)
    assert logits.shape == (2, 4, 30, 64)
    assert torch.isfinite(logits).all()
    loss, per_codebook = lm.loss(codes, cond)
    assert per_codebook.shape == (4,)
    assert abs(loss.item() - np.log(64)) < 0.5  # an untrained model is near uniform


def test_causal_over_frames_and_delay_exposes_coarse_codes(lm):
    """Cell (0, t) sees only frames < t; with the delay pattern, cell (1, t) sees codebook 0 at frame t."""
    codes = torch.randint(0, 64, (1, 4, 20))
    cond = collate([window_inputs(20)], 20)
    base = lm(codes, cond)
    changed = codes.clone()
    changed[..., 10:] = torch.randint(0, 64, (1, 4, 10))
    after = lm(changed, cond)
    assert torch.allclose(base[:, 0, :11], after[:, 0, :11], atol=1e-5)
    assert not torch.allclose(base[:, 0, 11:], after[:, 0, 11:], atol=1e-5)
    coarse = codes.clone()
    coarse[:, 0, 10] = (coarse[:, 0, 10] + 1) % 64
    moved = lm(coarse, cond)
    assert torch.allclose(base[:, 0, :11], moved[:, 0, :11], atol=1e-5)
    assert not torch.allclose(base[:, 1, 10], moved[:, 1, 10], atol=1e-5)


def test_cached_steps_equal_the_full_forward(lm):
    codes = torch.randint(0, 64, (1, 4, 12))
    cond = collate([window_inputs(12)], 12)
    fused = lm.fuse(cond, 1, 12)
    seq = lm.pattern.build(codes, lm.config.special_token)[:, :, :-1]
    full, _ = lm.step_logits(seq, fused)
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    cache = EncoderDecoderCache(DynamicCache(config=lm.decoder.config), DynamicCache(config=lm.decoder.config))
    parts, _ = lm.step_logits(seq[:, :, :5], fused, 0, cache)
    steps = [parts]
    for s in range(5, seq.shape[-1]):
        logits, cache = lm.step_logits(seq[:, :, s:s + 1], fused, s, cache)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=2), full, atol=1e-5)


def test_dropped_streams_equal_absent_streams(lm):
    """The null condition of CFG (all streams dropped) is exactly 'no condition'; so is one dropped stream."""
    codes = torch.randint(0, 64, (1, 4, 16))
    cond = collate([window_inputs(16)], 16)
    none = {name: torch.zeros(1, dtype=torch.bool) for name in lm.config.streams()}
    assert torch.allclose(lm(codes, cond, keep=none), lm(codes, AudioConditions()), atol=1e-6)
    without_video = AudioConditions(**{**cond.__dict__, "video_long": None, "video_long_mask": None,
                                       "video_short": None, "video_short_frames": None, "video_short_mask": None})
    drop_video = {"video": torch.zeros(1, dtype=torch.bool)}
    assert torch.allclose(lm(codes, cond, keep=drop_video), lm(codes, without_video), atol=1e-6)
    assert not torch.allclose(lm(codes, cond), lm(codes, without_video), atol=1e-4)


def test_generate_window_keeps_the_prompt_and_is_seeded(lm):
    cond = collate([window_inputs(20)], 20)
    prompt = torch.randint(0, 64, (1, 4, 6))
    first = generate_window(lm, cond, 20, prompt=prompt, generator=torch.Generator().manual_seed(1))
    again = generate_window(lm, cond, 20, prompt=prompt, generator=torch.Generator().manual_seed(1))
    assert first.shape == (1, 4, 20)
    assert torch.equal(first[..., :6], prompt)
    assert torch.equal(first, again)
    assert first.min() >= 0 and first.max() < 64


def test_top_k_only_draws_from_the_k_best():
    logits = torch.tensor([[0.0, 5.0, 4.0, -1.0, 3.0]]).repeat(500, 1)
    drawn = sample_top_k(logits, 2, 1.0, torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) == {1, 2}
    with pytest.raises(ValueError, match="temperature"):
        SamplingSettings(temperature=0.0)


def test_presets_build_decoder_configs():
    small = preset("small").decoder_config()
    assert (small.hidden_size, small.num_hidden_layers, small.vocab_size) == (256, 6, 2048)
    big = preset("musicgen_small")
    assert (big.hidden_size, big.num_layers, big.num_heads, big.ffn_dim) == (1024, 24, 16, 4096)
    assert big.clip_dim == 512
    with pytest.raises(ValueError, match="summed"):
        AudioLMConfig(fuse={"cross": ["chroma"], "sum": ["video"]})
    with pytest.raises(ValueError, match="fuse mode"):
        AudioLMConfig(fuse={"prepend": ["chroma"]})


def test_tiny_decoder_overfits_a_two_second_clip(tone):
    """Threshold: a uniform guess costs ln 64 = 4.16 nats per code. A decoder that has memorised the
    clip must do better than 0.25 nats (the right code at >= 78 % geometric-mean probability) after
    120 steps; then greedy sampling from the cache-based sampler reproduces the clip's codes."""
    torch.manual_seed(0)
    wav = tone([60, 64, 67, 72], 0.5)  # 2 s, C E G C
    codec = tiny_codec()
    codes = codec.encode(torch.from_numpy(wav)[None, None])
    assert codes.shape == (1, 4, 100)
    inputs = window_inputs(100)
    inputs.chroma = chroma_from_audio(wav, 32000, 50.0, 100)
    cond = collate([inputs], 100)
    lm = AudioLM(AudioLMConfig())
    optimizer = torch.optim.AdamW(lm.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(120):
        loss, _ = lm.loss(codes, cond)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    lm.eval()
    with torch.no_grad():
        final, _ = lm.loss(codes, cond)
    assert final.item() < 0.25
    greedy = SamplingSettings(top_k=1, cfg_coef=1.0)
    sampled = generate_window(lm, cond, 100, settings=greedy, generator=torch.Generator().manual_seed(0))
    assert (sampled == codes).float().mean() > 0.95
    audio = codec.decode(sampled)
    assert audio.shape == (1, 1, 100 * 640)
