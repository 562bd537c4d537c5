"""A picture of the plan on the video's time axis: motion, impacts, cuts, visual beats, bars, density."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from symbolic.files import atomic_output
from vmm.errors import VMMError
from vmm.plan.plan import MusicalPlan
from vmm.video.features import VideoFeatures

PLOT_SUFFIXES = (".png", ".svg", ".pdf")  # formats matplotlib writes, chosen by the file's suffix


def plot_plan(features: VideoFeatures, plan: MusicalPlan, path: str | os.PathLike, *, title: str = "") -> None:
    """Draw the plan and write it as an image (PNG, SVG or PDF by suffix), atomically.

    Top axis: motion (left scale) and the density target per bar (right scale, steps); cuts as red
    lines with their snapped positions, visual beats as ticks, bar lines grey, section starts
    darker. Bottom strip: the per-beat strength.

    Raises:
        VMMError: `path` does not end in one of PLOT_SUFFIXES.
    """
    if Path(path).suffix.lower() not in PLOT_SUFFIXES:
        raise VMMError(f"cannot draw the plan to {path}: use a name ending in {', '.join(PLOT_SUFFIXES)}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    end = max(plan.duration_s, plan.bar_times[-1])
    fig, (ax, ax_beats) = plt.subplots(2, 1, figsize=(12, 5.2), sharex=True,
                                       gridspec_kw={"height_ratios": [3.2, 1]}, constrained_layout=True)
    for bar, t in enumerate(plan.bar_times):
        style = dict(color="0.35", lw=1.1) if bar in plan.section_starts else dict(color="0.8", lw=0.7)
        for axis in (ax, ax_beats):
            axis.axvline(t, zorder=0, **style)
    if end > plan.duration_s:  # the part of the last bar after the video's end
        ax.axvspan(plan.duration_s, end, color="0.93", zorder=0)
    motion_line, = ax.plot(features.times, features.motion, color="tab:blue", lw=1.3, label="motion")
    impact_scale = features.motion.max() / max(features.impact.max(), 1e-9) if len(features.times) else 1.0
    impact_line, = ax.plot(features.times, features.impact * impact_scale * 0.6, color="tab:cyan", lw=0.8,
                           alpha=0.8, label="visual impact (scaled)")
    top = float(features.motion.max()) * 1.15 if len(features.times) and features.motion.max() > 0 else 1.0
    beat_marks = ax.scatter(features.visual_beats, np.full(len(features.visual_beats), top * 0.015), marker="^",
                            color="tab:orange", s=30, zorder=3, clip_on=False, label="visual beats")
    cut_handle = None
    for cut in plan.cuts:
        cut_handle = ax.axvline(cut["time_s"], color="tab:red", lw=1.8, zorder=2, label="cuts")
        ax.annotate("", xy=(cut["snapped_time_s"], top * 0.88), xytext=(cut["time_s"], top * 0.88),
                    arrowprops=dict(arrowstyle="->", color="tab:red", lw=1.2))
    ax.set_ylim(0, top)
    ax.set_ylabel("motion (colour change / s)")
    density_ax = ax.twinx()
    steps = np.asarray(plan.density + plan.density[-1:])
    density_line, = density_ax.step(plan.bar_times, steps, where="post", color="tab:green", lw=2.2,
                                     label="density target (notes / bar)")
    density_ax.set_ylim(0, max(steps.max() * 1.25, 1.0))
    density_ax.set_ylabel("notes per bar", color="tab:green")
    handles = [motion_line, impact_line, beat_marks, density_line] + ([cut_handle] if cut_handle else [])
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, ncol=5, frameon=False)
    num, den = plan.time_signature
    fig.suptitle(title or f"{plan.tempo:g} BPM, {num}/{den}, {plan.n_bars} bars, {plan.key}", fontsize=11)
    beat_times = np.asarray(plan.beat_times())
    ax_beats.vlines(beat_times, 0, plan.strength, color="tab:purple", lw=2.5)
    ax_beats.scatter(beat_times, plan.strength, color="tab:purple", s=12, zorder=3)
    ax_beats.set_ylim(0, 1.05)
    ax_beats.set_ylabel("beat strength")
    ax_beats.set_xlabel("time (s)")
    ax_beats.set_xlim(0, end)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
