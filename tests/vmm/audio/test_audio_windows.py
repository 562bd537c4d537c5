"""Long inputs: sliding windows join without gaps, prompts carry over, the whole path writes audio."""

import math

import pytest
import torch

from vmm.audio import windows as windows_module
from vmm.audio.artefact import save_audio_model
from vmm.audio.codec import tiny_codec
from vmm.audio.conditions import WindowInputs
from vmm.audio.config import AudioLMConfig
from vmm.audio.lm import AudioLM
from vmm.audio.neural import generate_neural_audio
from vmm.audio.sampling import SamplingSettings
from vmm.audio.windows import Window, generate_long, plan_windows
from vmm.cli import main


@pytest.mark.parametrize("total,window,overlap", [(1500, 1500, 500), (4321, 1500, 500), (1501, 1500, 0),
                                                   (37, 10, 9), (5, 100, 20)])
def test_windows_cover_every_frame_once(total, window, overlap):
    plan = plan_windows(total, window, overlap)
    assert plan[0] == Window(0, min(window, total), 0)
    assert plan[-1].end == total
    assert sum(w.new_frames for w in plan) == total
    for before, after in zip(plan[:-1], plan[1:], strict=True):
        assert after.start == before.end - overlap and after.prompt == overlap
    assert all(0 < w.length <= window for w in plan)


def test_bad_overlap_is_rejected():
    with pytest.raises(ValueError, match="overlap"):
        plan_windows(100, 10, 10)


def test_generate_long_carries_the_tail_over_as_the_prompt(monkeypatch):
    torch.manual_seed(0)
    lm = AudioLM(AudioLMConfig()).eval()
    calls = []
    real = windows_module.generate_window

    def recording(lm, cond, num_frames, *, prompt=None, **kwargs):
        out = real(lm, cond, num_frames, prompt=prompt, **kwargs)
        calls.append((num_frames, None if prompt is None else prompt.clone(), out))
        return out

    monkeypatch.setattr(windows_module, "generate_window", recording)
    asked = []

    def inputs_for(window):
        asked.append(window)
        return WindowInputs(chroma=torch.zeros(window.length, 12))

    progress = []
    codes = generate_long(lm, inputs_for, 57, window_frames=25, overlap_frames=8,
                          settings=SamplingSettings(top_k=5), generator=torch.Generator().manual_seed(0),
                          callback=lambda d, t: progress.append((d, t)))
    assert codes.shape == (1, 4, 57)
    assert [w.length for w in asked] == [25, 25, 23]
    assert calls[0][1] is None
    for (_, _, before), (_, prompt, _), window in zip(calls[:-1], calls[1:], asked[1:], strict=True):
        assert torch.equal(prompt, codes[..., window.start:window.start + 8])
        assert torch.equal(prompt, before[..., -8:])
    assert progress[-1][0] == progress[-1][1] and all(t == progress[0][1] for _, t in progress)


@pytest.fixture
def tiny_model_dir(tmp_path):
    torch.manual_seed(0)
    return save_audio_model(tmp_path / "audio_model", AudioLM(AudioLMConfig()).eval(), tiny_codec())


def test_neural_audio_from_video_and_score_has_the_video_length(pair_dir, tiny_model_dir, tmp_path):
    out = generate_neural_audio(pair_dir / "alpha.mid", pair_dir / "alpha.mp4", tiny_model_dir, tmp_path / "n.wav",
                                window_seconds=1.0, overlap_seconds=0.4, seed=3)
    from audio_render.audio_io import read_audio
    from vmm.video.features import extract_features

    samples, rate = read_audio(out)
    duration = extract_features(pair_dir / "alpha.mp4", use_clip=False).duration
    assert rate == 32000
    assert samples.shape[0] == round(duration * 32000)
    assert math.ceil(duration * 50 - 1e-9) * 640 >= samples.shape[0]


def test_neural_audio_is_seeded(pair_dir, tiny_model_dir, tmp_path):
    a = generate_neural_audio(pair_dir / "alpha.mid", None, tiny_model_dir, tmp_path / "a.wav", seed=1, window_seconds=2)
    b = generate_neural_audio(pair_dir / "alpha.mid", None, tiny_model_dir, tmp_path / "b.wav", seed=1, window_seconds=2)
    assert a.read_bytes() == b.read_bytes()


def test_cli_writes_audio_and_names_missing_model_files(pair_dir, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "cli.wav"
    assert main(["neural-audio", str(pair_dir / "alpha.mid"), "--audio-model", str(tiny_model_dir),
                 "--out", str(out), "--window", "2"]) == 0
    assert out.stat().st_size > 44
    capsys.readouterr()
    assert main(["neural-audio", str(pair_dir / "alpha.mid"), "--audio-model", str(tiny_model_dir),
                 "--out", str(out)]) == 2  # exists, no --force
    assert "exists" in capsys.readouterr().err
    empty = tmp_path / "empty_model"
    (empty / "codec").mkdir(parents=True)
    assert main(["neural-audio", str(pair_dir / "alpha.mid"), "--audio-model", str(empty),
                 "--out", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    for part in ("codec/config.json", "codec/model.safetensors", "decoder/config.json", "decoder/model.safetensors"):
        assert part in err[0]
    assert not (tmp_path / "x.wav").exists()
