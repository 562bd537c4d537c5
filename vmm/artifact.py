"""The shipped model: a directory written by `vmm export`, read by `load_model`. No Lightning here.

    DIR/config.json             {"format": "vmm-symbolic", "format_version": 1, "model": VMMConfig fields,
                                 "tokenizer": {"vocab_size", "hash"}, "conditioning": {...},
                                 "training": summary (steps, metrics, data)}
    DIR/model.safetensors       the VMMModel weights (tied tensors stored once)
    DIR/tokenizer.json          MidiTok's tokenizer, as `vmm prepare` saved it
    DIR/density_reference.json  sorted quantiles of notes per bar in the training data; the video plan
                                percentile-matches motion to it
    DIR/README.md               the model card

Lightning `.ckpt` files are for resuming training only; `export_checkpoint` turns one into this
directory (reading it with `torch.load(weights_only=True)`, which runs no pickled code).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model as load_safetensors
from safetensors.torch import save_model as save_safetensors

from symbolic.errors import SymbolicError
from symbolic.files import atomic_output
from symbolic.tokenizer import load_tokenizer, tokenizer_hash
from vmm.conditioning import DENSITY_SCALE, VIDEO_FEATURES
from vmm.errors import VMMError
from vmm.model import VMMConfig, VMMModel
from vmm.paths import check_input_file, prepare_output_dir

log = logging.getLogger(__name__)

FORMAT = "vmm-symbolic"
FORMAT_VERSION = 1
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
CHECKPOINT_KEY = "vmm"  # the LightningModule's checkpoint entry (vmm.training.module.CHECKPOINT_KEY)
DEFAULT_LICENSE = "MIT (code and weights); the weights learned from the training data, whose own licence also applies"


NOT_A_CHECKPOINT = "not a Lightning checkpoint written by `vmm fit`"
ARTEFACT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "density_reference.json", "README.md")


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Model config, weights, tokenizer JSON and training summary from a Lightning checkpoint.

    Returns:
        {"model_config": dict, "state_dict": {name: tensor} without the "model." prefix,
         "tokenizer_json": str, "density_reference": dict | None, "summary": dict, "data": dict}.
    Raises:
        VMMError: not a checkpoint of `vmm fit` (unreadable, or without the entries it writes).
    """
    path = check_input_file(path, "checkpoint")
    advice = "give a .ckpt from a `vmm fit` run (e.g. its checkpoints/last.ckpt)"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # pickle, zip and torch errors all mean the same to the user; their text does not help
        raise VMMError(f"cannot read checkpoint {path}: {NOT_A_CHECKPOINT}; {advice}") from None
    state_dict = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not all(
            isinstance(name, str) and isinstance(value, torch.Tensor) for name, value in state_dict.items()):
        raise VMMError(f"cannot read checkpoint {path}: {NOT_A_CHECKPOINT} (no state_dict of named tensors); {advice}")
    info = checkpoint.get(CHECKPOINT_KEY)
    if not isinstance(info, dict) or not isinstance(info.get("model_config"), dict):
        raise VMMError(f"cannot read checkpoint {path}: {NOT_A_CHECKPOINT} (no '{CHECKPOINT_KEY}' entry with the "
                       f"model config); {advice}")
    state = {name.removeprefix("model."): tensor for name, tensor in state_dict.items() if name.startswith("model.")}
    tokenizer_json = info.get("tokenizer_json")
    if tokenizer_json is None:
        beside = path.parent / "tokenizer.json"
        if not beside.is_file():
            raise VMMError(f"{path} holds no tokenizer and there is no tokenizer.json beside it; copy the "
                           "data's tokenizer.json next to the checkpoint")
        tokenizer_json = beside.read_text()
    elif not isinstance(tokenizer_json, str):
        raise VMMError(f"cannot read checkpoint {path}: its tokenizer entry is not JSON text; {advice}")
    summary, data = info.get("summary", {}), info.get("data", {})
    density_reference = info.get("density_reference")
    return {"model_config": info["model_config"], "state_dict": state, "tokenizer_json": tokenizer_json,
            "density_reference": density_reference if isinstance(density_reference, dict) else None,
            "summary": summary if isinstance(summary, dict) else {}, "data": data if isinstance(data, dict) else {}}


