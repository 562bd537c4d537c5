"""The codec, the artefact directory and MusicGen weight loading."""

import json

import pytest
import torch
from safetensors.torch import save_file
from transformers import MusicgenForCausalLM

from vmm.audio.artefact import init_decoder_from_musicgen, load_audio_model, save_audio_model
from vmm.audio.codec import load_codec, tiny_codec
from vmm.audio.config import AudioLMConfig
from vmm.audio.lm import AudioLM
from vmm.errors import VMMError


def test_encode_decode_shapes_and_distinct_codes(tone):
    codec = tiny_codec()
    assert (codec.sample_rate, codec.frame_rate, codec.num_codebooks) == (32000, 50.0, 4)
    wav = torch.from_numpy(tone([57, 69, 81], 0.5))[None, None]  # 1.5 s
    codes = codec.encode(wav)
    assert codes.shape == (1, 4, 75) and codes.dtype == torch.long
    assert len(codes[0, 0].unique()) > 3  # the probe-initialised codebooks tell sounds apart
    assert codec.decode(codes).shape == (1, 1, 75 * 640)
    with pytest.raises(ValueError, match="codes"):
        codec.decode(codes[:, :3])


def test_codec_save_load_round_trip(tmp_path, tone):
    codec = tiny_codec(seed=3)
    codec.save(tmp_path / "codec")
    assert sorted(p.name for p in (tmp_path / "codec").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_codec(tmp_path / "codec")
    wav = torch.from_numpy(tone([60, 67], 0.25))[None, None]
    assert torch.equal(loaded.encode(wav), codec.encode(wav))


def test_load_codec_names_what_is_missing(tmp_path):
    (tmp_path / "codec").mkdir()
    (tmp_path / "codec" / "config.json").write_text("{}")
    with pytest.raises(VMMError, match="lacks model.safetensors"):
        load_codec(tmp_path / "codec")
    with pytest.raises(VMMError, match="config.json, model.safetensors"):
        load_codec(tmp_path / "nowhere")


def test_artefact_round_trip_and_mismatch(tmp_path):
    torch.manual_seed(0)
    lm = AudioLM(AudioLMConfig())
    directory = save_audio_model(tmp_path / "m", lm, tiny_codec())
    assert (directory / "README.md").exists()
    meta = json.loads((directory / "decoder" / "config.json").read_text())
    assert meta["format"] == "vmm-audio-lm" and meta["audio_lm"]["hidden_size"] == 64
    loaded, _ = load_audio_model(directory)
    for name, tensor in lm.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    with pytest.raises(VMMError, match="disagree"):
        save_audio_model(tmp_path / "bad", AudioLM(AudioLMConfig(codebook_size=128)), tiny_codec())
    meta["audio_lm"]["hidden_size"] = 32
    (directory / "decoder" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(VMMError, match="does not fit"):
        load_audio_model(directory)


def test_init_from_a_musicgen_checkpoint(tmp_path):
    """A full MusicGen checkpoint keeps its decoder under `decoder.`; a bare decoder at the root."""
    config = AudioLMConfig()
    source = MusicgenForCausalLM(config.decoder_config())
    full = tmp_path / "musicgen"
    full.mkdir()
    (full / "config.json").write_text(json.dumps({"model_type": "musicgen"}))
    tensors = {f"decoder.{k}": v.contiguous() for k, v in source.state_dict().items()}
    tensors["text_encoder.shared.weight"] = torch.zeros(2, 2)
    save_file(tensors, str(full / "model.safetensors"))
    lm = AudioLM(config)
    init_decoder_from_musicgen(lm, full)
    for name, tensor in source.state_dict().items():
        if not name.endswith("embed_positions.weights"):
            assert torch.equal(lm.decoder.state_dict()[name], tensor), name
    wrong = AudioLM(AudioLMConfig(hidden_size=32, num_heads=2))
    with pytest.raises(VMMError, match="shape"):
        init_decoder_from_musicgen(wrong, full)
    with pytest.raises(VMMError, match="config.json"):
        init_decoder_from_musicgen(lm, tmp_path)


def test_chunked_encode_and_decode_match_one_pass(tone):
    """Chunks with context on each side give the codes of a single pass, and decode to the same length."""
    codec = tiny_codec()
    wav = torch.from_numpy(tone([55, 62, 67, 74, 79], 0.4))[None, None]  # 2 s = 100 frames
    whole = codec.encode(wav)
    chunked = codec.encode_long(wav, chunk_seconds=0.5, context_seconds=0.5)
    assert torch.equal(chunked, whole)  # 0.5 s of context covers the tiny codec's receptive field
    audio = codec.decode_long(whole, chunk_seconds=0.5, context_seconds=0.5)
    reference = codec.decode(whole)
    assert audio.shape == reference.shape
    assert torch.allclose(audio, reference, atol=1e-4)
    no_context = codec.decode_long(whole, chunk_seconds=0.5, context_seconds=0.02)
    assert not torch.allclose(no_context, reference, atol=1e-4)  # the context is what makes them agree
