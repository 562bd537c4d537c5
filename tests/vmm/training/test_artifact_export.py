import json
import subprocess
import sys

import pytest
import torch
from miditok import REMI, TokenizerConfig

from vmm.artifact import load_density_reference, load_model, read_checkpoint
from vmm.cli import main
from vmm.errors import VMMError
from vmm.model import Conditions, VMMConfig, VMMModel


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "model"
    assert main(["export", str(fitted.last), "--out", str(out)]) == 0
    return out


def sample_inputs(config: VMMConfig, length: int = 24):
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, config.vocab_size, (2, length), generator=generator)
    conditions = Conditions(video=torch.rand(2, length, config.video_dim, generator=generator),
                            chords=torch.randint(0, config.n_chords, (2, length), generator=generator),
                            key=torch.tensor([3, 24]))
    return tokens, conditions


def test_export_writes_every_file(exported, fitted):
    names = {p.name for p in exported.iterdir()}
    assert names == {"config.json", "model.safetensors", "tokenizer.json", "README.md", "density_reference.json"}
    config = json.loads((exported / "config.json").read_text())
    assert config["format"] == "vmm-symbolic" and config["training"]["global_step"] == 3
    assert config["tokenizer"]["vocab_size"] == config["model"]["vocab_size"]
    assert (exported / "tokenizer.json").read_text() == (fitted.shards / "tokenizer.json").read_text()
    card = (exported / "README.md").read_text()
    assert "validation loss" in card and "licence" in card and f"{config['parameters']:,}" in card
    reference = load_density_reference(exported)
    values = reference["notes_per_bar"]
    assert values == sorted(values) and len(values) == len(reference["quantiles"]) and values[-1] > 0


def test_round_trip_gives_the_same_logits(exported, fitted):
    content = read_checkpoint(fitted.last)
    original = VMMModel(VMMConfig.from_dict(content["model_config"]))
    original.load_state_dict(content["state_dict"])
    original.eval()
    model, tokenizer, config = load_model(exported)
    assert len(tokenizer) == config.vocab_size and not model.training
    tokens, conditions = sample_inputs(config)
    with torch.no_grad():
        torch.testing.assert_close(model(tokens, conditions), original(tokens, conditions), rtol=0, atol=0)


def test_export_refuses_a_non_empty_folder(exported, fitted, capsys):
    assert main(["export", str(fitted.last), "--out", str(exported)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(fitted.last), "--out", str(exported), "--force"]) == 0


def test_export_of_a_non_checkpoint_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot read checkpoint")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def copy_of(exported, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for item in exported.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    return target


def test_vocabulary_mismatch_is_refused(exported, tmp_path):
    broken = copy_of(exported, tmp_path)
    other = REMI(TokenizerConfig(pitch_range=(21, 109)))
    other.save(broken / "tokenizer.json")
    expected = json.loads((exported / "config.json").read_text())["model"]["vocab_size"]
    with pytest.raises(VMMError) as error:
        load_model(broken)
    assert str(len(other)) in str(error.value) and str(expected) in str(error.value)


@pytest.mark.parametrize("missing", ["model.safetensors", "tokenizer.json", "config.json"])
def test_broken_folder_says_what_is_missing(exported, tmp_path, missing):
    broken = copy_of(exported, tmp_path)
    (broken / missing).unlink()
    with pytest.raises(VMMError, match=missing.replace(".", r"\.")):
        load_model(broken)


def test_truncated_weights_are_a_user_error(exported, tmp_path):
    broken = copy_of(exported, tmp_path)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(VMMError, match="model.safetensors"):
        load_model(broken)


def test_inference_does_not_import_lightning():
    code = ("import sys, vmm.artifact; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning')); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def tokenizer_text(tmp_path_factory):
    from symbolic.tokenizer import build_tokenizer, save_tokenizer

    return save_tokenizer(build_tokenizer(), tmp_path_factory.mktemp("tok") / "tokenizer.json").read_text()


def make_ckpt(path, tokenizer_text, **changes):
    from symbolic.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    model = VMMModel(VMMConfig.tiny(len(tokenizer) + changes.pop("vocab_extra", 0)))
    info = {"model_config": changes.pop("model_config", model.config.to_dict()),
            "tokenizer_json": changes.pop("tokenizer_json", tokenizer_text)}
    if "density_reference" in changes:
        info["density_reference"] = changes.pop("density_reference")
    state = changes.pop("state_dict", {f"model.{k}": v for k, v in model.state_dict().items()})
    assert not changes
    torch.save({"state_dict": state, "vmm": info}, path)
    return path


BAD_CHECKPOINTS = {
    "vocab": (dict(vocab_extra=5), "has 583 tokens but the model's vocab_size is 588"),
    "tokenizer": (dict(tokenizer_json="{not json"), "the tokenizer stored in"),
    "state_dict list": (dict(state_dict=[1, 2]), "not a Lightning checkpoint written by `vmm fit`"),
    "config list": (dict(model_config=[1]), "not a Lightning checkpoint written by `vmm fit`"),
    "config fields": (dict(model_config={"d_model": "x"}), "model config does not fit"),
}


@pytest.mark.parametrize("case", [*BAD_CHECKPOINTS, "garbage"])
def test_a_bad_checkpoint_is_one_line_and_leaves_no_folder(tmp_path, tokenizer_text, capsys, case):
    ckpt = tmp_path / "bad.ckpt"
    if case == "garbage":
        ckpt.write_bytes(b"PK\x03\x04 this is not really a zip, nor a checkpoint" * 10)
        words = "not a Lightning checkpoint written by `vmm fit`"
    else:
        changes, words = BAD_CHECKPOINTS[case]
        make_ckpt(ckpt, tokenizer_text, **changes)
    out = tmp_path / "out"
    assert main(["export", str(ckpt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0], err
    assert str(ckpt) in err[0]
    assert "Traceback" not in err[0] and "weights_only" not in err[0] and ".out." not in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ckpt"]


def test_a_failed_export_into_a_used_folder_keeps_its_files(tmp_path, tokenizer_text):
    out = tmp_path / "model"
    assert main(["export", str(make_ckpt(tmp_path / "good.ckpt", tokenizer_text)), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = make_ckpt(tmp_path / "bad.ckpt", tokenizer_text, tokenizer_json="{not json")
    assert main(["export", str(bad), "--out", str(out), "--force"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_force_removes_artefact_files_this_export_does_not_write(tmp_path, tokenizer_text):
    reference = {"notes_per_bar": [4.0, 8.0, 16.0], "quantiles": [0.0, 0.5, 1.0]}
    with_reference = make_ckpt(tmp_path / "a.ckpt", tokenizer_text, density_reference=reference)
    without = make_ckpt(tmp_path / "b.ckpt", tokenizer_text)
    out = tmp_path / "model"
    assert main(["export", str(with_reference), "--out", str(out)]) == 0
    assert (out / "density_reference.json").is_file()
    (out / "notes.txt").write_text("the user's own file")
    assert main(["export", str(without), "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "notes.txt",
                                                     "tokenizer.json"]
    assert json.loads((out / "config.json").read_text())["training"]["checkpoint"] == "b.ckpt"
    load_model(out)
