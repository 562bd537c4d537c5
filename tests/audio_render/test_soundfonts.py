import pytest

from audio_render.errors import AudioRenderError
from audio_render.soundfonts import (
    ENV_VAR,
    check_soundfont,
    find_soundfont,
    list_soundfonts,
    pretty_midi_soundfont,
    repo_soundfont_dir,
    user_soundfont_dir,
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No repo, user or system SoundFonts: only what each test puts in place (plus pretty_midi's)."""
    empty_repo = tmp_path / "repo_soundfonts"
    empty_repo.mkdir()
    monkeypatch.setattr("audio_render.soundfonts.repo_soundfont_dir", lambda: empty_repo)
    environ = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    return environ, empty_repo


def test_explicit_path_wins(tmp_path, fake_soundfont, isolated):
    environ, _ = isolated
    mine = fake_soundfont(tmp_path / "mine.sf2")
    environ[ENV_VAR] = str(fake_soundfont(tmp_path / "env.sf2"))
    assert find_soundfont(mine, environ=environ, system_dirs=()) == mine


@pytest.mark.parametrize("name, content, message", [
    ("missing.sf2", None, "not found"),
    ("notes.txt", b"RIFF\x04\x00\x00\x00sfbk", "not a .sf2 or .sf3"),
    ("broken.sf2", b"this is not a soundfont", "not a valid SoundFont"),
    ("wave.sf3", b"RIFF\x04\x00\x00\x00WAVE", "not a valid SoundFont"),
    ("cut.sf2", b"RIFF\x00\x10\x00\x00sfbkLIST", "truncated"),
])
def test_bad_explicit_path_is_an_error(tmp_path, isolated, name, content, message):
    environ, _ = isolated
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioRenderError, match=message) as error:
        find_soundfont(path, environ=environ, system_dirs=())
    assert "\n" not in str(error.value)


def test_folder_is_not_a_soundfont(tmp_path):
    with pytest.raises(AudioRenderError, match="folder"):
        check_soundfont(tmp_path)


def test_env_var_beats_folders_and_a_wrong_one_is_an_error(tmp_path, fake_soundfont, isolated):
    environ, repo = isolated
    fake_soundfont(repo / "repo.sf2")
    environ[ENV_VAR] = str(fake_soundfont(tmp_path / "env.sf3"))
    assert find_soundfont(environ=environ, system_dirs=()) == tmp_path / "env.sf3"
    environ[ENV_VAR] = str(tmp_path / "gone.sf2")
    with pytest.raises(AudioRenderError, match=ENV_VAR):
        find_soundfont(environ=environ, system_dirs=())


def test_order_repo_then_user_then_system_then_pretty_midi(tmp_path, fake_soundfont, isolated):
    environ, repo = isolated
    system = tmp_path / "sys"
    user = user_soundfont_dir(environ)
    fake_soundfont(system / "FluidR3_GM.sf2")
    fake_soundfont(user / "user.sf2")
    fake_soundfont(repo / "repo.sf2")
    found = list_soundfonts(environ=environ, system_dirs=(str(system),))
    assert [c.source for c in found] == ["repo", "user", "system", "pretty_midi"]
    assert found[-1].path == pretty_midi_soundfont()
    assert find_soundfont(environ=environ, system_dirs=(str(system),)) == repo / "repo.sf2"


def test_system_prefers_fluidr3_and_skips_duplicates_and_broken_files(tmp_path, fake_soundfont, isolated):
    environ, _ = isolated
    sf2, sf3 = tmp_path / "sf2", tmp_path / "sf3"
    fake_soundfont(sf2 / "Another_GM.sf2")
    fake_soundfont(sf3 / "FluidR3Mono_GM.sf3")
    fake_soundfont(sf2 / "FluidR3_GM.sf2")
    (sf3 / "default-GM.sf3").symlink_to(sf3 / "FluidR3Mono_GM.sf3")  # Debian's alternatives link
    (sf2 / "Broken.sf2").write_bytes(b"garbage")
    found = list_soundfonts(environ=environ, system_dirs=(str(sf2), str(sf3)))
    names = [c.path.name for c in found if c.source == "system"]
    assert names == ["FluidR3_GM.sf2", "FluidR3Mono_GM.sf3", "Another_GM.sf2"]


def test_pretty_midi_is_the_last_resort(isolated):
    environ, _ = isolated
    assert find_soundfont(environ=environ, system_dirs=()) == pretty_midi_soundfont()
    assert pretty_midi_soundfont().name == "TimGM6mb.sf2"


def test_nothing_found_says_what_to_do(isolated, monkeypatch):
    environ, _ = isolated
    monkeypatch.setattr("audio_render.soundfonts.pretty_midi_soundfont", lambda: None)
    with pytest.raises(AudioRenderError, match="no SoundFont found.*--soundfont"):
        find_soundfont(environ=environ, system_dirs=())


def test_repo_folder_is_the_checkouts_soundfonts_dir():
    assert repo_soundfont_dir().name == "soundfonts"
    assert (repo_soundfont_dir() / "README.md").is_file()
