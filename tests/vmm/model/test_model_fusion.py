"""Condition fusion: gradient control per branch, the "none" switch, conditions checks."""

import pytest
import torch

from vmm.model import ConditionFuser, Conditions, VMMConfig, VMMModel, fusion, scale_gradient


def _conditions(batch=3, length=10, config=None, seed=0, **kwargs):
    generator = torch.Generator().manual_seed(seed)
    config = config or VMMConfig(vocab_size=30)
    clip = torch.randn(batch, length, config.clip_dim, generator=generator) if config.clip_dim else None
    return Conditions(video=torch.randn(batch, length, config.video_dim, generator=generator),
                      chords=torch.randint(0, config.n_chords, (batch, length), generator=generator),
                      key=torch.randint(0, config.n_keys, (batch,), generator=generator), clip=clip, **kwargs)


def _branch_grad_norms(fuser):
    norms = {}
    for name, params in fuser.branch_parameters().items():
        grads = [p.grad for p in params if p.grad is not None]
        norms[name] = sum(float(g.norm()) for g in grads)
    return norms


@pytest.mark.parametrize(("video_scale", "chord_scale"), [(0.0, 1.0), (1.0, 0.0), (0.3, 0.0)])
def test_a_branch_with_gradient_scale_zero_gets_no_gradient(video_scale, chord_scale):
    config = VMMConfig.tiny(30)
    config = VMMConfig.from_dict({**config.to_dict(), "video_grad_scale": video_scale,
                                  "chord_grad_scale": chord_scale})
    model = VMMModel(config)
    tokens = torch.randint(0, 30, (3, 10))
    model(tokens, _conditions(config=config)).logsumexp(-1).sum().backward()
    norms = _branch_grad_norms(model.fuser)
    assert (norms["video"] == 0) == (video_scale == 0)
    assert (norms["chords"] == 0) == (chord_scale == 0)


def test_gradient_scale_multiplies_the_gradient():
    x = torch.randn(5, requires_grad=True)
    scale_gradient(x, 0.25).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((5,), 0.25))
    assert scale_gradient(x, 0.0).requires_grad is False


def test_switched_off_streams_contribute_exactly_zero():
    config = VMMConfig(vocab_size=30, d_model=32, clip_dim=8)
    fuser = ConditionFuser(config)
    off = torch.zeros(3, dtype=torch.bool)
    conditions = _conditions(config=config, use_video=off, use_chords=off)
    assert torch.count_nonzero(fuser(conditions)) == 0
    # Per sample: video only for sample 0, chords only for sample 1, both for sample 2.
    mixed = conditions.with_switch(torch.tensor([True, False, True]), torch.tensor([False, True, True]))
    full = fuser(conditions.with_switch(None, None))
    video_only = fuser(conditions.with_switch(torch.ones(3, dtype=torch.bool), off))
    chords_only = fuser(conditions.with_switch(off, torch.ones(3, dtype=torch.bool)))
    out = fuser(mixed)
    torch.testing.assert_close(out[0], video_only[0])
    torch.testing.assert_close(out[1], chords_only[1])
    torch.testing.assert_close(out[2], full[2])


def test_under_none_the_output_does_not_depend_on_the_conditions():
    config = VMMConfig.tiny(30)
    model = VMMModel(config).eval()
    tokens = torch.randint(0, 30, (3, 12))
    off = torch.zeros(3, dtype=torch.bool)
    first = _conditions(length=12, config=config, seed=1, use_video=off, use_chords=off)
    second = _conditions(length=12, config=config, seed=2, use_video=off, use_chords=off)
    first.video.requires_grad_()
    out = model(tokens, first)
    torch.testing.assert_close(out, model(tokens, second), rtol=0, atol=0)
    torch.testing.assert_close(out, model(tokens, None), rtol=0, atol=0)
    out.sum().backward()
    assert first.video.grad is None or torch.count_nonzero(first.video.grad) == 0
    # ...while with the streams on, it does.
    assert not torch.allclose(model(tokens, first.with_switch(None, None)), out)


def test_missing_clip_features_count_as_zeros():
    config = VMMConfig(vocab_size=30, d_model=32, clip_dim=6)
    fuser = ConditionFuser(config)
    conditions = _conditions(config=config)
    zeros = Conditions(video=conditions.video, chords=conditions.chords, key=conditions.key,
                       clip=torch.zeros(3, 10, 6))
    torch.testing.assert_close(fuser(zeros), fuser(Conditions(conditions.video, conditions.chords, conditions.key)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"video": torch.zeros(3, 10, 5)}, "video conditions"),
        ({"chords": torch.zeros(3, 9, dtype=torch.long)}, "chords must be"),
        ({"chords": torch.full((3, 10), VMMConfig(vocab_size=1).n_chords)}, "chord ids"),
        ({"key": torch.tensor([0, 1, 25])}, "key ids"),
        ({"clip": torch.zeros(3, 10, 4)}, "clip features"),
    ],
)
def test_malformed_conditions_are_reported(change, message):
    fuser = ConditionFuser(VMMConfig(vocab_size=30, d_model=16))
    conditions = _conditions()
    for name, value in change.items():
        setattr(conditions, name, value)
    with pytest.raises(ValueError, match=message):
        fuser(conditions)


def test_conditions_must_cover_every_token():
    model = VMMModel(VMMConfig.tiny(30))
    with pytest.raises(ValueError, match="one condition vector per token"):
        model(torch.zeros(3, 11, dtype=torch.long), _conditions(config=model.config))


def test_conditions_at_slices_one_step():
    conditions = _conditions(config=VMMConfig(vocab_size=5, clip_dim=2))
    step = conditions.at(4)
    assert step.video.shape == (3, 1, 4) and step.chords.shape == (3, 1) and step.clip.shape == (3, 1, 2)
    torch.testing.assert_close(step.video[:, 0], conditions.video[:, 4])
    assert step.key is conditions.key
    assert conditions.to("cpu").chords.equal(conditions.chords)


def test_video_mlp_once_per_run_of_equal_rows_gives_the_per_token_result_and_gradients():
    config = VMMConfig.tiny(30)
    fuser = ConditionFuser(config)
    beat = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])  # runs of equal controls, as real ones come per beat
    per_beat = torch.randn(2, 4, config.video_dim)
    for features in (per_beat[:, beat], torch.randn(2, 10, config.video_dim)):  # runs, and all rows distinct
        results = []
        for run in (lambda x: fusion._once_per_run(fuser.video, x), fuser.video):
            fuser.zero_grad()
            out = run(features)
            out.square().sum().backward()
            results.append([out] + [p.grad for p in fuser.video.parameters()])
        for got, want in zip(*results, strict=True):
            torch.testing.assert_close(got, want)


def test_video_features_that_need_a_gradient_get_their_own():
    fuser = ConditionFuser(VMMConfig.tiny(30))
    features = torch.randn(1, 1, fuser.config.video_dim).expand(1, 6, -1).clone().requires_grad_()
    fusion._once_per_run(fuser.video, features).sum().backward()
    assert (features.grad != 0).all()  # every row, not only the first of its run
