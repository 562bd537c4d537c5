"""Atomic output files: write to a temporary file beside the target, then rename.

A crash or an error never leaves a partial file, and an existing file is only replaced once the new
one is complete. `audio_render` and `vmm` use this too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from symbolic.errors import SymbolicError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is renamed to `path`.

    The temporary file keeps the target's suffix so that libraries choosing a format by extension work.

    Raises:
        SymbolicError: the target is a folder, its folder is missing or not writable, or the
            system refuses to create or rename the file there (e.g. under /proc); the message names
            the path and the system's reason. Errors raised by the caller's own writing pass through.
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise SymbolicError(f"nothing was written to {path}")
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files 0600; give the usual permissions
            os.replace(tmp, path)
        except OSError as error:
            raise SymbolicError(f"cannot write {path} ({_reason(error)}); choose another output path") from None
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(path: str | os.PathLike) -> Path:
    """Check, before any work starts, that `atomic_output(path)` will be able to write `path`.

    A file is really created in the target's folder and removed again: permission bits do not tell
    (root may write anywhere, yet nothing can be created under /proc).

    Returns:
        `path` as a Path.
    Raises:
        SymbolicError: as `atomic_output` would.
    """
    path = Path(path)
    _temporary_beside(path).unlink()
    return path


def _temporary_beside(path: Path) -> Path:
    """An empty temporary file in `path`'s folder, with `path`'s suffix."""
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SymbolicError(f"cannot write {path}: it is a folder (choose another output path)")
    if not directory.is_dir():
        raise SymbolicError(f"cannot write {path}: folder {directory} does not exist (create it first)")
    if not os.access(directory, os.W_OK):
        raise SymbolicError(f"cannot write {path}: folder {directory} is not writable (choose another output path)")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=directory)
    except OSError as error:
        raise SymbolicError(f"cannot write {path}: cannot create a file in {directory} "
                            f"({_reason(error)}); choose another output path") from None
    os.close(fd)
    return Path(name)


def _reason(error: OSError) -> str:
    """The system's reason without the file name (the message names the path itself)."""
    return error.strerror or type(error).__name__


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
