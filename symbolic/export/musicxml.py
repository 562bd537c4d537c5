"""MusicXML export through music21, for notation programs (MuseScore, Sibelius, Dorico, Finale).

The score goes through our own MIDI encoding (named tracks, channel 10 drums, key and metre) and
music21's MIDI reader, quantised on a grid of `quarter_divisors` (sixteenth notes by default):
unquantised performance timing would otherwise come out as nested tuplets nobody can read. Drums
become a percussion part: percussion clef, one staff position and notehead per drum sound as in
common drum notation (kick F4, snare C5, hi-hat G5 with x heads, ...). Each part gets the General
MIDI instrument of its track, not the one music21 guesses from the track name ("Bass" would become
a singer). music21 signs every file "composer: Music21"; that line is left out.

music21 is imported inside the functions: it takes about a second to import.
"""

from __future__ import annotations

import io
import logging
import os
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from symusic import Score

from symbolic.chords import chord_root_quality, parse_chord_symbol
from symbolic.errors import SymbolicError
from symbolic.export.midi import NO_CHORD_LABELS, Chords, midi_bytes, prepare_score
from symbolic.files import atomic_output
from symbolic.midi_io import read_score

if TYPE_CHECKING:
    import music21

log = logging.getLogger(__name__)

# GM drum pitch -> (display step, octave, notehead) on a five-line percussion staff.
_KICK, _SNARE, _HAT, _CRASH, _RIDE = ("F", 4, "normal"), ("C", 5, "normal"), ("G", 5, "x"), ("A", 5, "x"), ("F", 5, "x")
DRUM_NOTATION: dict[int, tuple[str, int, str]] = {
    35: _KICK, 36: _KICK, 37: ("C", 5, "x"), 38: _SNARE, 39: ("C", 5, "x"), 40: _SNARE,
    41: ("G", 4, "normal"), 43: ("A", 4, "normal"), 45: ("B", 4, "normal"), 47: ("D", 5, "normal"),
    48: ("E", 5, "normal"), 50: ("E", 5, "normal"), 42: _HAT, 44: ("D", 4, "x"), 46: ("G", 5, "circle-x"),
    49: _CRASH, 57: _CRASH, 52: ("B", 5, "x"), 55: ("B", 5, "x"), 51: _RIDE, 59: _RIDE, 53: ("F", 5, "diamond"),
}
_OTHER_DRUM = ("E", 4, "triangle")
# Our chord qualities (symbolic.chords.QUALITIES) as MusicXML <kind> values.
_MUSICXML_KINDS = {
    "maj": "major", "min": "minor", "dim": "diminished", "aug": "augmented", "sus2": "suspended-second",
    "sus4": "suspended-fourth", "7": "dominant-seventh", "maj7": "major-seventh", "min7": "minor-seventh",
    "dim7": "diminished-seventh", "hdim7": "half-diminished-seventh", "6": "major-sixth", "min6": "minor-sixth",
    "minmaj7": "minor-major-seventh", "7sus4": "suspended-fourth-seventh",
}
_ROOT = re.compile(r"^([A-Ga-g])(#|b|♯|♭)?(.*)$")
_M21_ACCIDENTAL = {"#": "#", "♯": "#", "b": "-", "♭": "-"}
_DEFAULT_CREATOR = b'<creator type="composer">Music21</creator>'
_MXL_CONTAINER = (b'<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles>'
                  b'<rootfile full-path="score.musicxml" media-type="application/vnd.recordare.musicxml+xml"/>'
                  b'</rootfiles></container>\n')


