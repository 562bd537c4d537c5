"""The project's tokenizer: MidiTok REMI for multi-track music, plus each token's bar and beat.

One configuration (`build_tokenizer`) is used everywhere; its `tokenizer.json` travels with shards
and weights. All tracks share one token stream; every note is written

    Program_p  Pitch_n | PitchDrum_n  Velocity_v  Duration_b.p.r

after the `Bar`, `TimeSig` and `Position` tokens that place it. Drums are program -1 with
`PitchDrum` tokens. Chords are not tokens: they are a separate conditioning stream.

The model adds to every token the condition vectors of its bar and beat, so `token_timeline`
computes them from the tokens alone (`TokenTimeline` does the same one token at a time, O(1) per
token, for generation). A beat is the time-signature denominator unit, bars and beats count from
tick 0: the grid of `symbolic.analysis.beat_grid`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from miditok import REMI, TokenizerConfig
from symusic import Score

from symbolic.errors import SymbolicError
from symbolic.files import atomic_output

# The project's one configuration. 8 positions per beat (32nd notes in 4/4, and triplet eighths
# land within 1/24 beat); durations up to 12 beats; 16 velocity bins; tempo in 2 BPM steps so that
# common tempi (60, 90, 120 ...) are exact.
TOKENIZER_PARAMS = dict(
    pitch_range=(21, 108),
    beat_res={(0, 4): 8, (4, 12): 4},
    num_velocities=16,
    special_tokens=["PAD", "BOS", "EOS", "MASK"],
    use_velocities=True,
    use_chords=False,
    use_rests=False,
    use_tempos=True,
    use_time_signatures=True,
    use_key_signatures=False,
    use_sustain_pedals=False,
    use_pitch_bends=False,
    use_programs=True,
    one_token_stream_for_programs=True,
    program_changes=False,
    use_pitchdrum_tokens=True,
    num_tempos=106,
    tempo_range=(40, 250),
    log_tempos=False,
    delete_equal_successive_tempo_changes=True,
    delete_equal_successive_time_sig_changes=True,
    # Every metre pop, rock, folk and film music commonly uses; others are dropped by MidiTok,
    # which would shift the bars, so keep this broad.
    time_signature_range={8: [3, 5, 6, 7, 9, 12], 4: [1, 2, 3, 4, 5, 6, 7], 2: [1, 2, 3, 4]},
)

# Token types of the vocabulary, in a fixed order (codes for grammar masks).
TOKEN_TYPES = ("PAD", "BOS", "EOS", "MASK", "Bar", "TimeSig", "Tempo", "Position",
               "Program", "Pitch", "PitchDrum", "Velocity", "Duration")
_BAR, _TIME_SIG, _POSITION = (TOKEN_TYPES.index(kind) for kind in ("Bar", "TimeSig", "Position"))


def build_tokenizer() -> REMI:
    """The project's REMI tokenizer (see `TOKENIZER_PARAMS`)."""
    return REMI(TokenizerConfig(**TOKENIZER_PARAMS))


def save_tokenizer(tok: REMI, path: str | os.PathLike) -> Path:
    """Write the tokenizer as JSON (`tokenizer.json`), atomically. Returns the path written."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    with atomic_output(path) as tmp:
        tok.save(tmp)
    return path


def load_tokenizer(path: str | os.PathLike) -> REMI:
    """Load a tokenizer saved by `save_tokenizer` (a file, or a folder holding `tokenizer.json`)."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise SymbolicError(f"tokenizer file not found: {path} (give the tokenizer.json saved beside the data)")
    try:
        params = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SymbolicError(f"{path} is not a tokenizer JSON file ({error})") from None
    kind = params.get("tokenization") if isinstance(params, dict) else None
    if kind != "REMI":
        raise SymbolicError(f"{path} holds a {kind!r} tokenizer; VMM uses REMI (re-run `vmm prepare`)")
    try:
        return REMI(params=path)
    except Exception as error:  # MidiTok raises various errors on malformed configs
        raise SymbolicError(f"{path}: cannot build the tokenizer from this file ({error})") from None