def export_checkpoint(
    checkpoint: str | os.PathLike, out: str | os.PathLike, *, force: bool = False,
    license_text: str = DEFAULT_LICENSE, command: str | None = None,
) -> Path:
    """Write the artefact directory for a training checkpoint (see the module doc).

    Everything is checked (config, weights, tokenizer and vocabulary size) before `out` is created.

    Args:
        checkpoint: a `.ckpt` written by `vmm fit`.
        out: the folder to write; refused when it exists with files unless `force`.
        license_text: the licence line of the model card.
        command: the training command, for the model card.

    Returns:
        the folder written.
    """
    content = read_checkpoint(checkpoint)
    try:
        config = VMMConfig.from_dict(content["model_config"])
    except (TypeError, ValueError) as error:
        raise VMMError(f"{checkpoint}: its model config does not fit this VMM ({_first_line(error)}); "
                       "export a checkpoint written by this version of `vmm fit`") from None
    model = VMMModel(config)
    try:
        missing, unexpected = model.load_state_dict(content["state_dict"], strict=False)
    except RuntimeError as error:  # tensors of the wrong shape
        raise VMMError(f"{checkpoint}: the weights do not fit the model config ({_first_line(error)}); "
                       "was it written by another version?") from None
    if missing or unexpected:
        raise VMMError(f"{checkpoint}: the weights do not fit the model config (missing {sorted(missing)[:3]}, "
                       f"unexpected {sorted(unexpected)[:3]}); was it written by another version?")
    return save_artifact(model, content["tokenizer_json"], out, force=force,
                         density_reference=content["density_reference"],
                         training={**content["summary"], "data": content["data"],
                                   "checkpoint": str(Path(checkpoint).name)},
                         license_text=license_text, command=command,
                         tokenizer_source=f"the tokenizer stored in {checkpoint}")


def save_artifact(
    model: VMMModel, tokenizer_json: str, out: str | os.PathLike, *, force: bool = False,
    density_reference: dict | None = None, training: dict | None = None,
    license_text: str = DEFAULT_LICENSE, command: str | None = None, tokenizer_source: str = "the tokenizer",
) -> Path:
    """Write a model, its tokenizer and its card as an artefact directory, all files or none.

    The tokenizer and its vocabulary size are checked before `out` is created. The files are
    written to a temporary folder inside `out` and moved in at the end; artefact files of an earlier
    export (`force`) that this one does not write are removed. A folder this call created is
    removed again when it fails.

    Args:
        tokenizer_source: how error messages name the tokenizer (e.g. "the tokenizer stored in X.ckpt").
    Raises:
        VMMError: a bad tokenizer, a vocabulary size that differs from the model's, or an unusable `out`.
    """
    tokenizer = tokenizer_from_json(tokenizer_json, tokenizer_source)
    if len(tokenizer) != model.config.vocab_size:
        raise VMMError(f"{tokenizer_source} has {len(tokenizer)} tokens but the model's vocab_size is "
                       f"{model.config.vocab_size}; export with the tokenizer the model was trained on")
    out = Path(out)
    created = not out.exists()
    prepare_output_dir(out, force=force)
    staging = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=".export.", dir=out))
        _write_artifact_files(staging, model, tokenizer, tokenizer_json, density_reference, training,
                              license_text, command, out.name)
        written = {item.name for item in staging.iterdir()}
        for item in staging.iterdir():
            item.chmod(0o644)  # temporary files are created private; the model is for sharing
            os.replace(item, out / item.name)
        for name in set(ARTEFACT_FILES) - written:  # left by an earlier export into the same folder
            (out / name).unlink(missing_ok=True)
    except OSError as error:
        _undo(out, staging, created)
        raise VMMError(f"cannot write the model into {out} ({error.strerror or error}); choose another --out") \
            from None
    except BaseException:
        _undo(out, staging, created)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return out


