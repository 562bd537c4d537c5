"""`vmm evaluate`: does the model make music? Generate for held-out pieces, with each piece's own
chords and controls (notes per bar, beat strength, sections, key, tempo) as the plan, and compare the
metrics of the generated pieces with the same metrics of the real excerpts.

Closer to the real value is better for the style metrics (pitch-class entropy, grooving similarity,
empty beats, range, polyphony, notes per bar); the plan metrics say how well the plan was followed
(chord accuracy against the chord plan, higher is better; note-density error against the per-bar
targets, normalised by the mean notes per bar, lower is better; CMT reports 0.107). Plan guidance at
decoding time (`PlanGuidance`) is on by default, as in `vmm score`; `PlanGuidance.off()` measures the
model alone. The report records which was used.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symbolic.metrics import score_metrics
from symbolic.tokenizer import decode
from vmm.conditioning.align import sections_from_density
from vmm.data.shards import ShardIndex
from vmm.errors import VMMError
from vmm.generate.generator import ScoreControls, generate_tokens
from vmm.generate.guidance import PlanGuidance
from vmm.generate.sampling import SamplingSettings

log = logging.getLogger(__name__)

STYLE_METRICS = ("pitch_class_entropy", "grooving_similarity", "empty_beat_rate", "pitch_range", "polyphony",
                 "notes_per_bar")
PLAN_METRICS = ("chord_accuracy", "density_error")


@dataclass
class Excerpt:
    """`n_bars` consecutive 4/4 bars of a held-out song, as tokens and as the plan they imply."""

    stem: str
    tokens: np.ndarray
    controls: ScoreControls


def find_excerpt(stem: str, shard: dict[str, np.ndarray], n_bars: int, beats_per_bar: int = 4) -> Excerpt | None:
    """The first run of `n_bars` bars of `beats_per_bar` beats that all hold notes, or None."""
    bar_beats = np.diff(shard["bar_first_beat"])
    density = shard["density"]
    usable = (bar_beats == beats_per_bar) & (density[: len(bar_beats)] > 0)
    for start in range(len(usable) - n_bars + 1):
        if not usable[start:start + n_bars].all():
            continue
        first_beat = int(shard["bar_first_beat"][start])
        beats = slice(first_beat, first_beat + n_bars * beats_per_bar)
        inside = (shard["bar"] >= start) & (shard["bar"] < start + n_bars)
        window_density = density[start:start + n_bars].astype(np.float32)
        controls = ScoreControls(
            n_bars=n_bars, tempo=float(shard["tempo"]), density=window_density,
            strength=shard["strength"][beats].astype(np.float32), chords=shard["chords"][beats].astype(np.int64),
            section_starts=sections_from_density(window_density), key=int(shard["key"]),
        )
        return Excerpt(stem, shard["tokens"][inside], controls)
    return None


def _piece_metrics(score, controls: ScoreControls) -> dict[str, float]:
    return score_metrics(score, chord_plan=controls.chords, density_targets=controls.density)


def evaluate(
    model, tokenizer, shards: ShardIndex, *, pieces: int = 16, n_bars: int = 8,
    settings: SamplingSettings | None = None, guidance: PlanGuidance | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> dict:
    """Metrics of generated and real excerpts of the validation songs.

    Args:
        guidance: plan guidance at decoding time (None = the defaults, `PlanGuidance.off()` = model alone).

    Returns:
        {"pieces": [{"stem", "generated": {...}, "real": {...}}], "summary": {metric: {"generated",
        "real"}} (means over pieces, NaN-aware), "settings": {..., "guidance": {...}}}.
    """
    settings = settings or SamplingSettings()
    guidance = PlanGuidance() if guidance is None else guidance
    songs = shards.songs("val")
    held_out = bool(songs)
    if not held_out:
        log.warning("%s has no validation songs: evaluating on training songs (not held out)", shards.folder)
        songs = shards.songs()
    excerpts = []
    for song in songs:
        excerpt = find_excerpt(song.stem, shards.load(song), n_bars)
        if excerpt is not None:
            excerpts.append(excerpt)
        if len(excerpts) == pieces:
            break
    if not excerpts:
        raise VMMError(f"no validation song in {shards.folder} has {n_bars} consecutive 4/4 bars with notes "
                       "(try a smaller --bars)")
    results = []
    for index, excerpt in enumerate(excerpts):
        piece_settings = dataclasses.replace(settings, seed=settings.seed + index)
        ids = generate_tokens(model, tokenizer, excerpt.controls, piece_settings, guidance=guidance)
        results.append({
            "stem": excerpt.stem,
            "generated": _piece_metrics(decode(tokenizer, ids), excerpt.controls),
            "real": _piece_metrics(decode(tokenizer, excerpt.tokens), excerpt.controls),
        })
        if callback:
            callback(index + 1, len(excerpts))
    summary = {
        metric: {side: float(np.nanmean([piece[side][metric] for piece in results])) for side in ("generated", "real")}
        for metric in (*STYLE_METRICS, *PLAN_METRICS)
    }
    return {"pieces": results, "summary": summary,
            "settings": {"pieces": len(results), "bars": n_bars, "held_out": held_out, **dataclasses.asdict(settings),
                         "guidance": dataclasses.asdict(guidance)}}


def format_table(report: dict) -> str:
    """The summary as an aligned text table (also valid Markdown)."""
    lines = ["| metric | generated | real |", "|---|---|---|"]
    for metric, values in report["summary"].items():
        lines.append(f"| {metric} | {values['generated']:.3f} | {values['real']:.3f} |")
    return "\n".join(lines)
