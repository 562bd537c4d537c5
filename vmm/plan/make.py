"""Making the musical plan from video features and the user's wishes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from symbolic.tokenizer import TOKENIZER_PARAMS
from vmm.errors import VMMError
from vmm.plan.density import density_targets
from vmm.plan.mood import mood_valence, suggest_key
from vmm.plan.plan import MusicalPlan, PlanCut
from vmm.plan.tempo import TEMPO_RANGE, estimate_tempo, fit_bars
from vmm.video.features import VideoFeatures

# The metres and tempos the tokenizer can write: MidiTok drops a time signature outside its range,
# which would shift every bar after it, and clips tempos to its range.
TIME_SIGNATURES = tuple(sorted(((num, den) for den, nums in TOKENIZER_PARAMS["time_signature_range"].items()
                                for num in nums), key=lambda ts: (ts[1], ts[0])))
USER_TEMPO_RANGE = tuple(float(v) for v in TOKENIZER_PARAMS["tempo_range"])  # quarter notes per minute


def parse_time_signature(text: str | Sequence[int]) -> tuple[int, int]:
    """ "3/4" or (3, 4) -> (3, 4).

    Raises:
        VMMError: not written like 3/4, or not one of TIME_SIGNATURES (the tokenizer's metres).
    """
    if isinstance(text, str):
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise VMMError(f"cannot read time signature {text!r}; write it like 4/4, 3/4 or 6/8")
        num, den = int(match.group(1)), int(match.group(2))
    else:
        num, den = (int(v) for v in text)
    if (num, den) not in TIME_SIGNATURES:
        accepted = ", ".join(f"{n}/{d}" for n, d in TIME_SIGNATURES)
        raise VMMError(f"time signature {num}/{den} is not supported; use one of {accepted}")
    return num, den


def check_tempo(tempo: float) -> float:
    """A user's tempo, in quarter notes per minute, within what the tokenizer can write.

    Raises:
        VMMError: outside USER_TEMPO_RANGE.
    """
    low, high = USER_TEMPO_RANGE
    if not low <= tempo <= high:
        raise VMMError(f"tempo {tempo:g} is out of range; give {low:g}-{high:g} quarter notes per minute")
    return float(tempo)


def snap_cuts(cuts: Sequence[float], beat_s: float, beats_per_bar: int, n_bars: int, duration: float,
              bar_snap_beats: float = 1.0) -> list[PlanCut]:
    """Snap each cut to the nearest bar line if it is closer than `bar_snap_beats` beats, else to the
    nearest beat. Cuts that would land on the music's very start or end, or on a beat already taken by
    an earlier cut, are dropped (the start and end are accents anyway).
    """
    bar_s = beat_s * beats_per_bar
    n_beats = n_bars * beats_per_bar
    snapped: list[PlanCut] = []
    taken: set[int] = set()
    for time in sorted(cuts):
        bar_line = round(time / bar_s)
        if abs(time - bar_line * bar_s) < bar_snap_beats * beat_s:
            beat_index, kind = int(bar_line) * beats_per_bar, "bar"
        else:
            beat_index, kind = int(round(time / beat_s)), "beat"
        snapped_time = beat_index * beat_s
        if beat_index <= 0 or beat_index >= n_beats or snapped_time >= duration - 1e-6 or beat_index in taken:
            continue
        taken.add(beat_index)
        snapped.append(PlanCut(time_s=round(float(time), 4), bar=beat_index // beats_per_bar,
                               beat=beat_index % beats_per_bar, snapped_time_s=round(float(snapped_time), 4), kind=kind))
    return snapped


def section_starts(cuts: list[PlanCut], beats_per_bar: int, n_bars: int) -> list[int]:
    """Bar 0 and, for each cut, the bar line nearest to it."""
    starts = {0}
    for cut in cuts:
        bar = cut["bar"] + (1 if cut["beat"] * 2 >= beats_per_bar and cut["kind"] == "beat" else 0)
        if bar < n_bars:
            starts.add(bar)
    return sorted(starts)


def bar_motion(features: VideoFeatures, bar_times: np.ndarray, duration: float) -> np.ndarray:
    """[n_bars] mean motion over each bar (over the part before the video's end)."""
    times, motion = features.times, features.motion
    if len(times) == 0:
        return np.zeros(len(bar_times) - 1)
    starts = np.searchsorted(times, bar_times[:-1], side="left")
    ends = np.searchsorted(times, np.minimum(bar_times[1:], duration), side="left")
    values = np.empty(len(starts))
    for i, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        # a bar shorter than the grid step takes the nearest grid point
        values[i] = motion[lo:hi].mean() if hi > lo else motion[min(lo, len(motion) - 1)]
    return values


def beat_strength(features: VideoFeatures, beat_s: float, n_beats: int, duration: float,
                  cuts: list[PlanCut], beats_per_bar: int) -> np.ndarray:
    """[n_beats] accent per beat, 0..1.

    A beat's strength is the impact of the strongest visual beat within half a beat of it, relative
    to the 90th percentile of all visual beats' impacts; a beat a cut is snapped to gets 1; beats
    after the video's end get 0.
    """
    strength = np.zeros(n_beats)
    if features.visual_beats:
        index = np.clip(np.round(np.asarray(features.visual_beats) * features.fps_grid).astype(int), 0,
                        len(features.impact) - 1)
        impacts = features.impact[index]
        reference = float(np.percentile(impacts, 90))
        if reference > 0:
            beat_of = np.round(np.asarray(features.visual_beats) / beat_s).astype(int)
            for b, value in zip(beat_of, impacts, strict=True):
                if 0 <= b < n_beats:
                    strength[b] = max(strength[b], min(1.0, float(value) / reference))
    for cut in cuts:
        strength[cut["bar"] * beats_per_bar + cut["beat"]] = 1.0
    strength[np.arange(n_beats) * beat_s >= duration - 1e-6] = 0.0
    return np.round(strength, 3)


def chords_per_beat(progression: Sequence[Sequence[int]], n_bars: int, beats_per_bar: int) -> list[int]:
    """Repeat a bar-wise progression over `n_bars`; the chords of a bar share its beats evenly
    (chord k of m starts at beat floor(k * beats_per_bar / m)).

    Raises:
        VMMError: a bar holds more chords than beats.
    """
    if not progression:
        raise VMMError("the chord progression is empty; give chords such as 'Am F C G'")
    out: list[int] = []
    for bar in range(n_bars):
        chords = list(progression[bar % len(progression)])
        m = len(chords)
        if m > beats_per_bar:
            raise VMMError(f"a bar of the progression has {m} chords but a bar has only {beats_per_bar} beats; "
                           "put at most one chord per beat")
        bar_chords = [0] * beats_per_bar
        for k, chord in enumerate(chords):
            for beat in range(k * beats_per_bar // m, (k + 1) * beats_per_bar // m):
                bar_chords[beat] = int(chord)
        out.extend(bar_chords)
    return out


def _resolve_key(key: str | None, features: VideoFeatures) -> tuple[str, str, dict]:
    from symbolic.analysis import key_name, parse_key

    if key is not None:
        return key_name(*parse_key(key)), "user", {}
    mood = features.mood()
    return key_name(*suggest_key(**mood)), "mood", {
        "mood": {name: round(value, 3) for name, value in mood.items()},
        "valence": round(mood_valence(**mood), 3),
    }


def _resolve_instruments(instruments: str | Sequence[str] | None) -> list[str] | None:
    if instruments is None:
        return None
    from symbolic.instruments import parse_instruments

    spec = instruments if isinstance(instruments, str) else ",".join(instruments)
    return [instrument.name for instrument in parse_instruments(spec)]


def make_plan(
    features: VideoFeatures,
    *,
    tempo: float | None = None,
    time_signature: str | tuple[int, int] = (4, 4),
    key: str | None = None,
    chords: str | Sequence[Sequence[int]] | None = None,
    instruments: str | Sequence[str] | None = None,
    density_reference: np.ndarray | None = None,
    bar_snap_beats: float = 1.0,
) -> MusicalPlan:
    """The musical plan for a video.

    Args:
        features: the video's features (`extract_features`).
        tempo: quarter notes per minute (40-250, USER_TEMPO_RANGE); None estimates it from the visual rhythm and adjusts it
            slightly so whole bars end with the video. A given tempo is kept and the last bar is cut
            at the video's end and faded.
        time_signature: "3/4" or (3, 4), one of TIME_SIGNATURES.
        key: e.g. "A minor", "F#", "Bbm"; None suggests one from the mood (vmm.plan.mood).
        chords: a progression such as "Am F C G" or "C G | Am F" (symbolic.chords), or bars of chord
            ids; it repeats over the bars.
        instruments: "piano,bass,drums" or a list of names (symbolic.instruments).
        density_reference: sorted notes-per-bar samples of the training data (the model ships them),
            counted per 4/4 bar; None uses POP909's distribution. Either is scaled to the metre's
            bar length (vmm.plan.density).
        bar_snap_beats: a cut closer than this many beats to a bar line snaps to it.
    Returns:
        `MusicalPlan`.
    Raises:
        VMMError (or SymbolicError for keys, chords, instruments): unusable wishes.
    """
    signature = parse_time_signature(time_signature)
    duration = float(features.duration)
    if duration <= 0:
        raise VMMError("the video has no duration; nothing to plan")
    details: dict = {}
    if tempo is not None:
        base_tempo, tempo_source = check_tempo(tempo), "user"
    else:
        estimate = estimate_tempo(features.impact, features.motion, features.fps_grid, len(features.visual_beats),
                                  beat_unit=signature[1])
        base_tempo, tempo_source = float(estimate.bpm), estimate.source
        details["estimated_tempo"] = base_tempo
        details["tempo_confidence"] = round(float(estimate.confidence), 3)
    fit = fit_bars(duration, base_tempo, signature, tempo_fixed=tempo is not None, cuts=list(features.cuts))
    details["tempo_adjusted"] = bool(fit.adjusted)
    beats_per_bar = signature[0]
    beat_s = 60.0 / fit.tempo * 4.0 / signature[1]
    bar_times = np.arange(fit.n_bars + 1) * beat_s * beats_per_bar
    cuts = snap_cuts(features.cuts, beat_s, beats_per_bar, fit.n_bars, duration, bar_snap_beats)
    starts = section_starts(cuts, beats_per_bar, fit.n_bars)
    sections = np.searchsorted(np.asarray(starts), np.arange(fit.n_bars), side="right") - 1
    density = density_targets(bar_motion(features, bar_times, duration), sections, density_reference,
                              bar_quarters=beats_per_bar * 4.0 / signature[1])
    strength = beat_strength(features, beat_s, fit.n_bars * beats_per_bar, duration, cuts, beats_per_bar)
    key_text, key_source, key_details = _resolve_key(key, features)
    details.update(key_details)
    chord_ids = None
    if chords is not None:
        if isinstance(chords, str):
            from symbolic.chords import parse_chord_progression

            chords = parse_chord_progression(chords)
        chord_ids = chords_per_beat(chords, fit.n_bars, beats_per_bar)
    return MusicalPlan(
        tempo=round(float(fit.tempo), 3), time_signature=signature, n_bars=fit.n_bars, beats_per_bar=beats_per_bar,
        duration_s=round(duration, 4), music_duration_s=round(min(duration, float(bar_times[-1])), 4),
        fade_out_s=float(fit.fade_out_s), bar_times=[round(float(t), 4) for t in bar_times], cuts=cuts,
        density=[float(d) for d in density], strength=[float(s) for s in strength], section_starts=[int(b) for b in starts],
        key=key_text, key_source=key_source, chords=chord_ids, instruments=_resolve_instruments(instruments),
        tempo_source=tempo_source, details=details,
    )


__all__ = ["make_plan", "parse_time_signature", "check_tempo", "snap_cuts", "chords_per_beat", "TEMPO_RANGE",
           "TIME_SIGNATURES", "USER_TEMPO_RANGE"]
