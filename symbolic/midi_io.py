"""Reading MIDI files into `symusic.Score` objects, with one clear error per kind of bad file.

symusic parses fast but its errors are terse ("iostream error"), so the file's chunk structure is
checked here first: that is what tells a truncated file from one with corrupt bytes. RIFF-wrapped
MIDI (`.rmi`: a `RIFF....RMID` file whose `data` chunk holds a standard MIDI file) is unwrapped.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from symusic import Score

from symbolic.errors import MidiReadError

MIDI_SUFFIXES = (".mid", ".midi", ".rmi")

_HEADER_CHUNK = b"MThd"
_TRACK_CHUNK = b"MTrk"


def read_score(path: str | os.PathLike) -> Score:
    """Read a MIDI file (`.mid`, `.midi` or RIFF-wrapped `.rmi`) in ticks.

    Args:
        path: the file to read.

    Returns:
        The score, with times in ticks (`score.ticks_per_quarter` per quarter note).

    Raises:
        MidiReadError: one line naming the file and the cause (missing, empty, not MIDI,
            truncated, corrupt bytes, no notes).
    """
    path = Path(path)
    data = _read_bytes(path)
    return score_from_bytes(data, name=str(path))


def score_from_bytes(data: bytes, name: str = "<bytes>") -> Score:
    """Parse the bytes of a MIDI or RMID file; `name` is used in error messages."""
    if len(data) == 0:
        raise MidiReadError(f"{name}: the file is empty (give a MIDI file with content)")
    if data[:4] == b"RIFF":
        data = _unwrap_riff(data, name)
    _check_structure(data, name)
    try:
        score = Score.from_midi(data)
    except Exception as error:  # symusic raises RuntimeError/ValueError with a parser message
        cause = str(error).replace("MiniMidi: ", "").replace(": iostream error", "").strip()
        raise MidiReadError(f"{name}: corrupt MIDI data ({cause}); the file cannot be read") from None
    if score.note_num() == 0:
        raise MidiReadError(f"{name}: the MIDI file has no notes (give a file with at least one note)")
    return score


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise MidiReadError(f"{path}: file not found (check the path)")
    if path.is_dir():
        raise MidiReadError(f"{path}: is a folder, not a MIDI file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise MidiReadError(f"{path}: cannot be read ({error.strerror})") from None


def _unwrap_riff(data: bytes, name: str) -> bytes:
    """Return the standard MIDI file inside a RIFF `RMID` file."""
    if len(data) < 12:
        raise MidiReadError(f"{name}: truncated RIFF file ({len(data)} bytes)")
    form = data[8:12]
    if form != b"RMID":
        kind = form.decode("latin-1").strip() or "unknown"
        raise MidiReadError(f"{name}: not a MIDI file (a RIFF {kind} file, e.g. audio)")
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset:offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4:offset + 8])
        body = data[offset + 8:offset + 8 + size]
        if chunk_id == b"data":
            if len(body) < size:
                raise MidiReadError(
                    f"{name}: truncated RMID file (data chunk declares {size} bytes, {len(body)} present)")
            return body
        offset += 8 + size + (size & 1)  # RIFF chunks are padded to an even length
    raise MidiReadError(f"{name}: RMID file without a MIDI data chunk")


def _check_structure(data: bytes, name: str) -> None:
    """Walk the chunk headers: a wrong magic means not MIDI, a short chunk means truncated."""
    if data[:4] != _HEADER_CHUNK:
        raise MidiReadError(f"{name}: not a MIDI file (it does not start with 'MThd')")
    if len(data) < 14:
        raise MidiReadError(f"{name}: truncated MIDI file (the header is incomplete, {len(data)} bytes)")
    (header_size,) = struct.unpack(">I", data[4:8])
    _fmt, n_tracks, _division = struct.unpack(">HHH", data[8:14])
    offset = 8 + header_size
    found = 0
    while found < n_tracks:
        if offset + 8 > len(data):
            raise MidiReadError(
                f"{name}: truncated MIDI file (the header declares {n_tracks} tracks, {found} are complete)")
        chunk_id = data[offset:offset + 4]
        (size,) = struct.unpack(">I", data[offset + 4:offset + 8])
        if not chunk_id.isascii() or not chunk_id.isalnum():
            raise MidiReadError(f"{name}: corrupt MIDI data (bad chunk name at byte {offset})")
        if offset + 8 + size > len(data):
            raise MidiReadError(
                f"{name}: truncated MIDI file (a chunk at byte {offset} declares {size} bytes, "
                f"{len(data) - offset - 8} remain)")
        found += chunk_id == _TRACK_CHUNK  # unknown chunk types are allowed and skipped
        offset += 8 + size


def is_midi_path(path: str | os.PathLike) -> bool:
    """True for file names this module reads (`.mid`, `.midi`, `.rmi`, any case)."""
    return Path(path).suffix.lower() in MIDI_SUFFIXES
