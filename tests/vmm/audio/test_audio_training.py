"""Training: the Lightning module and data module through a plain LightningCLI with configs/audio_tiny.yaml."""

from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch.cli import LightningCLI

from vmm.audio.artefact import load_audio_model
from vmm.audio.data import AudioDataModule, find_pairs, is_validation
from vmm.audio.lightning import AudioLightningModule, dropout_flags

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "audio_tiny.yaml"


def test_find_pairs_groups_by_stem(pair_dir):
    (pair_dir / "notes.mid").write_bytes((pair_dir / "alpha.mid").read_bytes())  # MIDI alone: no audio
    pairs = {p.stem: p for p in find_pairs(pair_dir)}
    assert set(pairs) == {"alpha", "beta"}
    assert pairs["alpha"].video.name == "alpha.mp4" and pairs["alpha"].midi.name == "alpha.mid"
    assert pairs["beta"].video is None and pairs["beta"].midi is None


def test_validation_split_is_stable():
    stems = [f"clip{i}" for i in range(200)]
    first = [is_validation(s, 0.1) for s in stems]
    assert first == [is_validation(s, 0.1) for s in stems]
    assert 5 <= sum(first) <= 40


def test_dropout_flags_rates():
    gen = torch.Generator().manual_seed(0)
    flags = dropout_flags(["video", "score", "chroma"], 20000, 0.1, 0.2, gen)
    kept = torch.stack(list(flags.values()))  # [3, B]
    all_dropped = (~kept).all(0).float().mean()
    assert abs(all_dropped - (0.1 + 0.9 * 0.2**3)) < 0.01
    assert abs(kept[0].float().mean() - 0.9 * 0.8) < 0.01


def test_tiny_config_runs_through_lightning_cli(pair_dir, tmp_path, monkeypatch):
    """The YAML works with a plain LightningCLI in subclass mode (what `vmm fit` uses), trains a few
    steps on (video, audio, MIDI) pairs, and exports the artefact that inference loads."""
    monkeypatch.setattr("sys.argv", ["vmm"])
    export = tmp_path / "model"
    args = ["fit", "--config", str(CONFIG), "--data.init_args.data_dir", str(pair_dir),
            "--model.init_args.export_dir", str(export), "--trainer.max_steps", "3",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    cli = LightningCLI(subclass_mode_model=True, subclass_mode_data=True, args=args, save_config_callback=None)
    assert isinstance(cli.model, AudioLightningModule) and isinstance(cli.datamodule, AudioDataModule)
    assert cli.trainer.global_step == 3
    dm = cli.datamodule
    assert sorted(c.stem for c in dm.train_clips) == ["alpha", "beta"]
    alpha = next(c for c in dm.train_clips if c.stem == "alpha")
    assert alpha.video is not None and alpha.score is not None
    assert alpha.codes.shape == (4, 150)  # 3 s at 50 frames/s
    lm, codec = load_audio_model(export)
    assert codec.num_codebooks == 4
    for name, tensor in cli.model.lm.state_dict().items():
        assert torch.equal(tensor, lm.state_dict()[name]), name


def test_config_parses_with_the_dataclass():
    config = yaml.safe_load(CONFIG.read_text())
    assert config["model"]["class_path"] == "vmm.audio.lightning.AudioLightningModule"
    assert config["data"]["class_path"] == "vmm.audio.data.AudioDataModule"


def test_short_clips_are_skipped_and_empty_folder_is_an_error(pair_dir, tmp_path):
    from vmm.audio.config import AudioLMConfig
    from vmm.errors import VMMError

    dm = AudioDataModule(str(pair_dir), segment_seconds=2.8)
    dm.attach(AudioLMConfig())
    assert [c.stem for c in dm.train_clips] == ["alpha"]  # beta is 2.5 s
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VMMError, match="no usable training pairs"):
        AudioDataModule(str(empty)).attach(AudioLMConfig())


def test_a_video_with_sound_is_a_pair_by_itself(tmp_path):
    from support.video_factory import make_video

    from vmm.audio.config import AudioLMConfig

    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "solo.mp4", duration=2.5, fps=10.0, audio=True)
    dm = AudioDataModule(str(folder), segment_seconds=2.0)
    dm.attach(AudioLMConfig())
    (clip,) = dm.train_clips
    assert clip.video is not None and clip.score is None
    assert abs(clip.codes.shape[-1] - 125) <= 3  # the track's 2.5 s (AAC may pad a few ms)
    assert clip.chroma.shape == (clip.codes.shape[-1], 12)


def test_vmm_fit_runs_the_audio_config(pair_dir, tmp_path):
    """`vmm fit -c configs/audio_tiny.yaml` picks the classes the config names (subclass mode)."""
    from vmm.cli import main

    export = tmp_path / "model"
    code = main(["fit", "-c", str(CONFIG), "--data.init_args.data_dir", str(pair_dir),
                 "--model.init_args.export_dir", str(export), "--trainer.max_steps", "2",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"])
    assert code == 0
    assert (export / "decoder" / "model.safetensors").is_file()
