"""From the parts the model wrote to the instruments the user asked for.

The model writes the programs it was trained on. For POP909 these are three roles that `vmm prepare`
gives distinct programs (`vmm.data.pop909.ROLE_PROGRAMS`): melody, bridge (a counter-melody) and piano accompaniment.
The arranger hands each generated part to a requested instrument:

- melodic instruments, in the user's order, receive the parts ranked melody first, accompaniment
  second, bridge third; parts beyond the last instrument join that instrument's track;
- a bass instrument receives a bass line made from the accompaniment: the lowest note sounding on
  each beat, moved into the bass register;
- drums receive the generated drum part if there is one, else a pattern that follows the plan's per-beat
  strength (kick on strong beats, snare on the backbeat, hats on off-beats, a crash at section starts).
"""

from __future__ import annotations

import numpy as np
import symusic

from symbolic.instruments import Instrument
from vmm.data.pop909 import ROLE_PROGRAMS

BASS_RANGE = (28, 52)  # E1..E3
KICK, SNARE, CLOSED_HAT, CRASH = 36, 38, 42, 49


def _rank(track: symusic.Track) -> float:
    """Lower ranks go to the first instruments: known roles first, then by how melodic a part is."""
    for order, role in enumerate(("melody", "accompaniment", "bridge")):
        if track.program == ROLE_PROGRAMS[role]:
            return float(order)
    pitches = track.notes.numpy()["pitch"]
    return 10.0 - float(pitches.mean()) / 128 if len(pitches) else 99.0


def _copy_notes(source: symusic.Track, target: symusic.Track) -> None:
    for note in source.notes:
        target.notes.append(symusic.Note(note.time, note.duration, note.pitch, note.velocity))


def bass_line(parts: list[symusic.Track], beat_ticks: int, n_beats: int) -> list[symusic.Note]:
    """The lowest pitch sounding at each beat of `parts`, moved into BASS_RANGE by octaves; a beat with
    the same note as the one before extends it instead of striking again."""
    notes = np.concatenate([part.notes.numpy()["pitch"] for part in parts]) if parts else np.array([])
    if not len(notes):
        return []
    starts = np.concatenate([part.notes.numpy()["time"] for part in parts])
    ends = starts + np.concatenate([part.notes.numpy()["duration"] for part in parts])
    line: list[symusic.Note] = []
    for beat in range(n_beats):
        tick = beat * beat_ticks
        sounding = (starts <= tick + beat_ticks // 4) & (ends > tick)
        if not sounding.any():
            continue
        pitch = int(notes[sounding].min())
        while pitch > BASS_RANGE[1]:
            pitch -= 12
        while pitch < BASS_RANGE[0]:
            pitch += 12
        if line and line[-1].pitch == pitch and line[-1].time + line[-1].duration == tick:
            line[-1].duration += beat_ticks
        else:
            line.append(symusic.Note(tick, beat_ticks, pitch, 92))
    return line


def drum_pattern(strength: np.ndarray, beats_per_bar: int, beat_ticks: int,
                 section_starts: list[int]) -> list[symusic.Note]:
    """A kit part following per-beat strength (0..1): stronger beats get a kick, the backbeat a snare,
    busy passages off-beat hats; velocity follows strength."""
    notes = []
    for beat, value in enumerate(np.asarray(strength, dtype=float)):
        tick, position = beat * beat_ticks, beat % beats_per_bar
        velocity = int(60 + 50 * min(max(value, 0.0), 1.0))
        if position == 0 and beat // beats_per_bar in section_starts:
            notes.append(symusic.Note(tick, beat_ticks, CRASH, 100))
        if position == 0 or value >= 0.7 and position != 1:
            notes.append(symusic.Note(tick, beat_ticks // 2, KICK, velocity))
        elif position % 2 == 1:
            notes.append(symusic.Note(tick, beat_ticks // 2, SNARE, velocity))
        notes.append(symusic.Note(tick, beat_ticks // 4, CLOSED_HAT, velocity - 20))
        if value >= 0.4:
            notes.append(symusic.Note(tick + beat_ticks // 2, beat_ticks // 4, CLOSED_HAT, velocity - 30))
    return notes


def arrange(
    generated: symusic.Score,
    instruments: list[Instrument],
    *,
    strength: np.ndarray,
    beats_per_bar: int,
    section_starts: list[int] | None = None,
) -> symusic.Score:
    """A new score with one named track per requested instrument.

    Args:
        generated: the decoded model output (ticks).
        instruments: what the user asked for, in order.
        strength: [n_beats] per-beat strength of the plan, for a drum part the model did not write.
        beats_per_bar: the plan's metre (beats are quarter notes here).
    """
    beat_ticks = generated.ticks_per_quarter
    n_beats = len(strength)
    score = symusic.Score(generated.ticks_per_quarter)
    score.tempos = generated.tempos
    score.time_signatures = generated.time_signatures
    parts = sorted((t for t in generated.tracks if not t.is_drum and len(t.notes)), key=_rank)
    drums_generated = [t for t in generated.tracks if t.is_drum and len(t.notes)]
    melodic = [i for i in instruments if not i.is_drum and not _is_bass(i)]
    tracks = {}
    for instrument in instruments:
        tracks[instrument.name] = symusic.Track(name=instrument.display_name, program=instrument.program,
                                                is_drum=instrument.is_drum)
    for index, part in enumerate(parts):
        if melodic:
            _copy_notes(part, tracks[melodic[min(index, len(melodic) - 1)].name])
    accompaniment = parts[1:2] or parts[:1]
    for instrument in instruments:
        track = tracks[instrument.name]
        if _is_bass(instrument):
            track.notes.extend(bass_line(accompaniment, beat_ticks, n_beats))
        elif instrument.is_drum:
            if drums_generated:
                _copy_notes(drums_generated[0], track)
            else:
                track.notes.extend(drum_pattern(strength, beats_per_bar, beat_ticks, section_starts or []))
        score.tracks.append(track)
    for track in score.tracks:
        track.notes.sort(key=lambda note: (note.time, note.pitch))
    return score


def _is_bass(instrument: Instrument) -> bool:
    return 32 <= instrument.program <= 39 and not instrument.is_drum
