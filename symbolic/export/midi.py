"""Standard MIDI File export that DAWs, pretty_midi, mido, symusic and music21 all read the same way.

symusic writes the notes, controllers and pitch bends fast, but it numbers channels by track index
and puts the tempo map in the first instrument's track. The file is therefore rebuilt with mido:

    track 0  conductor: sequence name (title), time signatures, key signatures, tempos,
             chord symbols as marker events (shown by DAWs) and text events (read by pretty_midi)
    track 1+ one per instrument: track name, program change, notes, controllers, pitch bends;
             drums on channel 10 (index 9), melodic tracks on their own channel, never channel 10
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import mido
from symusic import Score

from symbolic.errors import SymbolicError
from symbolic.files import atomic_output
from symbolic.instruments import default_track_name

log = logging.getLogger(__name__)

DRUM_CHANNEL = 9  # channel 10 as musicians count
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)
NO_CHORD_LABELS = {"N", "N.C.", "NC"}
_GLOBAL_META = {"set_tempo", "time_signature", "key_signature", "marker", "cue_marker", "end_of_track"}

# Circle-of-fifths position of each natural note in a major key; a sharp adds 7, a flat removes 7.
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_MAJOR_BY_FIFTHS = dict(zip(range(-7, 8), "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split(), strict=True))
_MINOR_BY_FIFTHS = dict(zip(range(-7, 8), "Ab Eb Bb F C G D A E B F# C# G# D# A#".split(), strict=True))
_KEY_PATTERN = re.compile(
    r"^\s*([A-Ga-g])\s*(#|b|♯|♭|sharp|flat)?\s*[:\s]?\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE)

Chords = Sequence[tuple[int, str]]


def parse_key(key: str) -> tuple[int, bool]:
    """Parse a key such as "A minor", "F# major", "Bb", "Ebm" or "C:maj".

    Returns:
        (fifths, minor): sharps (> 0) or flats (< 0) of the key signature, -7..7, and the mode.
        Keys beyond seven accidentals use their enharmonic twin (G# major -> Ab major).

    Raises:
        SymbolicError: not a key.
    """
    match = _KEY_PATTERN.match(key)
    if not match:
        raise SymbolicError(f"unknown key {key!r}; give a key such as 'A minor', 'F# major' or 'Bb'")
    letter, accidental, mode = match.groups()
    # A bare "m" means minor ("Am") but "M" means major ("AM"), as in chord symbols.
    minor = mode is not None and (mode == "m" or mode.lower() in ("min", "minor"))
    fifths = _LETTER_FIFTHS[letter.upper()]
    if accidental:
        fifths += 7 if accidental.lower() in ("#", "♯", "sharp") else -7
    if minor:
        fifths -= 3
    if fifths > 7:
        fifths -= 12
    elif fifths < -7:
        fifths += 12
    return fifths, minor


def key_name(fifths: int, minor: bool) -> str:
    """A key signature's name, e.g. (3, True) -> "F# minor"."""
    return f"{(_MINOR_BY_FIFTHS if minor else _MAJOR_BY_FIFTHS)[fifths]} {'minor' if minor else 'major'}"


def prepare_score(score: Score) -> Score:
    """A copy ready for export: in ticks, tracks without notes dropped, every track named uniquely.

    A track keeps its own name, else gets its instrument's name (`default_track_name`); a second
    track with the same name becomes "Piano 2".

    Raises:
        SymbolicError: the score has no notes.
    """
    if not isinstance(score, Score):
        raise SymbolicError(f"expected a symusic Score, got {type(score).__name__}")
    if score.note_num() == 0:
        raise SymbolicError("the score has no notes; there is nothing to export")
    score = score.to("tick") if score.ttype != "Tick" else score.copy()
    kept = [track for track in score.tracks if track.note_num() > 0]
    if len(kept) < len(score.tracks):
        log.debug("dropped %d track(s) without notes", len(score.tracks) - len(kept))
    score.tracks = kept
    used: set[str] = set()
    for track in score.tracks:
        base = " ".join(track.name.split()) or default_track_name(track.program, track.is_drum)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base} {n}"
        used.add(name)
        track.name = name
    score.sort()
    return score


def midi_bytes(
    score: Score,
    *,
    key: str | None = None,
    chords: Chords | None = None,
    title: str | None = None,
) -> bytes:
    """Encode a score as a type-1 Standard MIDI File; see `write_midi` for the arguments."""
    score = prepare_score(score)
    key_events = _key_events(score, key)
    chord_events = _chord_events(score, chords)
    tempos = [(t.time, t.mspq) for t in score.tempos] or [(0, 500_000)]  # MIDI's default, 120 BPM
    metres = [(t.time, t.numerator, t.denominator) for t in score.time_signatures] or [(0, 4, 4)]
    channels = _assign_channels(score)
    # symusic writes the instrument tracks; the global events go into our own conductor track.
    bare = score.copy()
    bare.tempos, bare.time_signatures, bare.key_signatures, bare.markers = [], [], [], []
    written = mido.MidiFile(file=io.BytesIO(bare.dumps_midi()))
    out = mido.MidiFile(type=1, ticks_per_beat=score.ticks_per_quarter)
    out.tracks.append(_conductor(title, tempos, metres, key_events, chord_events))
    for track, channel in zip(written.tracks, channels, strict=True):
        out.tracks.append(_rechannel(track, channel))
    buffer = io.BytesIO()
    out.save(file=buffer)
    return buffer.getvalue()


