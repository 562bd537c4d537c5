"""A feature cache keyed on a video's content and the extraction settings.

The key hashes the file's size with its first and last MiB (fast for large files, independent of
the file's name and modification time) together with the settings, so scoring the same video twice
decodes it once, and changing a setting never returns stale features.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # bytes hashed at each end of the file


def default_cache_dir() -> Path:
    """`$VMM_CACHE_DIR`, else `~/.cache/vmm/features`."""
    env = os.environ.get("VMM_CACHE_DIR")
    return Path(env).expanduser() if env else Path("~/.cache/vmm/features").expanduser()


def file_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of the size, first MiB and last MiB of a file, as hex."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(CHUNK))
        if size > CHUNK:
            handle.seek(max(CHUNK, size - CHUNK))
            digest.update(handle.read(CHUNK))
    return digest.hexdigest()


def cache_key(path: str | os.PathLike, settings: dict) -> str:
    """Key of a video's features under the given settings (a JSON-serialisable dict)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(f"{file_fingerprint(path)}|{text}".encode()).hexdigest()[:40]


class FeatureCache:
    """Feature files in a folder, one `<key>.npz` per video and settings."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str):
        """The cached `VideoFeatures`, or None (missing or unreadable entries are misses)."""
        from vmm.video.features import VideoFeatures

        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            return VideoFeatures.load_npz(path)
        except Exception as error:  # a damaged entry is recomputed, never fatal
            log.debug("ignoring damaged cache entry %s: %s", path, error)
            return None

    def put(self, key: str, features) -> None:
        """Store features; a cache that cannot be written is skipped with a debug message."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            features.save_npz(self.path_for(key))
        except Exception as error:
            log.debug("cannot write the feature cache in %s: %s", self.directory, error)
