import wave

import pytest

from audio_render.soundfonts import pretty_midi_soundfont
from vmm.cli import main

SMALL_SF = str(pretty_midi_soundfont())


def wav_seconds(path):
    with wave.open(str(path)) as handle:
        return handle.getnframes() / handle.getframerate(), handle.getframerate()


def test_render_default_output_beside_the_input(song_midi, capsys, monkeypatch):
    monkeypatch.setenv("VMM_SOUNDFONT", SMALL_SF)
    assert main(["render", str(song_midi)]) == 0
    out = song_midi.with_suffix(".wav")
    seconds, rate = wav_seconds(out)
    assert rate == 44100 and 16.0 < seconds < 21.0
    printed = capsys.readouterr().out
    assert str(out) in printed and f"{seconds:.2f} s" in printed and "TimGM6mb.sf2" in printed


def test_refuses_to_overwrite_without_force(song_midi, capsys):
    out = song_midi.with_suffix(".wav")
    out.write_bytes(b"keep me")
    assert main(["render", str(song_midi), "--soundfont", SMALL_SF]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert out.read_bytes() == b"keep me"
    assert main(["render", str(song_midi), "--soundfont", SMALL_SF, "--force"]) == 0
    assert wav_seconds(out)[0] > 16.0


def test_flac_out_and_sample_rate(song_midi, tmp_path):
    out = tmp_path / "renders" / "x.flac"
    out.parent.mkdir()
    assert main(["render", str(song_midi), "--soundfont", SMALL_SF, "--out", str(out), "--sample-rate", "22050"]) == 0
    assert out.read_bytes()[:4] == b"fLaC"


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "folder", "bad_soundfont", "truncated_soundfont", "missing_soundfont",
                                  "missing_out_dir", "mp3_out", "bad_rate", "out_is_input"])
def test_bad_input_is_one_line_exit_2_and_no_file(song_midi, tmp_path, capsys, case):
    midi, extra = song_midi, ["--soundfont", SMALL_SF]
    if case == "missing":
        midi = tmp_path / "nope.mid"
    elif case == "empty":
        midi = tmp_path / "empty.mid"
        midi.write_bytes(b"")
    elif case == "corrupt":
        midi = tmp_path / "corrupt.mid"
        midi.write_bytes(song_midi.read_bytes()[:40])
    elif case == "folder":
        midi = tmp_path
    elif case == "bad_soundfont":
        (tmp_path / "bad.sf2").write_bytes(b"not a soundfont at all")
        extra = ["--soundfont", str(tmp_path / "bad.sf2")]
    elif case == "truncated_soundfont":
        (tmp_path / "cut.sf2").write_bytes(pretty_midi_soundfont().read_bytes()[:100_000])
        extra = ["--soundfont", str(tmp_path / "cut.sf2")]
    elif case == "missing_soundfont":
        extra = ["--soundfont", str(tmp_path / "gone.sf2")]
    elif case == "missing_out_dir":
        extra += ["--out", str(tmp_path / "no" / "such" / "dir" / "x.wav")]
    elif case == "mp3_out":
        extra += ["--out", str(tmp_path / "x.mp3")]
    elif case == "bad_rate":
        extra += ["--sample-rate", "1000"]
    elif case == "out_is_input":
        extra += ["--out", str(song_midi), "--force"]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["render", str(midi), *extra]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_bundled_example_is_what_its_script_writes(tmp_path):
    import importlib.util

    from vmm.commands.demo import EXAMPLE_MIDI

    spec = importlib.util.spec_from_file_location("make_example", EXAMPLE_MIDI.with_name("make_example.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.make_example(tmp_path / "fresh.mid").read_bytes() == EXAMPLE_MIDI.read_bytes()


def test_demo_without_a_model_renders_the_example_and_reruns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("vmm.score.pipeline.DEFAULT_MODEL_DIR", tmp_path / "no_model")
    monkeypatch.setenv("VMM_SOUNDFONT", SMALL_SF)
    assert main(["demo"]) == 0
    seconds, _ = wav_seconds(tmp_path / "demo_output" / "example.wav")
    assert 30.0 < seconds < 36.0  # 12 bars at 96 BPM, plus the last chord's release
    assert "demo_output/example.wav" in capsys.readouterr().out
    assert main(["demo"]) == 0  # its own files are overwritten


def test_demo_leaves_other_files_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("vmm.score.pipeline.DEFAULT_MODEL_DIR", tmp_path / "no_model")
    monkeypatch.setenv("VMM_SOUNDFONT", SMALL_SF)
    (tmp_path / "demo_output").mkdir()
    (tmp_path / "demo_output" / "example.wav").write_bytes(b"mine")
    assert main(["demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not written by vmm demo" in err[0]
    assert (tmp_path / "demo_output" / "example.wav").read_bytes() == b"mine"


def test_an_error_is_the_only_output_when_not_on_a_terminal(song_midi, tmp_path, capsys):
    """The progress bar is off when stderr is not a terminal: no blank line before the error."""
    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(song_midi.read_bytes()[:40])
    assert main(["render", str(corrupt), "--soundfont", SMALL_SF, "--out", str(tmp_path / "x.wav")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, repr(captured.err)


def test_success_prints_only_the_result_when_not_on_a_terminal(song_midi, tmp_path, capsys):
    assert main(["render", str(song_midi), "--soundfont", SMALL_SF, "--out", str(tmp_path / "x.wav")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith("wrote ")


@pytest.mark.parametrize("case", ["proc", "folder"])
def test_an_output_where_no_file_can_be_made_is_refused_first(song_midi, tmp_path, capsys, case):
    if case == "proc":
        from pathlib import Path

        if not Path("/proc/self").is_dir():
            pytest.skip("needs Linux /proc")
        out, words = "/proc/x.wav", "cannot create a file in /proc"
    else:
        (tmp_path / "taken.wav").mkdir()
        out, words = str(tmp_path / "taken.wav"), "is a folder"
    for extra in ([], ["--force"]):
        assert main(["render", str(song_midi), "--soundfont", SMALL_SF, "--out", out, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err and err.count("cannot write") == 1, err
