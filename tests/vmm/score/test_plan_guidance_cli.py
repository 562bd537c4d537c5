import json

import pytest

import vmm.evaluate
import vmm.score.pipeline
from vmm.cli import main
from vmm.generate.guidance import PlanGuidance


@pytest.fixture
def seen_guidance(monkeypatch):
    """Every `guidance` that reaches generate_tokens (the real one still runs)."""
    seen = []

    def spy(real):
        def wrapper(*args, guidance=None, **kwargs):
            seen.append(guidance)
            return real(*args, guidance=guidance, **kwargs)
        return wrapper

    monkeypatch.setattr(vmm.score.pipeline, "generate_tokens", spy(vmm.score.pipeline.generate_tokens))
    monkeypatch.setattr(vmm.evaluate, "generate_tokens", spy(vmm.evaluate.generate_tokens))
    return seen


@pytest.mark.parametrize("flags, expected", [
    ([], PlanGuidance()),
    (["--chord-guidance", "1.5", "--density-guidance", "0"], PlanGuidance.from_strengths(1.5, 0.0)),
    (["--chord-guidance", "0", "--no-density-guidance"], PlanGuidance.off()),
])
def test_compose_flags_reach_the_generator(tmp_path, tiny_model_dir, capsys, seen_guidance, flags, expected):
    code = main(["compose", "--bars", "2", "--no-audio", "--out", str(tmp_path / "out"),
                 "--model", str(tiny_model_dir), *flags])
    assert code == 0, capsys.readouterr().err
    assert seen_guidance == [expected]


@pytest.mark.parametrize("flags, message", [
    (["--chord-guidance", "-1"], "--chord-guidance must be a finite number >= 0"),
    (["--chord-guidance", "nan"], "--chord-guidance must be a finite number >= 0"),
    (["--density-guidance", "1.5"], "--density-guidance must be in [0, 1] (or --no-density-guidance)"),
])
def test_bad_guidance_is_one_line_before_any_work(tmp_path, tiny_model_dir, capsys, seen_guidance, flags, message):
    out = tmp_path / "out"
    code = main(["compose", "--bars", "2", "--no-audio", "--out", str(out), "--model", str(tiny_model_dir), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and seen_guidance == []


def test_evaluate_flags_reach_the_generator_and_the_report(tmp_path, tiny_model_dir, capsys, prepared_shards, seen_guidance):
    shards = prepared_shards(2, bars=4)
    report_path = tmp_path / "report.json"
    code = main(["evaluate", "--data", str(shards), "--model", str(tiny_model_dir), "--pieces", "1", "--bars", "2",
                 "--chord-guidance", "0.5", "--no-density-guidance", "--json", str(report_path)])
    out = capsys.readouterr().out
    assert code == 0
    expected = PlanGuidance.from_strengths(0.5, None)
    assert seen_guidance == [expected]
    assert "plan guidance: chords 0.5 nats, notes per bar off" in out
    recorded = json.loads(report_path.read_text())["settings"]["guidance"]
    assert recorded == {**expected.__dict__, "density_tolerance": None}


@pytest.mark.parametrize("command", ["score", "compose", "evaluate"])
def test_help_documents_the_guidance_flags(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--chord-guidance NATS" in text and "--density-guidance TOL" in text and "--no-density-guidance" in text
    assert "inference-time control" in text