def write_midi(
    score: Score,
    path: str | os.PathLike,
    *,
    key: str | None = None,
    chords: Chords | None = None,
    title: str | None = None,
) -> Path:
    """Write a score as a Standard MIDI File (type 1) for DAWs and other MIDI readers.

    Args:
        score: the music; tracks without notes are left out.
        path: the `.mid` file to write (atomically: a failed export leaves nothing behind).
        key: key signature such as "A minor" or "F# major"; replaces the score's own. None keeps the
            score's key signatures.
        chords: (tick, label) chord symbols, e.g. [(0, "Am"), (1920, "F")], written as marker and
            text events; "N" (no chord) is written "N.C.". None keeps the score's own markers.
        title: the sequence name (the first track's name).

    Returns:
        The path written.

    Raises:
        SymbolicError: an empty score, a bad key or chord, or a path that cannot be written.
    """
    data = midi_bytes(score, key=key, chords=chords, title=title)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    log.info("wrote %s (%d bytes)", path, len(data))
    return Path(path)


def _key_events(score: Score, key: str | None) -> list[tuple[int, str]]:
    """(tick, mido key name) of each key signature."""
    if key is not None:
        fifths, minor = parse_key(key)
        return [(0, _mido_key(fifths, minor))]
    events = []
    for signature in score.key_signatures:
        if -7 <= signature.key <= 7:
            events.append((signature.time, _mido_key(signature.key, bool(signature.tonality))))
    return events


def _mido_key(fifths: int, minor: bool) -> str:
    return _MINOR_BY_FIFTHS[fifths] + "m" if minor else _MAJOR_BY_FIFTHS[fifths]


def _chord_events(score: Score, chords: Chords | None) -> list[tuple[int, str]]:
    if chords is None:
        return [(marker.time, marker.text) for marker in score.markers]
    events = []
    for item in chords:
        try:
            tick, label = item
            tick, label = int(tick), str(label).strip()
        except (TypeError, ValueError):
            raise SymbolicError(f"bad chord {item!r}; give (tick, label) pairs such as (0, 'Am')") from None
        if tick < 0 or not label:
            raise SymbolicError(f"bad chord {item!r}: the tick must be >= 0 and the label not empty")
        events.append((tick, "N.C." if label in NO_CHORD_LABELS else label))
    return sorted(events, key=lambda e: e[0])


def _assign_channels(score: Score) -> list[int]:
    """One channel per track: drums on 9, melodic tracks on the 15 others in order.

    Beyond 15 melodic tracks a track shares the channel of an earlier track with the same program
    (harmless), else channels are reused in turn (the program changes then clash; logged).
    """
    channels: list[int] = []
    by_program: dict[int, int] = {}
    melodic = 0
    for track in score.tracks:
        if track.is_drum:
            channels.append(DRUM_CHANNEL)
            continue
        if melodic < len(MELODIC_CHANNELS):
            channel = MELODIC_CHANNELS[melodic]
        elif track.program in by_program:
            channel = by_program[track.program]
        else:
            channel = MELODIC_CHANNELS[melodic % len(MELODIC_CHANNELS)]
            log.warning("more than 15 melodic tracks: %r shares channel %d with another program",
                        track.name, channel + 1)
        by_program.setdefault(track.program, channel)
        channels.append(channel)
        melodic += 1
    return channels


def _conductor(
    title: str | None,
    tempos: list[tuple[int, int]],
    metres: list[tuple[int, int, int]],
    keys: list[tuple[int, str]],
    chords: list[tuple[int, str]],
) -> mido.MidiTrack:
    # (tick, order, message): at equal ticks the metre and key come before the tempo and the chord.
    events: list[tuple[int, int, mido.MetaMessage]] = []
    if title:
        events.append((0, 0, mido.MetaMessage("track_name", name=_utf8(" ".join(title.split())))))
    for tick, numerator, denominator in metres:
        events.append((tick, 1, mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)))
    for tick, name in keys:
        events.append((tick, 2, mido.MetaMessage("key_signature", key=name)))
    for tick, mspq in tempos:
        events.append((tick, 3, mido.MetaMessage("set_tempo", tempo=mspq)))
    for tick, label in chords:
        events.append((tick, 4, mido.MetaMessage("marker", text=_utf8(label))))
        events.append((tick, 5, mido.MetaMessage("text", text=_utf8(label))))
    events.sort(key=lambda e: (e[0], e[1]))
    return _delta_track([(tick, message) for tick, _, message in events])


def _utf8(text: str) -> str:
    """Text for mido, which writes each character as one latin-1 byte: smuggle UTF-8 bytes through it,
    so that "Café – 夜" is stored as UTF-8, as symusic stores track names and modern DAWs expect."""
    return text.encode("utf-8").decode("latin-1")


def _rechannel(track: mido.MidiTrack, channel: int) -> mido.MidiTrack:
    """Copy an instrument track onto `channel`, without global events (they live in the conductor)."""
    absolute, tick = [], 0
    for message in track:
        tick += message.time
        if message.is_meta and message.type in _GLOBAL_META:
            continue
        if not message.is_meta and hasattr(message, "channel"):
            message = message.copy(channel=channel)
        absolute.append((tick, message))
    return _delta_track(absolute)


def _delta_track(events: list[tuple[int, mido.Message | mido.MetaMessage]]) -> mido.MidiTrack:
    track = mido.MidiTrack()
    previous = 0
    for tick, message in events:
        track.append(message.copy(time=tick - previous))
        previous = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
