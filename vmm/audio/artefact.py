"""The shipped neural-audio model: a directory, safetensors only.

    DIR/
      codec/config.json        EnCodec in transformers' format (e.g. a copy of facebook/encodec_32khz)
      codec/model.safetensors
      decoder/config.json      {"format": "vmm-audio-lm", "format_version": 1, "audio_lm": {...AudioLMConfig}}
      decoder/model.safetensors  the decoder and the condition encoders (AudioLM's state dict)
      README.md                a short model card

`init_decoder_from_musicgen` starts training from MusicGen's decoder weights (a local MusicGen
checkpoint: the full `facebook/musicgen-small` folder or a bare `musicgen_decoder`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_model

from vmm.audio.codec import CONFIG_FILE, WEIGHTS_FILE, Codec, load_codec, missing_files
from vmm.audio.config import AudioLMConfig
from vmm.audio.lm import AudioLM
from vmm.errors import VMMError

log = logging.getLogger(__name__)

FORMAT = "vmm-audio-lm"
FORMAT_VERSION = 1
CODEC_DIR = "codec"
DECODER_DIR = "decoder"


def save_audio_model(directory: str | os.PathLike, lm: AudioLM, codec: Codec) -> Path:
    """Write the artefact directory (see the module docstring); returns it."""
    check_codec_matches(lm.config, codec)
    directory = Path(directory)
    decoder_dir = directory / DECODER_DIR
    decoder_dir.mkdir(parents=True, exist_ok=True)
    codec.save(directory / CODEC_DIR)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "audio_lm": lm.config.to_dict(),
            "codec": {"sample_rate": codec.sample_rate, "frame_rate": codec.frame_rate,
                      "num_codebooks": codec.num_codebooks, "codebook_size": codec.codebook_size}}
    (decoder_dir / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    save_model(lm, str(decoder_dir / WEIGHTS_FILE))
    (directory / "README.md").write_text(_model_card(lm, codec))
    return directory


def check_artefact(directory: str | os.PathLike) -> Path:
    """Raise a VMMError naming every file the artefact lacks (with what goes there)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise VMMError(f"audio model folder {directory} does not exist: give a folder with {CODEC_DIR}/ (EnCodec "
                       f"config.json + model.safetensors) and {DECODER_DIR}/ (config.json + model.safetensors "
                       f"written by VMM's audio training)")
    lacking = [f"{CODEC_DIR}/{name}" for name in missing_files(directory / CODEC_DIR, (CONFIG_FILE, WEIGHTS_FILE))]
    lacking += [f"{DECODER_DIR}/{name}" for name in missing_files(directory / DECODER_DIR, (CONFIG_FILE, WEIGHTS_FILE))]
    if lacking:
        raise VMMError(f"audio model folder {directory} lacks {', '.join(lacking)}: put the EnCodec 32 kHz codec "
                       f"(transformers format, e.g. facebook/encodec_32khz) in {directory / CODEC_DIR} and the "
                       f"trained decoder (config.json + model.safetensors from `vmm fit -c configs/audio_*.yaml`) "
                       f"in {directory / DECODER_DIR}")
    return directory


