import pytest

from vmm.model import VMMConfig, VMMModel


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vocab_size": 0}, "vocab_size"),
        ({"d_model": -4}, "d_model"),
        ({"layer_pattern": ""}, "layer_pattern"),
        ({"layer_pattern": "MMXA"}, "unknown letters"),
        ({"n_heads": 3}, "n_heads"),
        ({"d_model": 12, "n_heads": 4}, "even"),
        ({"attn_window": 0}, "attn_window"),
        ({"dt_rank": 0}, "dt_rank"),
        ({"mlp_ratio": 0.0}, "mlp_ratio"),
        ({"dropout": 1.0}, "dropout"),
        ({"clip_dim": -1}, "clip_dim"),
        ({"video_grad_scale": -0.5}, "video_grad_scale"),
        ({"chord_grad_scale": float("nan")}, "chord_grad_scale"),
        ({"kernel": "cuda"}, "kernel"),
        ({"tie_embeddings": "yes"}, "tie_embeddings"),
        ({"d_state": 2.5}, "d_state"),
    ],
)
def test_bad_values_are_rejected_with_the_value(changes, message):
    with pytest.raises(ValueError, match=message):
        VMMConfig(**{"vocab_size": 100, **changes})


def test_attention_head_check_only_applies_with_attention_layers():
    VMMConfig(vocab_size=10, d_model=12, n_heads=5, layer_pattern="MM")


def test_dict_round_trip_and_unknown_keys():
    config = VMMConfig(vocab_size=321, layer_pattern="MMMA" * 2, clip_dim=512, dt_rank=8)
    assert VMMConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown model config keys"):
        VMMConfig.from_dict({**config.to_dict(), "d_modle": 3})


def test_derived_sizes():
    config = VMMConfig(vocab_size=10, d_model=100, expand=3, n_heads=5)
    assert (config.n_layers, config.d_inner, config.resolved_dt_rank) == (4, 300, 7)


def test_tiny_config_is_tiny_and_has_both_mixers():
    config = VMMConfig.tiny(vocab_size=20)
    assert set(config.layer_pattern) == {"M", "A"}
    n_params = VMMModel(config).num_parameters()
    embeddings = (20 + config.n_chords + config.n_keys) * config.d_model
    assert n_params - embeddings < 10_000
