"""A plan as text a person can read."""

from __future__ import annotations

from vmm.plan.plan import MusicalPlan


def _chord_names(plan: MusicalPlan, bar: int) -> str:
    from symbolic.chords import chord_name

    beats = plan.chords[bar * plan.beats_per_bar:(bar + 1) * plan.beats_per_bar]
    names, previous = [], None
    for chord in beats:
        names.append(chord_name(chord) if chord != previous else "-")
        previous = chord
    return " ".join(names)


def describe_plan(plan: MusicalPlan, max_bars: int = 64) -> str:
    """A summary: tempo, metre, key, cuts, then one line per bar (start, density, strengths, chords)."""
    num, den = plan.time_signature
    how = {"user": "given", "visual rhythm": "from the visual rhythm", "motion level": "from the motion level"}
    tempo_note = how.get(plan.tempo_source, plan.tempo_source)
    if plan.details.get("tempo_adjusted"):
        tempo_note += f", adjusted from {plan.details.get('estimated_tempo')} so whole bars fit"
    lines = [
        f"video {plan.duration_s:.2f} s -> {plan.n_bars} bars of {num}/{den} at {plan.tempo:g} BPM ({tempo_note})",
        f"music ends at {plan.music_duration_s:.2f} s"
        + (f", last bar cut and faded over {plan.fade_out_s:.2f} s" if plan.fade_out_s else ", on a bar line"),
        f"key {plan.key} ({'given' if plan.key_source == 'user' else 'suggested by the mood'})",
    ]
    if plan.instruments:
        lines.append("instruments " + ", ".join(plan.instruments))
    if plan.cuts:
        lines.append("cuts:")
        for cut in plan.cuts:
            lines.append(f"  {cut['time_s']:7.2f} s -> bar {cut['bar'] + 1} beat {cut['beat'] + 1} "
                         f"({cut['kind']}, {cut['snapped_time_s']:.2f} s)")
    else:
        lines.append("cuts: none")
    lines.append("bar  start s  notes  strength per beat" + ("  chords" if plan.chords is not None else ""))
    for bar in range(min(plan.n_bars, max_bars)):
        strength = plan.strength[bar * plan.beats_per_bar:(bar + 1) * plan.beats_per_bar]
        section = "*" if bar in plan.section_starts else " "
        row = (f"{bar + 1:3d}{section} {plan.bar_times[bar]:7.2f}  {plan.density[bar]:5.1f}  "
               + " ".join(f"{s:.1f}" for s in strength))
        if plan.chords is not None:
            row += "  " + _chord_names(plan, bar)
        lines.append(row)
    if plan.n_bars > max_bars:
        lines.append(f"... {plan.n_bars - max_bars} more bars (see --json)")
    lines.append("* = section start")
    return "\n".join(lines)
