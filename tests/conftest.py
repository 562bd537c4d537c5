import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch


def _register_support_package() -> None:
    """Make tests/support importable as `support.*` without putting tests/ on sys.path, where the
    folders tests/vmm, tests/symbolic ... would shadow the real packages as namespace packages."""
    folder = Path(__file__).parent / "support"
    spec = importlib.util.spec_from_file_location("support", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["support"] = module
    spec.loader.exec_module(module)


_register_support_package()

# Test tensors are tiny: one intra-op thread is as fast, and OpenMP threads spin-waiting for a busy core
# make a loaded machine dozens of times slower. Subprocesses (the CLI tests) inherit it too.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


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
