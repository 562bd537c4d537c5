"""`vmm bench audio` runs with small settings and prints both decoders' speeds."""

from vmm.cli import main


def test_bench_audio_runs_tiny(capsys):
    assert main(["bench", "audio", "--configs", "tiny", "--seconds", "0.2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("tiny"))
    ours, peer, ratio = (float(v) for v in row.split()[2:5])
    assert ours > 0 and peer > 0 and abs(ratio - ours / peer) < 0.02
