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
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise SymbolicError(f"cannot write {path}: folder {directory} does not exist (create it first)")
    if not os.access(directory, os.W_OK):
        raise SymbolicError(f"cannot write {path}: folder {directory} is not writable (choose another output path)")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise SymbolicError(f"nothing was written to {path}")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
