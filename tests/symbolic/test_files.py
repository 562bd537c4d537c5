"""symbolic.files.atomic_output: every failure to place the file is a SymbolicError naming the path."""

from pathlib import Path

import pytest

from symbolic.errors import SymbolicError
from symbolic.files import atomic_output, check_writable


def test_writes_and_renames(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_output(target) as tmp:
        assert tmp.suffix == ".txt" and tmp.parent == tmp_path
        tmp.write_text("hello")
    assert target.read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_an_existing_folder_is_refused_before_writing(tmp_path):
    folder = tmp_path / "video.mp4"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(SymbolicError, match="is a folder") as caught, atomic_output(folder):
        pytest.fail("the body must not run")
    assert "choose another output path" in str(caught.value)
    assert (folder / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.mp4"]


def test_a_folder_appearing_during_the_write_gives_a_symbolic_error(tmp_path):
    target = tmp_path / "plan.json"
    with pytest.raises(SymbolicError, match="plan.json") as caught, atomic_output(target) as tmp:
        tmp.write_text("{}")
        target.mkdir()  # os.replace cannot put a file onto a folder
    assert "choose another output path" in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]  # no temporary file left
    assert target.is_dir()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_folder_where_no_file_can_be_made_gives_a_symbolic_error():
    with pytest.raises(SymbolicError, match="/proc/f.npz") as caught, atomic_output("/proc/f.npz"):
        pytest.fail("the body must not run")
    message = str(caught.value)
    assert "choose another output path" in message and "\n" not in message


def test_nothing_written_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(SymbolicError, match="nothing was written"), atomic_output(tmp_path / "x.bin"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_errors_of_the_caller_pass_through_and_keep_the_old_file(tmp_path):
    target = tmp_path / "old.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_check_writable_leaves_nothing_behind(tmp_path):
    assert check_writable(tmp_path / "plan.json") == tmp_path / "plan.json"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["folder", "missing folder", "proc"])
def test_check_writable_refuses_what_atomic_output_would(tmp_path, case):
    if case == "folder":
        target = tmp_path / "taken"
        target.mkdir()
    elif case == "missing folder":
        target = tmp_path / "nowhere" / "plan.json"
    else:
        if not Path("/proc/self").is_dir():
            pytest.skip("needs Linux /proc")
        target = Path("/proc/plan.json")
    with pytest.raises(SymbolicError, match=str(target)):
        check_writable(target)
