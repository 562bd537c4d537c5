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


def prepare_output_dir(path: str | os.PathLike, force: bool = False) -> Path:
    """Create an output folder; refuse a non-empty existing one unless `force`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise VMMError(f"output {path} exists and is not a folder (choose another --out)")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise VMMError(f"output folder {path} is not empty (choose another --out, or pass --force to overwrite)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VMMError(f"cannot create output folder {path}: {error.strerror}") from None
    return path