def tokenizer_hash(tok: REMI) -> str:
    """A short hash of the tokenizer's configuration and vocabulary (data and weights must agree)."""
    config = tok.config.to_dict(serialize=True)
    text = json.dumps({"class": type(tok).__name__, "config": config, "vocab": tok.vocab},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(tok: REMI, score: Score) -> list[int]:
    """Token ids of a score (all tracks in one stream). Empty list if nothing is tokenisable."""
    sequence = tok.encode(score)
    return list(sequence.ids)


def decode(tok: REMI, ids: list[int] | np.ndarray) -> Score:
    """The score of a token id sequence, at `tok.time_division` ticks per quarter."""
    return tok.decode([int(i) for i in ids])


@dataclass(frozen=True)
class VocabTable:
    """Per-vocabulary-id facts needed by the timeline and by grammar masks.

    Attributes:
        types: [V] str, the token type ("Bar", "Position", "Pitch", ... or a special token's name).
        codes: [V] int, the index of the type in `TOKEN_TYPES`.
        position: [V] int, the position index of `Position` tokens, -1 elsewhere.
        beats_per_bar: [V] int, the numerator of `TimeSig` tokens, -1 elsewhere.
        beat_unit: [V] int, the denominator of `TimeSig` tokens, -1 elsewhere.
        positions_per_beat: positions in one beat (a beat is the time-signature denominator unit).
        value: [V] int, the number of `Program`, `Pitch` and `PitchDrum` tokens (program -1 = drums),
            -1 elsewhere.
        tempo: [V] float, the BPM of `Tempo` tokens, NaN elsewhere.
    """

    types: np.ndarray
    codes: np.ndarray
    position: np.ndarray
    beats_per_bar: np.ndarray
    beat_unit: np.ndarray
    positions_per_beat: int
    value: np.ndarray
    tempo: np.ndarray

    def ids_of(self, kind: str) -> np.ndarray:
        """Ids of every token of one type, e.g. "Position"."""
        return np.flatnonzero(self.codes == TOKEN_TYPES.index(kind))

    def time_sig_id(self, numerator: int, denominator: int) -> int:
        ids = self.ids_of("TimeSig")
        match = ids[(self.beats_per_bar[ids] == numerator) & (self.beat_unit[ids] == denominator)]
        if not len(match):
            known = ", ".join(f"{self.beats_per_bar[i]}/{self.beat_unit[i]}" for i in ids)
            raise SymbolicError(f"time signature {numerator}/{denominator} is not in the tokenizer (known: {known})")
        return int(match[0])

    def nearest_tempo_id(self, bpm: float) -> int:
        ids = self.ids_of("Tempo")
        return int(ids[np.argmin(np.abs(self.tempo[ids] - bpm))])

    def program_ids(self, programs: list[int] | None = None) -> np.ndarray:
        """Ids of the `Program` tokens of `programs` (-1 = drums); all of them when None."""
        ids = self.ids_of("Program")
        return ids if programs is None else ids[np.isin(self.value[ids], programs)]


def vocab_table(tok: REMI) -> VocabTable:
    """Read the type and value of every vocabulary id of `tok`."""
    size = len(tok)
    types = np.empty(size, dtype=object)
    position = np.full(size, -1, dtype=np.int64)
    beats_per_bar = np.full(size, -1, dtype=np.int64)
    beat_unit = np.full(size, -1, dtype=np.int64)
    values = np.full(size, -1, dtype=np.int64)
    tempo = np.full(size, np.nan)
    for name, index in tok.vocab.items():
        kind, _, value = name.partition("_")
        types[index] = kind
        if kind == "Position":
            position[index] = int(value)
        elif kind in ("Program", "Pitch", "PitchDrum"):
            values[index] = int(value)
        elif kind == "Tempo":
            tempo[index] = float(value)
        elif kind == "TimeSig":
            numerator, denominator = value.split("/")
            beats_per_bar[index], beat_unit[index] = int(numerator), int(denominator)
    unknown = sorted(set(types) - set(TOKEN_TYPES))
    if unknown:
        raise SymbolicError(f"tokenizer has token types {unknown} that VMM does not use (build it with build_tokenizer)")
    codes = np.array([TOKEN_TYPES.index(kind) for kind in types], dtype=np.int64)
    return VocabTable(types.astype(str), codes, position, beats_per_bar, beat_unit,
                      int(tok.config.max_num_pos_per_beat), values, tempo)


def token_types(tok: REMI) -> np.ndarray:
    """[V] str: the type of each vocabulary id ("Bar", "Position", "Program", "Pitch", "PitchDrum",
    "Velocity", "Duration", "Tempo", "TimeSig", or the special token's name "PAD", "BOS", ...)."""
    return vocab_table(tok).types


class TokenTimeline:
    """Bar and beat of each token of a sequence, fed one token at a time (O(1) per token).

    A `Bar` token starts a new bar; a `TimeSig` token sets the current bar's beats per bar (REMI
    writes one after every `Bar`); a `Position` token sets the beat inside the bar
    (`position // positions_per_beat`). The `Bar`/`TimeSig` tokens and anything before the first
    `Position` of a bar get the bar's first beat. Bars and beats are 0-based and global.
    """

    def __init__(self, table: VocabTable) -> None:
        self.table = table
        # Plain lists: indexing them is several times faster than numpy scalars, per token.
        self._codes = table.codes.tolist()
        self._position = table.position.tolist()
        self._beats_per_bar = table.beats_per_bar.tolist()
        self.bar = 0
        self.bar_first_beat = 0
        self.beats_per_bar = 4
        self.beat = 0
        self.position = -1  # position in the current bar, -1 before its first Position token
        self._seen_bar = False

    def push(self, token_id: int) -> tuple[int, int]:
        """Advance over one token; return its (bar, beat)."""
        code = self._codes[token_id]
        if code == _BAR:
            if self._seen_bar:
                self.bar += 1
                self.bar_first_beat += self.beats_per_bar
            self._seen_bar = True
            self.beat = self.bar_first_beat
            self.position = -1
        elif code == _TIME_SIG:
            self.beats_per_bar = self._beats_per_bar[token_id]
        elif code == _POSITION:
            self.position = self._position[token_id]
            self.beat = self.bar_first_beat + self.position // self.table.positions_per_beat
        return self.bar, self.beat


def token_timeline(tok: REMI | VocabTable, ids: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bar and global beat index of every token (see `TokenTimeline`).

    Args:
        tok: the tokenizer, or its `vocab_table` (faster when called many times).
        ids: [T] token ids.

    Returns:
        bar: [T] int32, 0-based bar of each token.
        beat: [T] int32, 0-based global beat of each token (beats count from tick 0).
    """
    table = tok if isinstance(tok, VocabTable) else vocab_table(tok)
    timeline = TokenTimeline(table)
    bars = np.zeros(len(ids), dtype=np.int32)
    beats = np.zeros(len(ids), dtype=np.int32)
    for i, token_id in enumerate(ids):
        bars[i], beats[i] = timeline.push(int(token_id))
    return bars, beats