def musicxml_stream(
    score: Score,
    *,
    title: str | None = None,
    chords: Chords | None = None,
    quarter_divisors: tuple[int, ...] = (4,),
) -> music21.stream.Score:
    """Convert a score to a music21 Score, one part per track, ready to be written as MusicXML.

    Args:
        score: the music (ticks or any symusic time unit).
        title: the work title shown above the score.
        chords: (tick, label) chord symbols written above the first melodic part; None uses the
            score's markers (as `write_midi` writes chords). Labels not understood (and "N") are skipped.
        quarter_divisors: quantisation grid, in divisions of a quarter note: (4,) snaps to
            sixteenths, (4, 3) also allows eighth-note triplets.

    Returns:
        A `music21.stream.Score` with parts named after the tracks.
    """
    from music21 import metadata
    from music21.midi import MidiFile
    from music21.midi.translate import midiFileToStream

    if not quarter_divisors or any(d < 1 for d in quarter_divisors):
        raise SymbolicError(f"quarter_divisors must be positive integers, got {quarter_divisors}")
    score = prepare_score(score)
    for track in score.tracks:
        if track.is_drum:
            _drums_legato(track, score.ticks_per_quarter)
    tracks = {track.name: track for track in score.tracks}
    if chords is None:
        chords = [(marker.time, marker.text) for marker in score.markers]
    midi_file = MidiFile()
    midi_file.readstr(midi_bytes(score))
    stream = midiFileToStream(midi_file, quantizePost=True, quarterLengthDivisors=tuple(quarter_divisors))
    for part in stream.parts:
        track = tracks.get(part.partName or "")
        if track is None:  # music21 names parts after the MIDI track names, which prepare_score made unique
            log.warning("music21 produced a part %r that matches no track", part.partName)
            continue
        _set_instrument(part, track.name, track.program, track.is_drum)
    if chords:
        _add_chord_symbols(stream, chords, score.ticks_per_quarter)
    stream.metadata = metadata.Metadata()
    stream.metadata.title = title or ""
    stream.metadata.movementName = title or ""
    return stream


def write_musicxml(
    score_or_midi_path: Score | str | os.PathLike,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    chords: Chords | None = None,
    quarter_divisors: tuple[int, ...] = (4,),
) -> Path:
    """Write MusicXML for notation programs; `.mxl` paths get the compressed form.

    Args:
        score_or_midi_path: a symusic Score or the path of a MIDI file.
        path: the `.musicxml`, `.xml` or `.mxl` file to write (atomically).
        title, chords, quarter_divisors: see `musicxml_stream`.

    Returns:
        The path written.

    Raises:
        SymbolicError: an unreadable MIDI file, an empty score, or a path that cannot be written.
    """
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    score = score_or_midi_path if isinstance(score_or_midi_path, Score) else read_score(score_or_midi_path)
    stream = musicxml_stream(score, title=title, chords=chords, quarter_divisors=quarter_divisors)
    try:
        data = GeneralObjectExporter(stream).parse()
    except Exception as error:  # music21 raises many exception types on odd input
        raise SymbolicError(f"music21 could not convert the score to MusicXML: {error}") from error
    data = data.replace(_DEFAULT_CREATOR, b"")
    if Path(path).suffix.lower() == ".mxl":
        data = _compressed(data)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    log.info("wrote %s (%d parts)", path, len(stream.parts))
    return Path(path)


def _set_instrument(part: music21.stream.Part, name: str, program: int, is_drum: bool) -> None:
    """Replace whatever instruments music21 guessed with the track's own, named after the track."""
    from music21 import instrument

    for old in list(part.recurse().getElementsByClass(instrument.Instrument)):
        old.activeSite.remove(old)
    if is_drum:
        new = instrument.UnpitchedPercussion()
        new.midiChannel = 9
        _notate_drums(part)
    else:
        new = instrument.instrumentFromMidiProgram(program)
    new.partName = name
    new.instrumentName = name
    part.partName = name
    first_measure = part.getElementsByClass("Measure").first()
    (first_measure or part).insert(0, new)


def _add_chord_symbols(stream: music21.stream.Score, chords: Chords, ticks_per_quarter: int) -> None:
    """Put chord symbols into the measures of the first melodic part, where notation programs show them."""
    from music21 import instrument

    parts = [p for p in stream.parts if not isinstance(p.getInstrument(), instrument.UnpitchedPercussion)]
    if not parts:
        return
    measures = list(parts[0].getElementsByClass("Measure"))
    skipped = []
    for tick, label in chords:
        if label.strip() in NO_CHORD_LABELS:
            continue
        symbol = chord_symbol(label)
        if symbol is None:
            skipped.append(label)
            continue
        offset = tick / ticks_per_quarter
        measure = next((m for m in reversed(measures) if m.offset <= offset), None)
        if measure is not None:
            measure.insert(offset - measure.offset, symbol)
    if skipped:
        log.info("%d chord label(s) not understood (%s); left out of the MusicXML",
                 len(skipped), ", ".join(sorted(set(skipped))[:5]))


