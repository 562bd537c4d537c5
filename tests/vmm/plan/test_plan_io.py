"""The plan as JSON, the `vmm plan` command, and a plan made from a real (small) video."""

import json
from pathlib import Path

import numpy as np
import pytest
from support.video_factory import make_video

from vmm.cli import main
from vmm.errors import VMMError
from vmm.plan.make import make_plan
from vmm.plan.plan import MusicalPlan
from vmm.video.features import extract_features


@pytest.fixture(scope="module")
def pulse_video(tmp_path_factory):
    """10 s; the square stops every 0.5 s (a 120 BPM visual rhythm); cuts at 4.0 and 6.0 s."""
    path = tmp_path_factory.mktemp("plan_videos") / "pulse.mp4"
    return make_video(path, duration=10.0, speeds=[(0.0, 120.0)], pulse_period=0.5, cuts=[4.0, 6.0])


@pytest.fixture(scope="module")
def pulse_features(pulse_video):
    return extract_features(pulse_video, use_clip=False, use_cache=False)


def test_plan_from_a_video(pulse_features):
    plan = make_plan(pulse_features)
    assert plan.tempo_source == "visual rhythm"
    assert plan.tempo == pytest.approx(120, abs=1) and plan.n_bars == 5
    assert plan.bar_times[-1] == pytest.approx(10.0, abs=0.01) and plan.fade_out_s == 0
    assert [(c["bar"], c["beat"], c["kind"]) for c in plan.cuts] == [(2, 0, "bar"), (3, 0, "bar")]
    assert plan.section_starts == [0, 2, 3]
    assert np.mean(plan.strength) > 0.5  # a visual beat near every beat


def test_json_round_trip(tmp_path, pulse_features):
    plan = make_plan(pulse_features, tempo=96, key="Am", chords="Am F C G", time_signature="3/4",
                     instruments="piano,bass")
    text = plan.to_json()
    assert json.loads(text)["time_signature"] == [3, 4]
    back = MusicalPlan.from_json(text)
    assert back == plan and back.time_signature == (3, 4)
    plan.save(tmp_path / "plan.json")
    assert MusicalPlan.load(tmp_path / "plan.json") == plan


def test_bad_plan_files(tmp_path, pulse_features):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(VMMError, match="not a VMM plan"):
        MusicalPlan.load(tmp_path / "bad.json")
    data = make_plan(pulse_features).to_dict()
    data["density"] = data["density"][:-1]
    (tmp_path / "short.json").write_text(json.dumps(data))
    with pytest.raises(VMMError, match="density"):
        MusicalPlan.load(tmp_path / "short.json")


def test_plan_command_prints_writes_and_plots(tmp_path, pulse_video, capsys):
    out_json, out_png = tmp_path / "plan.json", tmp_path / "plan.png"
    code = main(["plan", str(pulse_video), "--tempo", "96", "--key", "A minor", "--chords", "Am F C G",
                 "--json", str(out_json), "--plot", str(out_png), "--no-cache"])
    assert code == 0
    out = capsys.readouterr().out
    assert "96 BPM" in out and "A minor" in out and "cuts:" in out
    plan = MusicalPlan.load(out_json)
    assert plan.tempo == 96 and plan.key_source == "user" and plan.chords is not None
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plan_command_json_to_stdout_and_from_npz(tmp_path, pulse_features, capsys):
    pulse_features.save_npz(tmp_path / "feats.npz")
    assert main(["plan", str(tmp_path / "feats.npz"), "--json", "-", "--time-signature", "3/4"]) == 0
    plan = MusicalPlan.from_json(capsys.readouterr().out)
    assert plan.time_signature == (3, 4)


@pytest.mark.parametrize("extra, message", [
    (["--key", "H minor"], "unknown key"),
    (["--time-signature", "4/5"], "time signature"),
    (["--chords", "Am Xq"], "chord"),
])
def test_plan_command_user_errors_are_one_line(pulse_video, capsys, extra, message):
    assert main(["plan", str(pulse_video), "--no-cache", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


def test_plan_command_refuses_to_overwrite(tmp_path, pulse_video, capsys):
    (tmp_path / "plan.json").write_text("{}")
    assert main(["plan", str(pulse_video), "--json", str(tmp_path / "plan.json")]) == 2
    assert "exists" in capsys.readouterr().err


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    return err[0]


def test_plot_suffix_is_checked_before_anything_is_written(tmp_path, pulse_features, capsys):
    pulse_features.save_npz(tmp_path / "feats.npz")
    code = main(["plan", str(tmp_path / "feats.npz"), "--json", str(tmp_path / "p.json"),
                 "--plot", str(tmp_path / "p.txt")])
    assert code == 2
    assert ".png, .svg or .pdf" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feats.npz"]


def test_the_input_video_is_never_an_output(tmp_path, pulse_video, capsys):
    video = tmp_path / "victim.mp4"
    video.write_bytes(pulse_video.read_bytes())
    before = video.read_bytes()
    assert main(["plan", str(video), "--json", str(video), "--force", "--no-cache"]) == 2
    assert "is the input file" in _one_error_line(capsys)
    assert main(["plan", str(video), "--plot", str(tmp_path / "." / "victim.mp4"), "--force", "--no-cache"]) == 2
    _one_error_line(capsys)
    assert video.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["victim.mp4"]


def test_json_and_plot_must_differ(tmp_path, pulse_features, capsys):
    pulse_features.save_npz(tmp_path / "feats.npz")
    assert main(["plan", str(tmp_path / "feats.npz"), "--json", str(tmp_path / "p.png"),
                 "--plot", str(tmp_path / "p.png")]) == 2
    assert "different names" in _one_error_line(capsys)


@pytest.mark.parametrize("option, name", [("--json", "p.json"), ("--plot", "p.png")])
def test_outputs_where_no_file_can_be_made(tmp_path, pulse_features, capsys, option, name):
    pulse_features.save_npz(tmp_path / "feats.npz")
    (tmp_path / name).mkdir()
    assert main(["plan", str(tmp_path / "feats.npz"), option, str(tmp_path / name), "--force"]) == 2
    assert "is a folder" in _one_error_line(capsys)
    if Path("/proc/self").is_dir():
        assert main(["plan", str(tmp_path / "feats.npz"), option, f"/proc/{name}"]) == 2
        assert f"/proc/{name}" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["feats.npz", name])
