import subprocess
import sys

from vmm.cli import discover_commands, main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    for name in discover_commands():
        assert name in out
    assert "fit" in out


def test_python_dash_m_runs():
    result = subprocess.run([sys.executable, "-m", "vmm", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "usage: vmm" in result.stdout


def test_no_command_is_an_error():
    assert main([]) == 2


def test_help_does_not_load_torch():
    """Start-up stays fast: `vmm --help` imports no command's heavy dependencies."""
    code = "import sys; from vmm.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n" \
           "print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_bench_help_lists_every_benchmark(capsys):
    from vmm.commands.bench import benchmark_help

    names = benchmark_help()
    assert {"model", "video", "render", "tokenize", "audio"} <= set(names) and all(names.values())
    try:
        main(["bench", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert all(name in out for name in names)


def test_bench_passes_options_to_the_benchmark(capsys):
    try:
        main(["bench", "tokenize", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert "--midi-dir" in capsys.readouterr().out


def test_global_options_before_a_lightning_subcommand(capsys):
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml"
    for flag in ("-v", "--verbose"):
        assert main([flag, "fit", "-c", str(config), "--print_config"]) == 0
        captured = capsys.readouterr()
        assert "architecture:" in captured.out and "Traceback" not in captured.err
    assert main(["-v", "validate", "--help"]) == 0
    assert "--ckpt_path" in capsys.readouterr().out
