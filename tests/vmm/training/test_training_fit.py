import csv
from pathlib import Path

import pytest
import torch

from vmm.cli import main

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def metrics(run_dir: Path) -> list[dict[str, str]]:
    (path,) = run_dir.rglob("metrics.csv")
    with open(path) as handle:
        return list(csv.DictReader(handle))


def per_step(rows: list[dict[str, str]], name: str) -> dict[int, float]:
    return {int(r["step"]): float(r[name]) for r in rows if r.get(name)}


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml") if not p.name.startswith("audio_")))
def test_every_config_parses(config, capsys):
    assert main(["fit", "-c", str(CONFIGS / config), "--print_config"]) == 0
    printed = capsys.readouterr().out
    assert "architecture:" in printed and "root:" in printed


def test_fit_help(capsys):
    assert main(["fit", "--help"]) == 0
    assert "--data.root" in capsys.readouterr().out


def test_fit_writes_checkpoint_tokenizer_and_logs(fitted):
    checkpoint = torch.load(fitted.last, weights_only=True)
    assert checkpoint["global_step"] == 3
    assert checkpoint["hyper_parameters"]["vocab_size"] == checkpoint["vmm"]["model_config"]["vocab_size"]
    assert (fitted.last.parent / "tokenizer.json").read_text() == (fitted.shards / "tokenizer.json").read_text()
    rows = metrics(fitted.runs)
    assert set(per_step(rows, "train/loss")) == {0, 1, 2}
    for name in ("train/ppl", "lr", "grad_norm/video", "grad_norm/chords", "train/streams_none", "val/loss",
                 "val/loss_none"):
        assert per_step(rows, name), name
    shares = [sum(per_step(rows, f"train/streams_{c}")[s] for c in ("video", "chords", "both", "none"))
              for s in range(3)]
    assert shares == pytest.approx([1.0, 1.0, 1.0])


def test_resume_continues_the_same_run(fitted, fit_tiny, tmp_path):
    """Resuming at step 3 reaches step 6 with the optimiser's state, and the Switch Schedule draws and the
    learning rates of an uninterrupted 6-step run."""
    assert fit_tiny(fitted.shards, tmp_path / "whole", "--trainer.max_steps", "6") == 0
    assert fit_tiny(fitted.shards, tmp_path / "resumed", "--trainer.max_steps", "6", "--ckpt_path", str(fitted.last)) == 0
    (last,) = (tmp_path / "resumed").rglob("last.ckpt")
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] == 6
    adam_steps = {float(state["step"]) for state in checkpoint["optimizer_states"][0]["state"].values()}
    assert adam_steps == {6.0}
    whole, resumed = metrics(tmp_path / "whole"), metrics(tmp_path / "resumed")
    assert set(per_step(resumed, "train/loss")) == {3, 4, 5}
    for choice in ("video", "chords", "both", "none"):
        name = f"train/streams_{choice}"
        assert per_step(resumed, name) == {s: v for s, v in per_step(whole, name).items() if s >= 3}
    lr_whole, lr_resumed = per_step(whole, "lr"), per_step(resumed, "lr")
    assert lr_resumed[4] == pytest.approx(lr_whole[4]) and lr_resumed[5] == pytest.approx(lr_whole[5])


def test_bad_data_folder_is_one_line_error(tmp_path, fit_tiny, capsys):
    assert fit_tiny(tmp_path / "missing", tmp_path / "runs") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "vmm prepare" in err[-1]


def test_validate_and_test_from_a_checkpoint(fitted, tmp_path, capsys):
    for command in ("validate", "test"):
        assert main([command, "-c", str(CONFIGS / "tiny.yaml"), "--data.root", str(fitted.shards),
                     "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", str(fitted.last)]) == 0
        out = capsys.readouterr().out
        prefix = "val" if command == "validate" else "test"
        assert f"{prefix}/loss" in out and f"{prefix}/loss_none" in out


def test_fit_never_writes_its_config_over_a_file_in_the_working_folder(shard_dir, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.yaml").write_text("mine: true\n")
    monkeypatch.chdir(work)
    base = ["fit", "-c", str(CONFIGS / "tiny.yaml"), "--data.root", str(shard_dir), "--trainer.logger", "false",
            "--trainer.max_steps", "1"]
    assert main([*base, "--trainer.default_root_dir", "."]) == 0  # log folder = the working folder
    assert (work / "config.yaml").read_text() == "mine: true\n"
    assert main([*base, "--trainer.default_root_dir", "runs/x"]) == 0  # a folder of the run's own: saved
    assert "max_steps: 1" in (work / "runs" / "x" / "config.yaml").read_text()
    assert (work / "config.yaml").read_text() == "mine: true\n"


@pytest.mark.parametrize("config", ["audio_tiny.yaml", "audio_small.yaml"])
def test_audio_configs_log_into_a_run_folder(config):
    import yaml

    trainer = yaml.safe_load((CONFIGS / config).read_text())["trainer"]
    assert trainer["default_root_dir"] == f"runs/{config.removesuffix('.yaml')}"


def test_fit_in_bf16_mixed_precision_on_the_cpu(fitted, fit_tiny, tmp_path):
    """The CPU fast paths (scan, RMSNorm, causal conv) also run under bf16 autocast, with finite losses."""
    assert fit_tiny(fitted.shards, tmp_path, "--trainer.max_steps", "2", "--trainer.precision", "bf16-mixed") == 0
    losses = per_step(metrics(tmp_path), "train/loss")
    assert set(losses) == {0, 1} and all(torch.isfinite(torch.tensor(list(losses.values()))))
