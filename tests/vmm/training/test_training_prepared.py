"""`vmm prepare` output feeds `vmm fit` and `vmm export` unchanged (MIDI files made by the tests)."""

import json

from support.midi_factory import make_song

from vmm.artifact import load_model
from vmm.cli import main
from vmm.training.data import ShardDataModule


def test_prepare_fit_export(tmp_path, fit_tiny):
    midi = tmp_path / "midi"
    midi.mkdir()
    for number, (tempo, bars) in enumerate([(100.0, 12), (120.0, 16), (90.0, 10)]):
        make_song(midi / f"song{number}.mid", bars=bars, tempo=tempo)
    shards = tmp_path / "shards"
    assert main(["prepare", "--midi-dir", str(midi), "--out", str(shards), "--workers", "1"]) == 0

    data = ShardDataModule(str(shards), seq_len=64, batch_size=2)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["tokens"].shape == (2, 64) and bool(batch["mask"].any())
    assert int(batch["chords"].max()) > 0  # chords were recognised and reach the tokens

    assert fit_tiny(shards, tmp_path / "runs", "--trainer.max_steps", "2") == 0
    (last,) = (tmp_path / "runs").rglob("last.ckpt")
    assert main(["export", str(last), "--out", str(tmp_path / "model")]) == 0
    model, tokenizer, config = load_model(tmp_path / "model")
    assert len(tokenizer) == config.vocab_size == data.vocab_size
    reference = json.loads((tmp_path / "model" / "density_reference.json").read_text())
    assert reference["n_bars"] == sum(len(p.density) for p in data.train_set.pieces)