def _write_artifact_files(folder: Path, model: VMMModel, tokenizer, tokenizer_json: str,
                          density_reference: dict | None, training: dict | None, license_text: str,
                          command: str | None, name: str) -> None:
    (folder / "tokenizer.json").write_text(tokenizer_json)
    save_safetensors(model, str(folder / "model.safetensors"))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.config.to_dict(),
        "tokenizer": {"file": "tokenizer.json", "vocab_size": len(tokenizer), "hash": tokenizer_hash(tokenizer)},
        "conditioning": {"video_features": list(VIDEO_FEATURES), "density_scale": DENSITY_SCALE},
        "parameters": sum(p.numel() for p in model.parameters()),
        "weights_bytes": (folder / "model.safetensors").stat().st_size,
        "training": training or {},
    }
    _write_json(folder / "config.json", config)
    if density_reference is not None:
        _write_json(folder / "density_reference.json", density_reference)
    else:
        log.warning("no density reference in the checkpoint: the video plan will use its default scale")
    (folder / "README.md").write_text(model_card(config, license_text, command, name))


def _undo(out: Path, staging: Path | None, created: bool) -> None:
    """After a failure: remove the staging folder, and `out` if this export created it."""
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
    if created:
        shutil.rmtree(out, ignore_errors=True)


