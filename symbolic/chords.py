"""One chord vocabulary shared by user chord strings, POP909 annotations and chord recognition.

A chord id is an int: `NO_CHORD` (0) or `1 + root * len(QUALITIES) + quality_index`, with the root a
pitch class (C=0 ... B=11). Slash chords map to their root chord (G/B -> G); bass notes are not part
of the vocabulary. Extended chords fold onto the seventh chord they contain (C9 -> C7, Cmaj9 -> Cmaj7,
Cm11 -> Cm7), add-chords onto their triad (Cadd9 -> C).

Qualities (`QUALITIES`, 15, so `N_CHORDS` = 181), with intervals above the root and the suffix that
`chord_name` writes:

    maj  (0 4 7)     ""        min   (0 3 7)     "m"      dim   (0 3 6)    "dim"   aug (0 4 8) "aug"
    sus2 (0 2 7)     "sus2"    sus4  (0 5 7)     "sus4"   7     (0 4 7 10) "7"
    maj7 (0 4 7 11)  "maj7"    min7  (0 3 7 10)  "m7"     dim7  (0 3 6 9)  "dim7"
    hdim7 (0 3 6 10) "m7b5"    6     (0 4 7 9)   "6"      min6  (0 3 7 9)  "m6"
    minmaj7 (0 3 7 11) "mMaj7" 7sus4 (0 5 7 10)  "7sus4"

These cover every quality in POP909's annotations (sus4(b7) is 7sus4, maj6 is 6).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from symbolic.errors import SymbolicError

QUALITIES: tuple[str, ...] = (
    "maj", "min", "dim", "aug", "sus2", "sus4",
    "7", "maj7", "min7", "dim7", "hdim7", "6", "min6", "minmaj7", "7sus4",
)
INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10), "dim7": (0, 3, 6, 9), "hdim7": (0, 3, 6, 10), "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9), "minmaj7": (0, 3, 7, 11), "7sus4": (0, 5, 7, 10),
}
SUFFIXES: dict[str, str] = {
    "maj": "", "min": "m", "dim": "dim", "aug": "aug", "sus2": "sus2", "sus4": "sus4", "7": "7",
    "maj7": "maj7", "min7": "m7", "dim7": "dim7", "hdim7": "m7b5", "6": "6", "min6": "m6",
    "minmaj7": "mMaj7", "7sus4": "7sus4",
}
# The triad each quality reduces to (for "triad-level" comparisons).
TRIAD_OF: dict[str, str] = {
    "maj": "maj", "min": "min", "dim": "dim", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
    "7": "maj", "maj7": "maj", "min7": "min", "dim7": "dim", "hdim7": "dim", "6": "maj",
    "min6": "min", "minmaj7": "min", "7sus4": "sus4",
}
NO_CHORD: int = 0
N_CHORDS: int = 1 + 12 * len(QUALITIES)
PITCH_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"#": 1, "♯": 1, "b": -1, "♭": -1}

# User chord-symbol suffixes (after the root, before any "/bass") -> quality. Matched exactly, after
# removing spaces and brackets around the whole suffix; case matters ("M7" is maj7, "m7" is min7).
_SYMBOL_SUFFIXES: dict[str, str] = {}
for _quality, _forms in {
    "maj": ["", "maj", "M", "major", "Maj", "add9", "add2", "add11", "5", "(add9)"],
    "min": ["m", "min", "-", "minor", "mi", "madd9", "m(add9)", "minadd9"],
    "dim": ["dim", "o", "°", "mb5", "m(b5)"],
    "aug": ["aug", "+", "#5", "(#5)", "+5"],
    "sus2": ["sus2"],
    "sus4": ["sus4", "sus"],
    "7": ["7", "dom7", "9", "13", "7b9", "7#9", "7#11", "7b13", "9#11", "13b9", "7alt", "7+", "7#5",
          "aug7", "+7", "7b5"],
    "maj7": ["maj7", "M7", "Δ", "Δ7", "ma7", "Maj7", "maj9", "M9", "Δ9", "maj11", "maj13", "M13", "maj7#11"],
    "min7": ["m7", "min7", "-7", "mi7", "m9", "min9", "-9", "m11", "min11", "m13", "min13", "m7add11"],
    "dim7": ["dim7", "o7", "°7"],
    "hdim7": ["m7b5", "m7(b5)", "min7b5", "-7b5", "ø", "ø7", "hdim7", "hdim"],
    "6": ["6", "maj6", "M6", "6/9", "69", "add6"],
    "min6": ["m6", "min6", "-6", "m69", "m6/9"],
    "minmaj7": ["mMaj7", "mM7", "minmaj7", "m(maj7)", "-Δ7", "mmaj7", "-maj7", "m(M7)"],
    "7sus4": ["7sus4", "7sus", "sus7", "9sus4", "9sus", "11"],
}.items():
    for _form in _forms:
        _SYMBOL_SUFFIXES.setdefault(_form, _quality)

# POP909 / Harte qualities -> ours (before "/bass"). Unknown ones fall back by `_nearest_triad`.
_POP909_QUALITIES: dict[str, str] = {
    "maj": "maj", "min": "min", "dim": "dim", "aug": "aug", "sus2": "sus2", "sus4": "sus4",
    "7": "7", "maj7": "maj7", "min7": "min7", "dim7": "dim7", "hdim7": "hdim7", "maj6": "6", "6": "6",
    "min6": "min6", "minmaj7": "minmaj7", "sus4(b7)": "7sus4", "7sus4": "7sus4", "9": "7", "maj9": "maj7",
    "min9": "min7", "11": "7sus4", "min11": "min7", "13": "7", "maj13": "maj7", "min13": "min7", "5": "maj",
    "1": "maj", "sus4(b7,9)": "7sus4", "sus2(b7)": "7", "aug(b7)": "7", "hdim": "hdim7",
}

ACCEPTED_FORMS = (
    "accepted: a root A-G with optional #/b, then '' (major), m, dim, aug, sus2, sus4, 7, maj7, m7, "
    "dim7, m7b5 (or ø), 6, m6, mMaj7, 7sus4, 9/11/13 variants, an optional /bass (G/B), "
    "a POP909 label (C:maj, A:min7), or N/NC for no chord"
)


def chord_id(root: int, quality: str) -> int:
    """Id of the chord with root pitch class `root` (any int, taken mod 12) and a quality from QUALITIES."""
    if quality not in INTERVALS:
        raise SymbolicError(f"unknown chord quality {quality!r}; use one of {', '.join(QUALITIES)}")
    return 1 + (int(root) % 12) * len(QUALITIES) + QUALITIES.index(quality)


def _check_id(cid: int) -> int:
    cid = int(cid)
    if not 0 <= cid < N_CHORDS:
        raise SymbolicError(f"chord id {cid} is outside the vocabulary 0..{N_CHORDS - 1}")
    return cid


def chord_root_quality(cid: int) -> tuple[int, str] | None:
    """(root pitch class, quality) of a chord id, or None for NO_CHORD."""
    cid = _check_id(cid)
    if cid == NO_CHORD:
        return None
    root, index = divmod(cid - 1, len(QUALITIES))
    return root, QUALITIES[index]


def chord_name(cid: int) -> str:
    """Lead-sheet name: "C", "Am7", "F#maj7", "Bbm7b5"; "N" for no chord."""
    rq = chord_root_quality(cid)
    if rq is None:
        return "N"
    return PITCH_NAMES[rq[0]] + SUFFIXES[rq[1]]


def chord_pitch_classes(cid: int) -> tuple[int, ...]:
    """Pitch classes of the chord, root first (empty for NO_CHORD)."""
    rq = chord_root_quality(cid)
    if rq is None:
        return ()
    return tuple((rq[0] + i) % 12 for i in INTERVALS[rq[1]])


def reduce_to_triad(cid: int) -> int:
    """The triad a chord contains (Am7 -> Am, G7 -> G, Bm7b5 -> Bdim); NO_CHORD stays NO_CHORD."""
    rq = chord_root_quality(cid)
    return NO_CHORD if rq is None else chord_id(rq[0], TRIAD_OF[rq[1]])


def chord_root(cid: int) -> int:
    """Root pitch class of a chord id, or -1 for NO_CHORD."""
    rq = chord_root_quality(cid)
    return -1 if rq is None else rq[0]


def _parse_root(text: str) -> tuple[int, str] | None:
    """Split 'F#m7' into (6, 'm7'); None when `text` does not start with a note name."""
    if not text or text[0].upper() not in _LETTERS:
        return None
    pc, rest = _LETTERS[text[0].upper()], text[1:]
    while rest and rest[0] in _ACCIDENTALS:
        # "Bb" is B flat, but "Cb5"-style ambiguity does not arise: suffixes never start with 'b'.
        pc += _ACCIDENTALS[rest[0]]
        rest = rest[1:]
    return pc % 12, rest


def parse_note_name(text: str) -> int:
    """Pitch class of a note name ("C", "F#", "Bb", "eb"); SymbolicError otherwise."""
    parsed = _parse_root(text.strip())
    if parsed is None or parsed[1]:
        raise SymbolicError(f"unknown note name {text!r}; use A-G with an optional # or b (e.g. F#, Bb)")
    return parsed[0]


def parse_chord_symbol(text: str) -> int:
    """Chord id of a user chord symbol: "C", "G/B" (-> G), "Am7", "Fmaj7", "Bb7", "F#m7b5", "Bø", "N".

    POP909 labels ("C:maj") are accepted too. Raises SymbolicError for anything else.
    """
    symbol = text.strip()
    if symbol.upper() in ("N", "NC", "N.C.", "N.C"):
        return NO_CHORD
    if ":" in symbol:
        return parse_pop909_label(symbol)
    parsed = _parse_root(symbol)
    if parsed is not None:
        root, rest = parsed
        # A trailing "/X" is a bass note (slash chord) unless it is part of the suffix ("6/9").
        if rest not in _SYMBOL_SUFFIXES and "/" in rest:
            rest, bass = rest.rsplit("/", 1)
            if _parse_root(bass) is None or _parse_root(bass)[1]:
                raise SymbolicError(f"unknown chord symbol {text!r}: bass {bass!r} is not a note name; "
                                    + ACCEPTED_FORMS)
        suffix = rest.replace(" ", "")
        for form in (suffix, suffix.replace("(", "").replace(")", "")):  # "7(b9)" reads as "7b9"
            if form in _SYMBOL_SUFFIXES:
                return chord_id(root, _SYMBOL_SUFFIXES[form])
    raise SymbolicError(f"unknown chord symbol {text!r}; " + ACCEPTED_FORMS)


def parse_chord_progression(text: str) -> list[list[int]]:
    """Parse a user chord string into bars of chord ids.

    "|" separates bars and the chords inside one bar share it evenly; without any "|", each chord is
    one bar. "C G/B Am7 Fmaj7 | Dm7 G7 C" -> 2 bars; "Am F C G" -> 4 bars. Commas count as spaces;
    leading/trailing bar lines are ignored. "%" repeats the previous bar.

    Returns:
        one list of chord ids per bar.
    """
    body = text.replace(",", " ").strip().strip("|").strip()
    if not body:
        raise SymbolicError("the chord progression is empty; give chords such as 'C G Am F' or 'C G | Am F'")
    if "|" in body:
        groups = [group.split() for group in body.split("|")]
    else:
        groups = [[symbol] for symbol in body.split()]
    bars: list[list[int]] = []
    for index, group in enumerate(groups):
        if not group:
            raise SymbolicError(f"bar {index + 1} of the chord progression {text!r} is empty; "
                                "put a chord (or N for no chord) in every bar")
        if group == ["%"]:
            if not bars:
                raise SymbolicError(f"'%' repeats the previous bar but starts the progression {text!r}")
            bars.append(list(bars[-1]))
            continue
        bars.append([parse_chord_symbol(symbol) for symbol in group])
    return bars


def _nearest_triad(quality: str) -> str:
    """Fallback for a quality we do not know: the triad its name points to."""
    if quality.startswith(("hdim", "dim")):
        return "dim"
    if quality.startswith("min"):
        return "min"
    if quality.startswith("aug"):
        return "aug"
    if quality.startswith("sus2"):
        return "sus2"
    if quality.startswith("sus"):
        return "sus4"
    return "maj"


def parse_pop909_label(text: str) -> int:
    """Chord id of a POP909 / Harte label: "C:maj", "A:min7", "G:7/5" (-> G7), "Db:maj6", "N".

    Inversions ("/5", "/b3") map to the root chord. Known qualities map as in `_POP909_QUALITIES`
    (maj6 -> 6, sus4(b7) -> 7sus4, 9 -> 7, min9 -> min7, ...); an unknown quality maps to the triad its
    name begins with (min.. -> min, dim.. -> dim, aug.. -> aug, sus.. -> sus4, anything else -> maj).
    A root without quality ("C") is major.
    """
    label = text.strip()
    if label.upper() in ("N", "X", "NC"):
        return NO_CHORD
    root_text, _, quality = label.partition(":")
    parsed = _parse_root(root_text)
    if parsed is None or parsed[1]:
        raise SymbolicError(f"unknown chord label {text!r}: {root_text!r} is not a root note; "
                            "POP909 labels look like C:maj, A:min7, G:7/5 or N")
    quality = quality.split("/", 1)[0].strip() or "maj"
    return chord_id(parsed[0], _POP909_QUALITIES.get(quality, _nearest_triad(quality)))


def read_pop909_chords(path: str | os.PathLike) -> list[tuple[float, float, int]]:
    """Read a POP909 chord file (lines "start<TAB>end<TAB>label", seconds).

    Returns:
        (start_s, end_s, chord id) per line, sorted by start.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SymbolicError(f"cannot read chord file {path}: {error}") from None
    segments = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            start, end = float(fields[0]), float(fields[1])
            cid = parse_pop909_label(fields[2])
        except (IndexError, ValueError) as error:
            raise SymbolicError(f"{path}, line {number}: expected 'start end label', got {line.strip()!r} "
                                f"({error})") from None
        if end < start:
            raise SymbolicError(f"{path}, line {number}: chord ends ({end}) before it starts ({start})")
        segments.append((start, end, cid))
    return sorted(segments)


