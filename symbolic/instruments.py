"""Instrument names a user types (`piano,strings,bass,drums`) <-> General MIDI programs.

The table maps a short, lower-case name to a GM program (0-127, as written in MIDI files; GM charts
number them 1-128) and a drum flag; drums are a kit on channel 10, whatever the program. Track names
for any program come from the 128 GM instrument names and their 16 families.
"""

from __future__ import annotations

from dataclasses import dataclass

from pretty_midi.constants import INSTRUMENT_CLASSES, INSTRUMENT_MAP

from symbolic.errors import SymbolicError

DRUMS_NAME = "Drums"


@dataclass(frozen=True)
class Instrument:
    """One instrument a user asked for.

    Args:
        name: the user-facing key, e.g. `"electric-guitar"`.
        program: General MIDI program, 0-127 (ignored by players for drums, kept for the file).
        is_drum: a drum kit, written on channel 10.
        display_name: a track name for the score, e.g. `"Electric Guitar"`.
    """

    name: str
    program: int
    is_drum: bool
    display_name: str

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"program must be in 0..127, got {self.program}")


def _table(*rows: tuple[str, int, bool, str]) -> dict[str, Instrument]:
    return {name: Instrument(name, program, is_drum, display) for name, program, is_drum, display in rows}


# The first name listed for a program also names unnamed tracks of that program (see `default_track_name`).
INSTRUMENTS: dict[str, Instrument] = _table(
    ("piano", 0, False, "Piano"),
    ("bright-piano", 1, False, "Bright Piano"),
    ("electric-piano", 4, False, "Electric Piano"),
    ("harpsichord", 6, False, "Harpsichord"),
    ("celesta", 8, False, "Celesta"),
    ("glockenspiel", 9, False, "Glockenspiel"),
    ("music-box", 10, False, "Music Box"),
    ("vibraphone", 11, False, "Vibraphone"),
    ("marimba", 12, False, "Marimba"),
    ("xylophone", 13, False, "Xylophone"),
    ("organ", 16, False, "Organ"),
    ("church-organ", 19, False, "Church Organ"),
    ("accordion", 21, False, "Accordion"),
    ("harmonica", 22, False, "Harmonica"),
    ("nylon-guitar", 24, False, "Nylon Guitar"),
    ("guitar", 25, False, "Guitar"),
    ("acoustic-guitar", 25, False, "Acoustic Guitar"),
    ("electric-guitar", 27, False, "Electric Guitar"),
    ("overdriven-guitar", 29, False, "Overdriven Guitar"),
    ("distortion-guitar", 30, False, "Distortion Guitar"),
    ("acoustic-bass", 32, False, "Acoustic Bass"),
    ("bass", 33, False, "Bass"),
    ("electric-bass", 33, False, "Electric Bass"),
    ("slap-bass", 36, False, "Slap Bass"),
    ("synth-bass", 38, False, "Synth Bass"),
    ("violin", 40, False, "Violin"),
    ("viola", 41, False, "Viola"),
    ("cello", 42, False, "Cello"),
    ("contrabass", 43, False, "Contrabass"),
    ("pizzicato", 45, False, "Pizzicato Strings"),
    ("harp", 46, False, "Harp"),
    ("timpani", 47, False, "Timpani"),
    ("strings", 48, False, "Strings"),
    ("slow-strings", 49, False, "Slow Strings"),
    ("choir", 52, False, "Choir"),
    ("voice", 53, False, "Voice"),
    ("orchestra-hit", 55, False, "Orchestra Hit"),
    ("trumpet", 56, False, "Trumpet"),
    ("trombone", 57, False, "Trombone"),
    ("tuba", 58, False, "Tuba"),
    ("french-horn", 60, False, "French Horn"),
    ("brass", 61, False, "Brass"),
    ("synth-brass", 62, False, "Synth Brass"),
    ("soprano-sax", 64, False, "Soprano Sax"),
    ("sax", 65, False, "Sax"),
    ("alto-sax", 65, False, "Alto Sax"),
    ("tenor-sax", 66, False, "Tenor Sax"),
    ("baritone-sax", 67, False, "Baritone Sax"),
    ("oboe", 68, False, "Oboe"),
    ("english-horn", 69, False, "English Horn"),
    ("bassoon", 70, False, "Bassoon"),
    ("clarinet", 71, False, "Clarinet"),
    ("piccolo", 72, False, "Piccolo"),
    ("flute", 73, False, "Flute"),
    ("recorder", 74, False, "Recorder"),
    ("pan-flute", 75, False, "Pan Flute"),
    ("synth-lead", 81, False, "Synth Lead"),
    ("square-lead", 80, False, "Square Lead"),
    ("pad", 89, False, "Pad"),
    ("new-age-pad", 88, False, "New Age Pad"),
    ("sitar", 104, False, "Sitar"),
    ("banjo", 105, False, "Banjo"),
    ("koto", 107, False, "Koto"),
    ("steel-drums", 114, False, "Steel Drums"),
    ("drums", 0, True, DRUMS_NAME),
)

