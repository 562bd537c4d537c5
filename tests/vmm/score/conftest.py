import pytest
import torch

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