def tokenizer_from_json(text: str, source: str = "the tokenizer"):
    """A MidiTok tokenizer from the text of a tokenizer.json; errors name `source`, not a temporary file.

    Raises:
        VMMError: the text is not a REMI tokenizer of this project's format.
    """
    with tempfile.TemporaryDirectory(prefix="vmm-tokenizer-") as folder:
        path = Path(folder) / "tokenizer.json"
        path.write_text(text)
        try:
            return load_tokenizer(path)
        except SymbolicError as error:
            message = str(error).replace(str(path), source)
            raise VMMError(f"{message}; export a checkpoint whose tokenizer is intact (re-run `vmm fit` if "
                           "none is)") from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def load_model(
    directory: str | os.PathLike, device: str | torch.device | None = None
) -> tuple[VMMModel, Any, VMMConfig]:
    """Load an artefact directory.

    Args:
        directory: written by `vmm export`.
        device: where to put the model (None = CPU).

    Returns:
        (model in eval mode, MidiTok tokenizer, VMMConfig).

    Raises:
        VMMError: a file is missing or broken, or the tokenizer's vocabulary size differs from the model's.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise VMMError(f"model folder not found: {directory} (give a folder written by `vmm export`)")
    missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
    if missing:
        raise VMMError(f"model folder {directory} lacks {', '.join(missing)} (re-export it with `vmm export CKPT --out DIR`)")
    config_json = _read_json(directory / "config.json")
    if config_json.get("format") != FORMAT or "model" not in config_json:
        raise VMMError(f"{directory / 'config.json'} is not a VMM model config (no format '{FORMAT}' / 'model')")
    if int(config_json.get("format_version", 0)) > FORMAT_VERSION:
        raise VMMError(f"{directory} uses artefact format {config_json['format_version']}; this VMM reads "
                       f"up to {FORMAT_VERSION} (update VMM)")
    try:
        config = VMMConfig.from_dict(config_json["model"])
    except (TypeError, ValueError) as error:
        raise VMMError(f"{directory / 'config.json'}: bad model config ({error})") from None
    tokenizer = _load_tokenizer(directory / "tokenizer.json")
    if len(tokenizer) != config.vocab_size:
        raise VMMError(f"tokenizer.json in {directory} has {len(tokenizer)} tokens but the model expects "
                       f"{config.vocab_size}; use the tokenizer.json exported with these weights")
    model = VMMModel(config)
    try:
        missing_keys, unexpected = load_safetensors(model, str(directory / "model.safetensors"), strict=False)
    except Exception as error:  # safetensors raises its own error types for truncated files
        reason = (str(error).strip().splitlines() or [""])[0][:160]
        raise VMMError(f"{directory / 'model.safetensors'} is unreadable ({reason}); re-export the model") from None
    if missing_keys or unexpected:
        raise VMMError(f"{directory / 'model.safetensors'} does not fit config.json (missing {sorted(missing_keys)[:3]}, "
                       f"unexpected {sorted(unexpected)[:3]}); re-export the model")
    return model.to(device or "cpu").eval(), tokenizer, config


def load_density_reference(directory: str | os.PathLike) -> dict:
    """The sorted notes-per-bar quantiles of the training data ({"quantiles", "notes_per_bar", ...})."""
    path = Path(directory) / "density_reference.json"
    if not path.is_file():
        raise VMMError(f"{path} is missing (export the model from a checkpoint of `vmm fit` to get it)")
    reference = _read_json(path)
    if len(reference.get("notes_per_bar", [])) < 2:
        raise VMMError(f"{path} has no notes_per_bar quantiles; re-export the model")
    return reference


def model_card(config: dict, license_text: str, command: str | None, name: str) -> str:
    """The README.md of an artefact directory."""
    training = config.get("training", {})
    data = training.get("data", {})
    metrics = training.get("metrics", {})
    model = config["model"]
    lines = [
        f"# {name}: VMM symbolic model",
        "",
        "A hybrid Mamba / local-attention decoder over MidiTok REMI tokens, conditioned per token on a "
        "video stream (density, strength, section, progress) and a chord stream (Switch Schedule).",
        "",
        "| | |",
        "|---|---|",
        f"| parameters | {config['parameters']:,} ({config['weights_bytes'] / 2**20:.1f} MiB as float32) |",
        f"| layers | `{model.get('layer_pattern')}`, d_model {model.get('d_model')} |",
        f"| vocabulary | {config['tokenizer']['vocab_size']} tokens (tokenizer {config['tokenizer']['hash']}) |",
        f"| training data | {data.get('root', 'unknown')}: {_count(data.get('train_songs'))} songs, "
        f"{_count(data.get('train_tokens'))} tokens; {_count(data.get('val_songs'))} validation songs |",
        f"| steps | {training.get('global_step', '?')} (epoch {training.get('epoch', '?')}) |",
        f"| validation loss | {_metric(metrics, 'val/loss')} (both streams), {_metric(metrics, 'val/loss_none')} (none) |",
        f"| licence | {license_text} |",
        "",
        "## Use",
        "",
        "```",
        f"vmm score clip.mp4 --model {name}",
        "```",
        "",
        "```python",
        "from vmm.artifact import load_model",
        f"model, tokenizer, config = load_model('{name}')",
        "```",
        "",
        "## How it was made",
        "",
        "```",
        command or "vmm fit -c configs/<name>.yaml --data.root <shards>",
        f"vmm export {training.get('checkpoint', 'last.ckpt')} --out {name}",
        "```",
        "",
    ]
    return "\n".join(lines)


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _metric(metrics: dict, name: str) -> str:
    return f"{metrics[name]:.3f}" if name in metrics else "n/a"


def _load_tokenizer(path: Path):
    try:
        return load_tokenizer(path)
    except SymbolicError as error:
        raise VMMError(str(error)) from None


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VMMError(f"{path} is not readable JSON ({error}); re-export the model") from None
    if not isinstance(value, dict):
        raise VMMError(f"{path} should hold a JSON object; re-export the model")
    return value


def _write_json(path: Path, value: dict) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, default=str) + "\n")