def load_audio_model(directory: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[AudioLM, Codec]:
    """Load the decoder and the codec; checks that they agree.

    Raises:
        VMMError: missing files, a config of another format, or weights that do not fit the config.
    """
    directory = check_artefact(directory)
    decoder_dir = directory / DECODER_DIR
    meta = json.loads((decoder_dir / CONFIG_FILE).read_text())
    if meta.get("format") != FORMAT:
        raise VMMError(f"{decoder_dir / CONFIG_FILE} is not a VMM audio decoder config (format {meta.get('format')!r}); "
                       f"MusicGen checkpoints must first be fine-tuned with `vmm fit -c configs/audio_small.yaml`")
    try:
        config = AudioLMConfig.from_dict(meta["audio_lm"])
    except (KeyError, TypeError, ValueError) as error:
        raise VMMError(f"bad audio decoder config in {decoder_dir}: {error}") from None
    lm = AudioLM(config)
    state = load_file(str(decoder_dir / WEIGHTS_FILE))
    try:
        missing, unexpected = lm.load_state_dict(state, strict=False)
    except RuntimeError as error:  # size mismatches
        first = str(error).split("\n\t")[1] if "\n\t" in str(error) else str(error)
        raise VMMError(f"{decoder_dir / WEIGHTS_FILE} does not fit its config: {first.strip()}") from None
    if missing or unexpected:
        raise VMMError(f"{decoder_dir / WEIGHTS_FILE} does not fit its config: missing {missing[:3]}, "
                       f"unexpected {unexpected[:3]}")
    codec = load_codec(directory / CODEC_DIR)
    check_codec_matches(config, codec)
    return lm.to(device).eval(), codec.to(device)


def check_codec_matches(config: AudioLMConfig, codec: Codec) -> None:
    """Raise a VMMError when the codec's codebooks or frame rate differ from the decoder's."""
    ours = (config.num_codebooks, config.codebook_size, config.frame_rate)
    theirs = (codec.num_codebooks, codec.codebook_size, codec.frame_rate)
    if ours != theirs:
        raise VMMError(f"codec and decoder disagree: decoder expects (codebooks, codebook size, frame rate) {ours}, "
                       f"codec has {theirs} (use the codec the decoder was trained with)")


def init_decoder_from_musicgen(lm: AudioLM, path: str | os.PathLike) -> None:
    """Copy MusicGen decoder weights (from a local checkpoint folder) into `lm.decoder`.

    Args:
        path: a folder with config.json (model_type "musicgen" or "musicgen_decoder") and
            model.safetensors (or a sharded model.safetensors.index.json).

    Raises:
        VMMError: missing files, or a decoder whose sizes differ from `lm.config` (use the
            `musicgen_small` preset for facebook/musicgen-small).
    """
    path = Path(path)
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        raise VMMError(f"MusicGen folder {path} lacks config.json (give a local copy of e.g. facebook/musicgen-small)")
    model_type = json.loads(config_file.read_text()).get("model_type")
    prefix = {"musicgen": "decoder.", "musicgen_decoder": ""}.get(model_type)
    if prefix is None:
        raise VMMError(f"{config_file} has model_type {model_type!r}; expected 'musicgen' or 'musicgen_decoder'")
    target = lm.decoder.state_dict()
    loaded = {}
    for file in _weight_files(path):
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():
                if key.startswith(prefix) and key[len(prefix):] in target:
                    loaded[key[len(prefix):]] = handle.get_tensor(key)
    missing = sorted(set(target) - set(loaded))
    if missing:
        raise VMMError(f"MusicGen weights in {path} lack {len(missing)} decoder tensors (e.g. {missing[0]})")
    for key, tensor in loaded.items():
        if tensor.shape != target[key].shape:
            raise VMMError(f"MusicGen tensor {key} has shape {tuple(tensor.shape)}, the decoder {tuple(target[key].shape)}: "
                           f"choose the audio model preset matching the checkpoint (musicgen_small)")
    lm.decoder.load_state_dict(loaded)
    log.info("decoder initialised from MusicGen weights in %s", path)


def _weight_files(path: Path) -> list[Path]:
    index = path / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [path / shard for shard in shards]
    if (path / WEIGHTS_FILE).is_file():
        return [path / WEIGHTS_FILE]
    raise VMMError(f"MusicGen folder {path} lacks model.safetensors (or model.safetensors.index.json)")


def _model_card(lm: AudioLM, codec: Codec) -> str:
    config = lm.config
    params = sum(p.numel() for p in lm.parameters())
    return (
        "# VMM neural-audio model\n\n"
        f"- decoder: MusicGen-family, {config.num_layers} layers, width {config.hidden_size}, "
        f"{params / 1e6:.2f} M parameters (with the condition encoders)\n"
        f"- codec: EnCodec {codec.sample_rate} Hz, {codec.num_codebooks} codebooks of {codec.codebook_size}, "
        f"{codec.frame_rate:g} frames/s, {config.pattern} pattern\n"
        f"- conditions: {json.dumps(config.fuse)}; CLIP dims {config.clip_dim}\n\n"
        "Use: `vmm neural-audio score.mid --video clip.mp4 --audio-model DIR --out neural.wav`\n"
    )