def chord_symbol(label: str) -> music21.harmony.ChordSymbol | None:
    """A music21 chord symbol for a label such as "Ebmaj7", "G/B", "F#m7b5", "CmMaj7" or "A:min7".

    music21 reads lead-sheet figures itself but spells flats "-" ("E-maj7") and lacks some of our
    suffixes, so the root and bass are respelled for it; what it still cannot read is built from
    our chord vocabulary (`symbolic.chords`), which also knows POP909 labels.

    Returns:
        The symbol, or None for no chord and for labels neither reader knows.
    """
    from music21 import harmony

    label = label.strip()
    if not label or label in NO_CHORD_LABELS:
        return None
    match = _ROOT.match(label)
    if match is None:
        return None
    root = match.group(1).upper() + _M21_ACCIDENTAL.get(match.group(2) or "", "")
    rest, _, bass = match.group(3).partition("/")
    bass_match = _ROOT.match(bass) if bass else None
    m21_bass = None
    if bass_match and not bass_match.group(3):
        m21_bass = bass_match.group(1).upper() + _M21_ACCIDENTAL.get(bass_match.group(2) or "", "")
    elif bass:  # a "/" inside the suffix, as in "C6/9"
        rest = match.group(3)
    if ":" not in label:
        try:
            return harmony.ChordSymbol(root + rest + (f"/{m21_bass}" if m21_bass else ""))
        except Exception:  # music21 raises several exception types for figures it does not know
            pass
    try:
        root_quality = chord_root_quality(parse_chord_symbol(label))
    except SymbolicError:
        return None
    if root_quality is None:
        return None
    symbol = harmony.ChordSymbol(root=root, kind=_MUSICXML_KINDS[root_quality[1]])
    if m21_bass and ":" not in label:
        symbol.bass(m21_bass)
    return symbol


def _notate_drums(part: music21.stream.Part) -> None:
    """Percussion clef, and each drum sound on its own staff position (music21 puts them all on B4)."""
    from music21 import clef, note

    for old in list(part.recurse().getElementsByClass(clef.Clef)):
        old.activeSite.remove(old)
    first_measure = part.getElementsByClass("Measure").first()
    (first_measure or part).insert(0, clef.PercussionClef())
    for element in part.recurse().notes:
        for hit in element.notes if hasattr(element, "notes") else [element]:
            if not isinstance(hit, note.Unpitched):
                continue
            stored = hit.storedInstrument
            pitch = getattr(stored, "percMapPitch", None) if stored is not None else None
            step, octave, head = DRUM_NOTATION.get(pitch, _OTHER_DRUM)
            hit.displayStep, hit.displayOctave, hit.notehead = step, octave, head


def _drums_legato(track, ticks_per_quarter: int) -> None:
    """Let each drum hit last until the next one (at most a beat): drummers read "eighth, eighth",
    not "sixteenth, sixteenth rest". The sound is the same; only the notation changes."""
    notes = track.notes.numpy()
    if len(notes["time"]) == 0:
        return
    onsets = np.unique(notes["time"])
    following = np.searchsorted(onsets, notes["time"], side="right")
    next_onset = np.append(onsets, onsets[-1] + ticks_per_quarter)[following]
    duration = np.minimum(next_onset - notes["time"], ticks_per_quarter).astype(np.int32)
    track.notes = type(track.notes).from_numpy(notes["time"], duration, notes["pitch"], notes["velocity"])


def _compressed(xml: bytes) -> bytes:
    """The `.mxl` form: a zip with a container file that points at the score."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.recordare.musicxml", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", _MXL_CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("score.musicxml", xml, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