def chords_at_times(segments: list[tuple[float, float, int]], times_s: np.ndarray) -> np.ndarray:
    """Chord sounding at each time: the segment with start <= t < end, NO_CHORD outside all segments.

    Args:
        segments: (start_s, end_s, chord id), sorted by start (as `read_pop909_chords` returns).
        times_s: [T] times in seconds.

    Returns:
        [T] int64 chord ids.
    """
    times = np.asarray(times_s, dtype=np.float64)
    out = np.full(times.shape, NO_CHORD, dtype=np.int64)
    if not segments:
        return out
    starts = np.array([s[0] for s in segments])
    ends = np.array([s[1] for s in segments])
    ids = np.array([s[2] for s in segments], dtype=np.int64)
    index = np.searchsorted(starts, times, side="right") - 1
    valid = index >= 0
    valid[valid] &= times[valid] < ends[index[valid]]
    out[valid] = ids[index[valid]]
    return out


# ---------------------------------------------------------------------------------------------------
# Recognition by template matching

# Small preferences between qualities that explain a profile almost equally well: plain triads first,
# then sevenths; rarer colours (sus, aug, dim, 6) must fit clearly better to be chosen. Scale chosen
# on POP909 songs 001-060 (per-beat agreement with the annotations 77%; 74% on songs 061-200).
QUALITY_PRIOR: dict[str, float] = {
    "maj": 0.0, "min": 0.0, "dim": -0.08, "aug": -0.12, "sus2": -0.08, "sus4": -0.06,
    "7": -0.04, "maj7": -0.04, "min7": -0.04, "dim7": -0.12, "hdim7": -0.08, "6": -0.10,
    "min6": -0.12, "minmaj7": -0.16, "7sus4": -0.10,
}
MIN_SCORE = 0.62  # below this cosine fit (a lone note: 0.58, all twelve pitch classes: <= 0.58) -> N
BASS_BONUS = 0.08  # added when the lowest note is the chord's root


