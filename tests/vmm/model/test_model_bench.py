"""`vmm bench model` runs with small settings and rejects bad ones with a one-line error."""

import json

from vmm.cli import main


def test_bench_model_small_run_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    status = main(["bench", "model", "--train-lengths", "16", "--repeats", "1", "--contexts", "8,24", "--steps", "2",
                   "--memory-tokens", "4,8", "--json", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "vs GPT-2" in printed and "peak RSS" in printed
    results = json.loads(out.read_text())
    assert set(results["train"]["16"]["seconds"]) == {"vmm", "mamba2", "gpt2"}
    assert set(results["generate"]["ms_per_token"]) == {"8", "24"}


def test_bench_model_bad_settings_are_one_line_errors(capsys):
    assert main(["bench", "model", "--parts", "train,bogus"]) == 2
    assert main(["bench", "model", "--contexts", "1k"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("error: bad benchmark settings") for line in errors)
