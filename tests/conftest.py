import sys
from pathlib import Path

import pytest
import torch

# Test helpers (tests/support) are importable as `support.*` from every test module.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` skip on machines without CUDA."""
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def song_midi(tmp_path):
    """A small 8-bar, 4-track (piano, bass, flute, drums) MIDI file at 120 BPM: C Am F G repeated."""
    from support.midi_factory import make_song

    return make_song(tmp_path / "song.mid")
