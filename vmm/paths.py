"""Checking user-given paths before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from vmm.errors import VMMError


def check_input_file(path: str | os.PathLike, what: str = "input file") -> Path:
    """Return `path` as a Path if it is an existing, non-empty file; else raise VMMError."""
    path = Path(path)
    if not path.exists():
        raise VMMError(f"{what} not found: {path} (check the path)")
    if path.is_dir():
        raise VMMError(f"{what} is a directory, not a file: {path}")
    if path.stat().st_size == 0:
        raise VMMError(f"{what} is empty: {path} (give a file with content)")
    return path


def nearest_existing_folder(path: Path) -> Path:
    """`path` itself if it is a folder, else its closest ancestor that exists."""
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_output_dir(path: str | os.PathLike, force: bool = False) -> Path:
    """Check, without creating anything, that an output folder can be used: not a file, empty unless
    `force`, and creatable or writable. Long jobs call this before they start."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise VMMError(f"output {path} exists and is not a folder (choose another --out)")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise VMMError(f"output folder {path} is not empty (choose another --out, or pass --force to overwrite)")
    anchor = nearest_existing_folder(path)
    if not anchor.is_dir() or not os.access(anchor, os.W_OK | os.X_OK):
        raise VMMError(f"cannot write output folder {path}: {anchor} is not a writable folder (choose another --out)")
    return path


def prepare_output_dir(path: str | os.PathLike, force: bool = False) -> Path:
    """Create an output folder; refuse a non-empty existing one unless `force`."""
    path = check_output_dir(path, force)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VMMError(f"cannot create output folder {path}: {error.strerror}") from None
    return path
