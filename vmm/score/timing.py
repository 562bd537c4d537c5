"""Fitting a generated score to the video's end: notes past the end are cut, the last seconds fade."""

from __future__ import annotations

import numpy as np
import symusic


def fit_to_duration(score: symusic.Score, end_s: float, fade_s: float) -> symusic.Score:
    """A copy of `score` (ticks) that ends at `end_s` seconds, velocities falling over the last `fade_s`.

    Notes starting at or after the end are dropped and notes ringing past it are shortened. The score's
    own tempo map converts between seconds and ticks, so tempo changes are honoured.
    """
    seconds = score.to("second")
    for track in seconds.tracks:
        notes = track.notes.numpy()
        keep = notes["time"] < end_s
        time, duration = notes["time"][keep], notes["duration"][keep]
        velocity = notes["velocity"][keep].astype(np.float64)
        if fade_s > 0:
            gain = np.clip((end_s - time) / fade_s, 0.0, 1.0)
            velocity = np.maximum(1, np.round(velocity * gain))
        track.notes = symusic.Note.from_numpy(
            time=time, duration=np.minimum(duration, end_s - time), pitch=notes["pitch"][keep],
            velocity=velocity.astype(np.int8), ttype="second",
        )
    return seconds.to("tick")
