import pytest
import torch
from support.midi_factory import make_song

from symbolic.tokenizer import build_tokenizer, save_tokenizer
from vmm.artifact import save_artifact
from vmm.model import VMMConfig, VMMModel


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """An artefact folder with a tiny random-weight model and the project's tokenizer."""
    root = tmp_path_factory.mktemp("model")
    tokenizer_path = save_tokenizer(build_tokenizer(), root / "tokenizer.json")
    torch.manual_seed(0)
    model = VMMModel(VMMConfig.tiny(len(build_tokenizer())))
    return save_artifact(model, tokenizer_path.read_text(), root / "artefact",
                         density_reference={"notes_per_bar": [4.0, 8.0, 12.0, 16.0, 24.0], "quantiles": [0, .25, .5, .75, 1]})


@pytest.fixture
def prepared_shards(tmp_path):
    """make(n_songs, bars) -> a folder of shards from `vmm prepare` over that many generated songs, half
    of them held out for validation."""
    from vmm.cli import main

    def make(n_songs: int, bars: int):
        midi = tmp_path / "midi"
        midi.mkdir()
        for index in range(n_songs):
            make_song(midi / f"song{index}.mid", bars=bars, tempo=100 + 10 * index)
        shards = tmp_path / "shards"
        assert main(["prepare", "--midi-dir", str(midi), "--out", str(shards), "--workers", "1",
                     "--val-fraction", "0.5"]) == 0
        return shards

    return make
