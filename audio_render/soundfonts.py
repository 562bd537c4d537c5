"""Finding a General MIDI SoundFont to render with.

Resolution order (the first that exists wins):

1. an explicit path given by the caller (`--soundfont`);
2. the environment variable `VMM_SOUNDFONT`;
3. files in the repository's `soundfonts/` folder, then in the user folder
   `$XDG_DATA_HOME/vmm/soundfonts` (default `~/.local/share/vmm/soundfonts`);
4. the system's General MIDI SoundFonts where Debian/Ubuntu, Fedora and Arch packages put them
   (`/usr/share/sounds/sf2`, `/usr/share/sounds/sf3`, `/usr/share/soundfonts`, ...), preferring
   FluidR3_GM and then FluidR3Mono_GM;
5. the `TimGM6mb.sf2` that the pretty_midi wheel ships, so that rendering works wherever the Python
   packages installed.

An explicit path or `VMM_SOUNDFONT` that is wrong is an error, never silently skipped: the user asked
for that file.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from audio_render.errors import AudioRenderError

log = logging.getLogger(__name__)

ENV_VAR = "VMM_SOUNDFONT"
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
SYSTEM_DIRS = (
    "/usr/share/sounds/sf2",
    "/usr/share/sounds/sf3",
    "/usr/share/soundfonts",
    "/usr/local/share/soundfonts",
    "/usr/share/sounds/soundfonts",
    "/opt/homebrew/share/soundfonts",
)
# Lower rank sorts first; names not listed come after these, alphabetically.
PREFERRED_NAMES = ("fluidr3_gm", "fluidr3mono_gm", "generaluser", "musescore_general", "default-gm", "timgm6mb")


@dataclass(frozen=True)
class SoundFontCandidate:
    """A SoundFont file found on this machine and where it was found."""

    path: Path
    source: str  # "explicit", "env", "repo", "user", "system" or "pretty_midi"


def check_soundfont(path: str | os.PathLike, what: str = "SoundFont") -> Path:
    """Return `path` if it is a readable `.sf2`/`.sf3` file with a complete SoundFont header, else raise.

    Checking the RIFF `sfbk` header and the declared size here gives one clear message instead of
    FluidSynth's own multi-line complaints on stderr.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise AudioRenderError(f"{what} not found: {path} (check the path, or omit it to use the default)")
    if path.is_dir():
        raise AudioRenderError(f"{what} is a folder, not a file: {path} (give a .sf2 or .sf3 file)")
    if path.suffix.lower() not in SOUNDFONT_SUFFIXES:
        raise AudioRenderError(f"{what} {path} is not a .sf2 or .sf3 file (give a SoundFont)")
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        raise AudioRenderError(f"{what} {path} cannot be read ({error.strerror})") from None
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise AudioRenderError(f"{what} {path} is not a valid SoundFont (no RIFF 'sfbk' header; file corrupt?)")
    declared = 8 + int.from_bytes(header[4:8], "little")
    size = path.stat().st_size
    if size < declared:
        raise AudioRenderError(f"{what} {path} is truncated ({size} of {declared} bytes; download it again)")
    return path


def repo_soundfont_dir() -> Path:
    """The repository's `soundfonts/` folder (exists in a source checkout or an editable install)."""
    return Path(__file__).resolve().parent.parent / "soundfonts"


def user_soundfont_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/vmm/soundfonts`, by default `~/.local/share/vmm/soundfonts`."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vmm" / "soundfonts"


def pretty_midi_soundfont() -> Path | None:
    """The `TimGM6mb.sf2` inside the installed pretty_midi package, found without importing it."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "TimGM6mb.sf2"
        if candidate.is_file():
            return candidate
    return None


def _rank(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    for rank, preferred in enumerate(PREFERRED_NAMES):
        if name.startswith(preferred):
            # The .sf2 of a name before its .sf3: it loads faster (no Vorbis decoding).
            return rank * 2 + (path.suffix.lower() == ".sf3"), name
    return len(PREFERRED_NAMES) * 2, name


def _soundfonts_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    try:
        found = [p for p in directory.iterdir() if p.suffix.lower() in SOUNDFONT_SUFFIXES and p.is_file()]
    except OSError:
        return []
    return sorted(found, key=_rank)


def _candidates(
    explicit: str | os.PathLike | None,
    environ: Mapping[str, str],
    system_dirs: tuple[str, ...],
) -> Iterator[SoundFontCandidate]:
    """Every candidate in resolution order; explicit and env paths are checked (they raise if wrong)."""
    if explicit is not None and str(explicit) != "":
        yield SoundFontCandidate(check_soundfont(explicit), "explicit")
    env_value = environ.get(ENV_VAR, "").strip()
    if env_value:
        yield SoundFontCandidate(check_soundfont(env_value, what=f"SoundFont from {ENV_VAR}"), "env")
    for path in _soundfonts_in(repo_soundfont_dir()):
        yield SoundFontCandidate(path, "repo")
    for path in _soundfonts_in(user_soundfont_dir(environ)):
        yield SoundFontCandidate(path, "user")
    system = [p for d in system_dirs for p in _soundfonts_in(Path(d))]
    for path in sorted(system, key=_rank):
        yield SoundFontCandidate(path, "system")
    bundled = pretty_midi_soundfont()
    if bundled is not None:
        yield SoundFontCandidate(bundled, "pretty_midi")


def list_soundfonts(
    explicit: str | os.PathLike | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system_dirs: tuple[str, ...] = SYSTEM_DIRS,
) -> list[SoundFontCandidate]:
    """All SoundFonts found, in the order `find_soundfont` tries them, without duplicates.

    Files reached through several symlinks (Debian's `default-GM.sf3` alternatives) appear once, under
    the first name met. Files in the folders whose header is not a SoundFont's are left out.
    """
    environ = os.environ if environ is None else environ
    seen: set[Path] = set()
    found = []
    for candidate in _candidates(explicit, environ, system_dirs):
        real = candidate.path.resolve()
        if real in seen:
            continue
        seen.add(real)
        if candidate.source in ("explicit", "env") or _is_valid(candidate.path):
            found.append(candidate)
    return found


def find_soundfont(
    explicit: str | os.PathLike | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system_dirs: tuple[str, ...] = SYSTEM_DIRS,
) -> Path:
    """The SoundFont to render with (see the module docstring for the order).

    Args:
        explicit: a path the user gave; it must exist and be a `.sf2`/`.sf3` SoundFont.
        environ: the environment to read `VMM_SOUNDFONT` and `XDG_DATA_HOME` from (default `os.environ`).
        system_dirs: system folders to search (tests pass their own).

    Returns:
        The path of the SoundFont file.

    Raises:
        AudioRenderError: the explicit or `VMM_SOUNDFONT` file is wrong, or nothing was found at all.
    """
    environ = os.environ if environ is None else environ
    for candidate in _candidates(explicit, environ, system_dirs):
        if candidate.source in ("explicit", "env") or _is_valid(candidate.path):
            log.debug("using SoundFont %s (%s)", candidate.path, candidate.source)
            return candidate.path
    raise AudioRenderError(
        "no SoundFont found: pass --soundfont FILE.sf2, set VMM_SOUNDFONT, put one in soundfonts/, "
        "or install one (apt-get install fluidr3mono-gm-soundfont)")


def _is_valid(path: Path) -> bool:
    try:
        check_soundfont(path)
    except AudioRenderError as error:
        log.warning("skipping %s", error)
        return False
    return True
