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