def chord_templates() -> np.ndarray:
    """Unit-norm pitch-class templates.

    Returns:
        [N_CHORDS, 12] float64; row NO_CHORD is zero.
    """
    templates = np.zeros((N_CHORDS, 12))
    for cid in range(1, N_CHORDS):
        templates[cid, list(chord_pitch_classes(cid))] = 1.0
    norms = np.linalg.norm(templates, axis=1, keepdims=True)
    return np.divide(templates, norms, out=templates, where=norms > 0)


def _chord_tables() -> tuple[np.ndarray, np.ndarray]:
    roots = np.array([-1] + [chord_root(c) for c in range(1, N_CHORDS)])
    prior = np.array([0.0] + [QUALITY_PRIOR[QUALITIES[(c - 1) % len(QUALITIES)]] for c in range(1, N_CHORDS)])
    return roots, prior


def chord_scores(profiles: np.ndarray, bass: np.ndarray | None = None, *, min_score: float = MIN_SCORE,
                 bass_bonus: float = BASS_BONUS) -> np.ndarray:
    """Fit of every chord to pitch-class profiles (higher is better).

    A chord's score is the cosine between the profile and its template, plus `QUALITY_PRIOR`, plus
    `bass_bonus` when the bass pitch class is its root. NO_CHORD scores `min_score`, so it wins when no
    chord fits well (a lone note, a chromatic cluster, silence).

    Args:
        profiles: [..., 12] non-negative weights (e.g. seconds or beats each pitch class sounds).
        bass: [...] pitch class of the lowest note, -1 where unknown; None for no bass information.

    Returns:
        [..., N_CHORDS] scores.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    if profiles.shape[-1] != 12 or np.any(profiles < 0):
        raise SymbolicError(f"a pitch-class profile needs 12 non-negative values, got shape {profiles.shape}")
    norms = np.linalg.norm(profiles, axis=-1, keepdims=True)
    unit = np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)
    roots, prior = _chord_tables()
    scores = unit @ chord_templates().T + prior
    if bass is not None:
        bass = np.asarray(bass)
        scores = scores + bass_bonus * (bass[..., None] == roots)
    scores[..., NO_CHORD] = min_score
    return scores


def recognise_chord(profile: np.ndarray, bass: int | None = None, *, min_score: float = MIN_SCORE) -> int:
    """The chord that best explains a duration-weighted pitch-class profile.

    Template matching (see `chord_scores`): works on any voicing or inversion, since only pitch classes
    count; the bass note, when given, breaks ties towards the chord it is the root of (C E G A over C
    is C6, over A it is Am7).

    Args:
        profile: [12] non-negative weights per pitch class (C first).
        bass: pitch class of the lowest note, or None.

    Returns:
        a chord id; NO_CHORD when the profile is empty, too flat or too thin to name a chord.
    """
    profile = np.asarray(profile, dtype=np.float64)
    if profile.shape != (12,):
        raise SymbolicError(f"a pitch-class profile has 12 values, got shape {profile.shape}")
    scores = chord_scores(profile, None if bass is None else np.array(int(bass) % 12), min_score=min_score)
    return int(np.argmax(scores))
