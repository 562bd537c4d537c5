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


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Model config, weights, tokenizer JSON and training summary from a Lightning checkpoint.

    Returns:
        {"model_config": dict, "state_dict": {name: tensor} without the "model." prefix,
         "tokenizer_json": str, "density_reference": dict | None, "summary": dict, "data": dict}.
    """
    path = check_input_file(path, "checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle, zip and torch errors all mean the same to the user
        reason = (str(error).strip().splitlines() or [""])[0][:160]
        raise VMMError(f"cannot read checkpoint {path} ({type(error).__name__}: {reason}); "
                       "give a .ckpt written by `vmm fit`") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise VMMError(f"{path} is not a Lightning checkpoint (no state_dict); give a .ckpt written by `vmm fit`")
    info = checkpoint.get(CHECKPOINT_KEY)
    if not isinstance(info, dict) or "model_config" not in info:
        raise VMMError(f"{path} was not written by `vmm fit` (no '{CHECKPOINT_KEY}' entry with the model config)")
    state = {name.removeprefix("model."): tensor for name, tensor in checkpoint["state_dict"].items()
             if name.startswith("model.")}
    tokenizer_json = info.get("tokenizer_json")
    if tokenizer_json is None:
        beside = path.parent / "tokenizer.json"
        if not beside.is_file():
            raise VMMError(f"{path} holds no tokenizer and there is no tokenizer.json beside it; copy the "
                           "data's tokenizer.json next to the checkpoint")
        tokenizer_json = beside.read_text()
    return {"model_config": info["model_config"], "state_dict": state, "tokenizer_json": tokenizer_json,
            "density_reference": info.get("density_reference"), "summary": info.get("summary", {}),
            "data": info.get("data", {})}


def export_checkpoint(
    checkpoint: str | os.PathLike, out: str | os.PathLike, *, force: bool = False,
    license_text: str = DEFAULT_LICENSE, command: str | None = None,
) -> Path:
    """Write the artefact directory for a training checkpoint (see the module doc).

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
        raise VMMError(f"{checkpoint}: its model config does not fit this VMM ({error})") from None
    model = VMMModel(config)
    missing, unexpected = model.load_state_dict(content["state_dict"], strict=False)
    if missing or unexpected:
        raise VMMError(f"{checkpoint}: the weights do not fit the model config (missing {sorted(missing)[:3]}, "
                       f"unexpected {sorted(unexpected)[:3]}); was it written by another version?")
    return save_artifact(model, content["tokenizer_json"], out, force=force,
                         density_reference=content["density_reference"],
                         training={**content["summary"], "data": content["data"],
                                   "checkpoint": str(Path(checkpoint).name)},
                         license_text=license_text, command=command)


def save_artifact(
    model: VMMModel, tokenizer_json: str, out: str | os.PathLike, *, force: bool = False,
    density_reference: dict | None = None, training: dict | None = None,
    license_text: str = DEFAULT_LICENSE, command: str | None = None,
) -> Path:
    """Write a model, its tokenizer and its card as an artefact directory, all files or none.

    The files are written to a temporary folder beside `out` and moved in at the end.
    """
    out = Path(out)
    prepare_output_dir(out, force=force)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / "tokenizer.json").write_text(tokenizer_json)
        tokenizer = _load_tokenizer(staging / "tokenizer.json")
        if len(tokenizer) != model.config.vocab_size:
            raise VMMError(f"the tokenizer has {len(tokenizer)} tokens but the model's vocab_size is "
                           f"{model.config.vocab_size}; export with the tokenizer the model was trained on")
        save_safetensors(model, str(staging / "model.safetensors"))
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": model.config.to_dict(),
            "tokenizer": {"file": "tokenizer.json", "vocab_size": len(tokenizer), "hash": tokenizer_hash(tokenizer)},
            "conditioning": {"video_features": list(VIDEO_FEATURES), "density_scale": DENSITY_SCALE},
            "parameters": sum(p.numel() for p in model.parameters()),
            "weights_bytes": (staging / "model.safetensors").stat().st_size,
            "training": training or {},
        }
        _write_json(staging / "config.json", config)
        if density_reference is not None:
            _write_json(staging / "density_reference.json", density_reference)
        else:
            log.warning("no density reference in the checkpoint: the video plan will use its default scale")
        (staging / "README.md").write_text(model_card(config, license_text, command, out.name))
        for item in staging.iterdir():
            item.chmod(0o644)  # temporary files are created private; the model is for sharing
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


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
