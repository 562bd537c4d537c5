import math

import pytest
import torch

from vmm.errors import VMMError
from vmm.model import Conditions, VMMConfig
from vmm.training.module import VMMLightningModule, lr_factor, model_config, parameter_groups

ARCH = {"d_model": 16, "layer_pattern": "MA", "d_state": 4, "n_heads": 2, "attn_window": 8, "mlp_ratio": 2.0}


def test_model_config_checks_settings():
    config = model_config(ARCH, 100)
    assert isinstance(config, VMMConfig) and config.vocab_size == 100 and config.layer_pattern == "MA"
    with pytest.raises(VMMError, match="d_modl"):
        model_config({"d_modl": 3}, 100)
    with pytest.raises(VMMError, match="layer_pattern"):
        model_config({"layer_pattern": "MX"}, 100)
    with pytest.raises(VMMError, match="switch_schedule"):
        VMMLightningModule(ARCH, vocab_size=100, switch_schedule=[(0.0, {"sometimes": 1.0})])


def test_weight_decay_groups():
    module = VMMLightningModule(ARCH, vocab_size=100)
    decay, plain = parameter_groups(module.model, 0.1)
    names = {id(p): n for n, p in module.model.named_parameters()}
    assert all(p.ndim >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    plain_names = {names[id(p)] for p in plain["params"]}
    assert any(n.endswith("A_log") for n in plain_names) and any(n.endswith(".D") for n in plain_names)
    assert len(decay["params"]) + len(plain["params"]) == len(list(module.model.parameters()))


def test_lr_warmup_then_cosine():
    assert lr_factor(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(10, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(100, 10, 100, 0.1) == pytest.approx(0.1) and lr_factor(500, 10, 100, 0.1) == pytest.approx(0.1)


def test_loss_is_the_mean_over_real_targets_only():
    module = VMMLightningModule(ARCH, vocab_size=50).eval()
    tokens = torch.randint(1, 50, (2, 12), generator=torch.Generator().manual_seed(0))
    targets = tokens.roll(-1, 1)
    tokens[1, 6:], targets[1, 6:] = 0, -100
    batch = {"tokens": tokens, "targets": targets, "video": torch.rand(2, 12, 4),
             "chords": torch.randint(0, 100, (2, 12)), "key": torch.tensor([0, 24])}
    on = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        logits = module.model(tokens, Conditions(video=batch["video"], chords=batch["chords"], key=batch["key"]))
        mask = targets != -100
        manual = torch.nn.functional.cross_entropy(logits[mask], targets[mask])
        assert float(module.loss(batch, on, on)) == pytest.approx(float(manual), rel=1e-5)
