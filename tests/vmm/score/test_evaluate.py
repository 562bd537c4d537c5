import json

from support.midi_factory import make_song

from vmm.cli import main


def test_evaluate_reports_generated_next_to_real(tmp_path, tiny_model_dir, capsys, prepared_shards):
    shards = prepared_shards(3, bars=6)
    report_path = tmp_path / "report.json"
    code = main(["evaluate", "--data", str(shards), "--model", str(tiny_model_dir), "--pieces", "2",
                 "--bars", "2", "--json", str(report_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "| chord_accuracy |" in out and "| density_error |" in out
    report = json.loads(report_path.read_text())
    assert 1 <= report["settings"]["pieces"] <= 2
    real = report["pieces"][0]["real"]
    assert real["chord_accuracy"] > 0.9  # the real excerpt follows its own chords
    assert real["density_error"] < 1e-6  # and has exactly its own notes per bar


def test_evaluate_needs_long_enough_pieces(tmp_path, tiny_model_dir, capsys):
    midi = tmp_path / "midi"
    midi.mkdir()
    make_song(midi / "short.mid", bars=2)
    main(["prepare", "--midi-dir", str(midi), "--out", str(tmp_path / "shards"), "--workers", "1"])
    capsys.readouterr()
    code = main(["evaluate", "--data", str(tmp_path / "shards"), "--model", str(tiny_model_dir), "--bars", "8"])
    err = capsys.readouterr().err
    assert code == 2 and "smaller --bars" in err
