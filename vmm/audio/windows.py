"""Long videos: sliding windows that carry their last frames over as the next window's prompt.

With window W and overlap O (codec frames), window i covers [start_i, start_i + W) and its first O
frames are the previous window's last O frames (generated already, used as the prompt):

    frames:   0 ........................................ total
    window 0: [================ W ================)
    window 1:                        [ O |======== new =========)
    window 2:                                          [ O |== new ==)   (the last one may be shorter)

Every frame is generated exactly once: sum of new frames = total. The long-term video stream is the
same for every window (computed once over the whole video); the short-term stream, the score tokens
and the chroma are the window's own.

Glossary: K codebooks, T frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from vmm.audio.conditions import WindowInputs, collate
from vmm.audio.lm import AudioLM
from vmm.audio.sampling import Callback, SamplingSettings, generate_window, num_sampling_steps


@dataclass(frozen=True)
class Window:
    """Codec frames [start, end) of the video; the first `prompt` of them come from the previous window."""

    start: int
    end: int
    prompt: int

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def new_frames(self) -> int:
        return self.length - self.prompt


def plan_windows(total_frames: int, window_frames: int, overlap_frames: int) -> list[Window]:
    """Windows covering [0, total_frames) without gaps.

    Raises:
        ValueError: total <= 0, window <= 0, or overlap not in [0, window).
    """
    if total_frames <= 0 or window_frames <= 0:
        raise ValueError(f"need total_frames > 0 and window_frames > 0, got {total_frames}, {window_frames}")
    if not 0 <= overlap_frames < window_frames:
        raise ValueError(f"overlap ({overlap_frames} frames) must be >= 0 and shorter than the window ({window_frames})")
    windows = [Window(0, min(window_frames, total_frames), 0)]
    while windows[-1].end < total_frames:
        start = windows[-1].end - overlap_frames
        windows.append(Window(start, min(start + window_frames, total_frames), overlap_frames))
    return windows


@torch.no_grad()
def generate_long(lm: AudioLM, inputs_for: Callable[[Window], WindowInputs], total_frames: int, *,
                  window_frames: int, overlap_frames: int, settings: SamplingSettings = SamplingSettings(),
                  generator: torch.Generator | None = None, callback: Callback | None = None) -> torch.Tensor:
    """Generate `total_frames` codec frames window by window.

    Args:
        inputs_for: the conditions of a window (called once per window).
        window_frames, overlap_frames: W and O in codec frames.
        callback: callback(steps_done, steps_total) over all windows.

    Returns:
        [1, K, total_frames] codes.
    """
    windows = plan_windows(total_frames, window_frames, overlap_frames)
    total_steps = sum(num_sampling_steps(lm, w.length, w.prompt) for w in windows)
    done = 0
    codes = torch.zeros(1, lm.config.num_codebooks, 0, dtype=torch.long, device=lm.device)
    for window in windows:
        prompt = codes[..., window.start:window.start + window.prompt] if window.prompt else None
        cond = collate([inputs_for(window)], window.length)
        progress = None if callback is None else (lambda d, _t, base=done: callback(base + d, total_steps))
        new = generate_window(lm, cond, window.length, prompt=prompt, settings=settings,
                              generator=generator, callback=progress)
        codes = torch.cat([codes, new[..., window.prompt:]], dim=-1)
        done += num_sampling_steps(lm, window.length, window.prompt)
    assert codes.shape[-1] == total_frames
    return codes
