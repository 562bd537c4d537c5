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


def backbeats(beats_per_bar: int, beat_unit: int) -> set[int]:
    """Beats of a bar that take the snare: 2 and 4 in 4/4, the middle of a compound bar (6/8: beat 4)."""
    if beat_unit == 8 and beats_per_bar % 3 == 0:
        return set(range(3, beats_per_bar, 6))
    return set(range(1, beats_per_bar, 2)) if beats_per_bar > 3 else {beats_per_bar - 1}


def drum_pattern(strength: np.ndarray, time_signature: tuple[int, int], beat_ticks: int,
                 section_starts: list[int]) -> list[symusic.Note]:
    """A kit part following per-beat strength (0..1): the downbeat and other strong beats get a kick,
    the backbeats a snare, busy passages off-beat hats; velocity follows strength."""
    beats_per_bar = time_signature[0]
    snare_beats = backbeats(*time_signature)
    notes = []
    for beat, value in enumerate(np.asarray(strength, dtype=float)):
        tick, position = beat * beat_ticks, beat % beats_per_bar
        velocity = int(60 + 50 * min(max(value, 0.0), 1.0))
        if position == 0 and beat // beats_per_bar in section_starts:
            notes.append(symusic.Note(tick, beat_ticks, CRASH, 100))
        if position in snare_beats:
            notes.append(symusic.Note(tick, beat_ticks // 2, SNARE, velocity))
        elif position == 0 or value >= 0.7:
            notes.append(symusic.Note(tick, beat_ticks // 2, KICK, velocity))
        notes.append(symusic.Note(tick, beat_ticks // 4, CLOSED_HAT, velocity - 20))
        if value >= 0.4:
            notes.append(symusic.Note(tick + beat_ticks // 2, beat_ticks // 4, CLOSED_HAT, velocity - 30))
    return notes


def arrange(
    generated: symusic.Score,
    instruments: list[Instrument],
    *,
    strength: np.ndarray,
    time_signature: tuple[int, int] = (4, 4),
    section_starts: list[int] | None = None,
) -> symusic.Score:
    """A new score with one named track per requested instrument.

    Args:
        generated: the decoded model output (ticks).
        instruments: what the user asked for, in order.
        strength: [n_beats] per-beat strength of the plan, for a drum part the model did not write.
        time_signature: the plan's metre; a beat is one unit of its denominator (6/8: six eighths).
    """
    beat_ticks = generated.ticks_per_quarter * 4 // time_signature[1]
    n_beats = len(strength)
    score = symusic.Score(generated.ticks_per_quarter)
    score.tempos = generated.tempos
    score.time_signatures = generated.time_signatures
    parts = sorted((t for t in generated.tracks if not t.is_drum and len(t.notes)), key=_rank)
    drums_generated = [t for t in generated.tracks if t.is_drum and len(t.notes)]
    # Tracks by position in the request, so that "piano,piano" is two tracks, not one twice.
    tracks = [symusic.Track(name=i.display_name, program=i.program, is_drum=i.is_drum) for i in instruments]
    melodic = [index for index, i in enumerate(instruments) if not i.is_drum and not _is_bass(i)]
    for rank, part in enumerate(parts):
        if melodic:
            _copy_notes(part, tracks[melodic[min(rank, len(melodic) - 1)]])
    accompaniment = parts[1:2] or parts[:1]
    for instrument, track in zip(instruments, tracks, strict=True):
        if _is_bass(instrument):
            track.notes.extend(bass_line(accompaniment, beat_ticks, n_beats))
        elif instrument.is_drum:
            if drums_generated:
                _copy_notes(drums_generated[0], track)
            else:
                track.notes.extend(drum_pattern(strength, time_signature, beat_ticks, section_starts or []))
        score.tracks.append(track)
    for track in score.tracks:
        track.notes.sort(key=lambda note: (note.time, note.pitch))
    return score


def _is_bass(instrument: Instrument) -> bool:
    return 32 <= instrument.program <= 39 and not instrument.is_drum