# Names users often type for the same thing.
ALIASES: dict[str, str] = {
    "keys": "electric-piano",
    "epiano": "electric-piano",
    "rhodes": "electric-piano",
    "string": "strings",
    "saxophone": "sax",
    "vibes": "vibraphone",
    "lead": "synth-lead",
    "synth": "synth-lead",
    "synth-pad": "pad",
    "drum": "drums",
    "drumkit": "drums",
    "percussion": "drums",
    "horn": "french-horn",
    "voices": "choir",
}


def _normalise(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def get_instrument(name: str) -> Instrument:
    """Look up one instrument by name (case, spaces and underscores do not matter).

    A bare number 0-127 is accepted as a General MIDI program, named after that program.

    Raises:
        SymbolicError: unknown name; the message lists the known names.
    """
    raw = name.strip()
    key = _normalise(raw)
    key = ALIASES.get(key, key)
    if key in INSTRUMENTS:
        return INSTRUMENTS[key]
    if raw.isdigit() and 0 <= int(raw) <= 127:
        program = int(raw)
        return Instrument(f"program-{program}", program, False, default_track_name(program, False))
    raise SymbolicError(
        f"unknown instrument {name.strip()!r}; known names: {', '.join(INSTRUMENTS)} "
        "(or a General MIDI program number 0-127)")


def parse_instruments(spec: str) -> list[Instrument]:
    """Parse a comma-separated list such as `"piano,strings,bass,drums"`.

    Returns:
        One `Instrument` per name, in the order given (a name may repeat: two pianos are two tracks).

    Raises:
        SymbolicError: an empty list or an unknown name.
    """
    names = [part for part in spec.split(",") if part.strip()]
    if not names:
        raise SymbolicError(f"no instruments in {spec!r}; give a comma-separated list such as piano,bass,drums")
    return [get_instrument(name) for name in names]


def gm_program_name(program: int, is_drum: bool = False) -> str:
    """The General MIDI name of a program, e.g. 33 -> "Electric Bass (finger)"; drums -> "Drums"."""
    _check_program(program)
    return DRUMS_NAME if is_drum else INSTRUMENT_MAP[program]


def gm_family_name(program: int, is_drum: bool = False) -> str:
    """The General MIDI family of a program (one of 16, e.g. 33 -> "Bass"); drums -> "Drums"."""
    _check_program(program)
    return DRUMS_NAME if is_drum else INSTRUMENT_CLASSES[program // 8]


def default_track_name(program: int, is_drum: bool = False) -> str:
    """A track name for a track that has none: our short display name when the program is in the
    table (0 -> "Piano", 48 -> "Strings"), else the GM program name (1 -> "Bright Acoustic Piano")."""
    _check_program(program)
    if is_drum:
        return DRUMS_NAME
    return _DISPLAY_BY_PROGRAM.get(program) or INSTRUMENT_MAP[program]


def _check_program(program: int) -> None:
    if not 0 <= program <= 127:
        raise SymbolicError(f"General MIDI program must be in 0..127, got {program}")


def _display_by_program() -> dict[int, str]:
    names: dict[int, str] = {}
    for instrument in INSTRUMENTS.values():
        if not instrument.is_drum:
            names.setdefault(instrument.program, instrument.display_name)
    return names


_DISPLAY_BY_PROGRAM = _display_by_program()
