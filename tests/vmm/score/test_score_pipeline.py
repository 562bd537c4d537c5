import json
import re

import av
import pytest
from support.video_factory import make_video

from symbolic.midi_io import read_score
from vmm.cli import main


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", duration=5.0, cuts=(2.5,), fps=20)


def duration_of(path):
    with av.open(str(path)) as container:
        return container.duration / 1e6


@pytest.mark.slow
def test_score_writes_every_file_and_the_music_fits_the_video(tmp_path, clip, tiny_model_dir, capsys):
    out = tmp_path / "out"
    code = main(["score", str(clip), "--out", str(out), "--model", str(tiny_model_dir), "--tempo", "120",
                 "--instruments", "piano,bass,drums", "--key", "A minor", "--seed", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    names = {p.name for p in out.iterdir()}
    assert names == {"score.mid", "score.musicxml", "pianoroll.png", "plan.json", "plan.png", "preview.wav",
                     "clip.scored.mp4"}
    plan = json.loads((out / "plan.json").read_text())
    assert plan["tempo"] == 120 and plan["key"] == "A minor"
    score = read_score(out / "score.mid")
    assert [t.name for t in score.tracks] == ["Piano", "Bass", "Drums"]
    seconds = score.to("second")
    assert max(n.time + n.duration for t in seconds.tracks for n in t.notes) <= 5.0 + 1e-3
    assert abs(duration_of(out / "clip.scored.mp4") - duration_of(clip)) < 0.1
    assert re.search(r"cut at 2\.(4|5)\d s -> bar line at 2\.00 s", captured.out), captured.out
    assert "time per stage" in captured.out


def test_compose_without_audio(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "song"
    code = main(["compose", "--bars", "2", "--tempo", "90", "--chords", "Am F", "--instruments", "piano,strings",
                 "--no-audio", "--out", str(out), "--model", str(tiny_model_dir)])
    assert code == 0, capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {"score.mid", "score.musicxml", "pianoroll.png", "plan.json"}
    plan = json.loads((out / "plan.json").read_text())
    assert plan["n_bars"] == 2 and len(plan["chords"]) == 8


def test_existing_output_is_not_overwritten(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    code = main(["compose", "--bars", "1", "--no-audio", "--out", str(out), "--model", str(tiny_model_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert (out / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("args, message", [
    (["score", "missing.mp4"], "video not found"),
    (["compose", "--bars", "0"], "--bars"),
    (["compose", "--instruments", "kazoo-9000"], "unknown instrument"),
    (["compose", "--chords", "Hmaj13#"], "chord"),
])
def test_bad_input_is_one_line(tmp_path, tiny_model_dir, capsys, args, message):
    code = main([*args, "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir), "--no-audio"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_missing_audio_model_is_named_before_any_work(tmp_path, clip, tiny_model_dir, capsys):
    empty = tmp_path / "audio_model"
    empty.mkdir()
    code = main(["score", str(clip), "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir),
                 "--audio-model", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and "codec/config.json" in err and "decoder/model.safetensors" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_demo_scores_the_bundled_video(tmp_path, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "demo_output/example.scored.mp4" in out
    assert abs(duration_of(tmp_path / "demo_output" / "example.scored.mp4") - 16.0) < 0.1
    assert main(["demo", "--model", str(tiny_model_dir)]) == 0  # its own files are replaced


@pytest.mark.slow
def test_bench_score_reports_every_stage(tmp_path, tiny_model_dir, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", "score", "--seconds", "3", "--model", str(tiny_model_dir), "--json", str(report)]) == 0
    stages = json.loads(report.read_text())["stages"]
    assert set(stages) == {"features", "plan", "model", "generate", "export", "render", "mux"}
    assert "goal <= 20 s" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--temperature", "0"], "temperature"),
    (["--top-p", "2"], "top_p"),
    (["--key", "H major"], "H major"),
    (["--instruments", "piano,piano"], "twice"),
    (["--time-signature", "9/4"], "9/4"),
    (["--model", "no_such_model"], "no_such_model"),
])
def test_wishes_are_checked_before_any_work_and_nothing_is_created(tmp_path, tiny_model_dir, capsys, args,
                                                                   message):
    out = tmp_path / "new_folder"
    model = [] if "--model" in args else ["--model", str(tiny_model_dir)]
    code = main(["compose", "--bars", "1", "--no-audio", "--out", str(out), *model, *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".vmm-")]


def test_force_replaces_an_earlier_run_without_mixing_them(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "song"
    out.mkdir()
    (out / "preview.wav").write_bytes(b"from an earlier run")
    (out / "notes.txt").write_text("mine")
    code = main(["compose", "--bars", "1", "--no-audio", "--out", str(out), "--model", str(tiny_model_dir),
                 "--force"])
    assert code == 0, capsys.readouterr().err
    assert not (out / "preview.wav").exists()  # an output this run did not write
    assert (out / "notes.txt").read_text() == "mine"  # not ours: kept


def test_midi_has_the_planned_tempo_and_ends_with_the_music(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "song"
    assert main(["compose", "--bars", "2", "--tempo", "105", "--no-audio", "--out", str(out),
                 "--model", str(tiny_model_dir)]) == 0
    score = read_score(out / "score.mid")
    assert score.tempos[0].qpm == pytest.approx(105, abs=0.01)  # not the tokenizer's nearest step (104)
    seconds = score.to("second")
    end = max(n.time + n.duration for t in seconds.tracks for n in t.notes)
    assert end <= 2 * 4 * 60 / 105 + 1e-3
    summary = capsys.readouterr().out
    assert "key C major (default)" in summary
