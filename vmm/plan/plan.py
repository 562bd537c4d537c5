"""The musical plan: what the generator must fit, as a plain JSON-serialisable object.

Times are seconds of the video (from its first frame); the music starts at 0. `tempo` counts quarter
notes per minute (the MIDI convention); a beat is one unit of the metre's denominator, so a bar is
`beats_per_bar` beats of 60 / tempo * 4 / den seconds each.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Literal, TypedDict

from symbolic.files import atomic_output
from vmm.errors import VMMError
from vmm.paths import check_input_file

PLAN_VERSION = 1


class PlanCut(TypedDict):
    """A scene cut and where it falls in the music.

    time_s: the cut in the video; snapped_time_s: the bar line or beat it is snapped to;
    bar, beat: that position (0-based; beat within the bar); kind: "bar" or "beat".
    """

    time_s: float
    bar: int
    beat: int
    snapped_time_s: float
    kind: Literal["bar", "beat"]


@dataclass
class MusicalPlan:
    """Everything the generator needs to know about the video, per bar and per beat.

    Attributes:
        tempo: quarter notes per minute.
        time_signature: (numerator, denominator).
        n_bars: bars of music (the last may be cut at the video's end).
        beats_per_bar: beats in a bar (the numerator).
        duration_s: length of the video.
        music_duration_s: where the music stops (the video's end).
        fade_out_s: fade at the end when the last bar is cut short (0 when whole bars fit).
        bar_times: [n_bars + 1] seconds of each bar line, then the end of the last whole bar.
        cuts: scene cuts snapped to bars or beats.
        density: [n_bars] target notes per bar.
        strength: [n_bars * beats_per_bar] target accent per beat, 0..1.
        section_starts: bars that start a section (bar 0, and the bar line nearest each cut).
        key: e.g. "A minor"; key_source: "user" or "mood".
        chords: [n_bars * beats_per_bar] chord ids (symbolic.chords) per beat, or None.
        instruments: instrument names (symbolic.instruments), or None to let the model choose.
        tempo_source: "user", "visual rhythm" or "motion level".
        details: how the plan was made (tempo confidence, mood values), for people reading it.
    """

    tempo: float
    time_signature: tuple[int, int]
    n_bars: int
    beats_per_bar: int
    duration_s: float
    music_duration_s: float
    fade_out_s: float
    bar_times: list[float]
    cuts: list[PlanCut]
    density: list[float]
    strength: list[float]
    section_starts: list[int]
    key: str
    key_source: Literal["user", "mood"]
    chords: list[int] | None = None
    instruments: list[str] | None = None
    tempo_source: str = "user"
    details: dict = field(default_factory=dict)
    version: int = PLAN_VERSION

    def __post_init__(self) -> None:
        self.time_signature = tuple(int(v) for v in self.time_signature)
        if self.tempo <= 0 or self.n_bars < 1:
            raise ValueError(f"tempo and n_bars must be positive, got {self.tempo}, {self.n_bars}")
        if self.beats_per_bar != self.time_signature[0]:
            raise ValueError(f"beats_per_bar {self.beats_per_bar} != numerator of {self.time_signature}")
        n_beats = self.n_bars * self.beats_per_bar
        checks = {"bar_times": (self.bar_times, self.n_bars + 1), "density": (self.density, self.n_bars),
                  "strength": (self.strength, n_beats)}
        if self.chords is not None:
            checks["chords"] = (self.chords, n_beats)
        for name, (values, expected) in checks.items():
            if len(values) != expected:
                raise ValueError(f"{name} has {len(values)} values, expected {expected}")

    @property
    def beat_s(self) -> float:
        """Seconds per beat."""
        return 60.0 / self.tempo * 4.0 / self.time_signature[1]

    @property
    def bar_s(self) -> float:
        """Seconds per bar."""
        return self.beat_s * self.beats_per_bar

    def beat_times(self) -> list[float]:
        """[n_bars * beats_per_bar] start of each beat in seconds."""
        return [i * self.beat_s for i in range(self.n_bars * self.beats_per_bar)]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["time_signature"] = list(self.time_signature)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> MusicalPlan:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown plan fields: {', '.join(unknown)}")
        if data.get("version", PLAN_VERSION) > PLAN_VERSION:
            raise ValueError(f"plan version {data['version']} is newer than this VMM ({PLAN_VERSION})")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> MusicalPlan:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike) -> None:
        """Write the plan as JSON (atomically)."""
        with atomic_output(path) as tmp:
            tmp.write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> MusicalPlan:
        """Read a plan written by `save`.

        Raises:
            VMMError: the file is not a plan.
        """
        path = check_input_file(path, "plan file")
        try:
            return cls.from_json(path.read_text())
        except (ValueError, TypeError) as error:
            raise VMMError(f"{path} is not a VMM plan ({str(error).splitlines()[0]}); make one with `vmm plan`") \
                from None
