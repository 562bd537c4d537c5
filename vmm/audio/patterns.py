"""Codebook interleaving patterns: how K parallel codebook streams become one decoder sequence.

A codec frame t has K codes (one per residual codebook). The decoder predicts one *step* at a time and
emits K codes per step; a pattern says which (codebook, frame) cell each step holds. MusicGen's delay
pattern shifts codebook k by `delays[k]` steps, so the coarse codebook of frame t is known before the
finer ones of the same frame are predicted. Step 0 is always all-special: it is the start token.

Delay pattern [0, 1, 2, 3], K = 4, T = 4 frames (numbers are frame indices, S the special token):

    step:        0  1  2  3  4  5  6  7
    codebook 0:  S  0  1  2  3  S  S  S
    codebook 1:  S  S  0  1  2  3  S  S
    codebook 2:  S  S  S  0  1  2  3  S
    codebook 3:  S  S  S  S  0  1  2  3

Parallel pattern (delays [0, 0, 0, 0]): all codebooks of frame t at step t + 1.

    step:        0  1  2  3  4
    codebook k:  S  0  1  2  3

So the sequence has S = T + max(delays) + 1 steps; cell (k, t) sits at step 1 + t + delays[k]. The
decoder reads steps 0 .. S-2 and its output at step s predicts step s + 1, hence the logits of cell
(k, t) are at step t + delays[k] (`revert_logits`).

Glossary: B batch, K codebooks, T codec frames, S pattern steps, V vocabulary (codebook size).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CodebookPattern:
    """A delay-style interleaving: codebook k is shifted right by `delays[k]` steps.

    Args:
        delays: one non-negative delay per codebook, non-decreasing (the delay pattern is
            [0, 1, ..., K-1], the parallel pattern all zeros).
    """

    delays: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.delays) == 0:
            raise ValueError("a pattern needs at least one codebook, got delays=()")
        if any(d < 0 for d in self.delays):
            raise ValueError(f"delays must be >= 0, got {self.delays}")
        if list(self.delays) != sorted(self.delays):
            raise ValueError(f"delays must be non-decreasing, got {self.delays}")

    @classmethod
    def delay(cls, num_codebooks: int) -> CodebookPattern:
        """MusicGen's delay pattern [0, 1, ..., K-1]."""
        return cls(tuple(range(num_codebooks)))

    @classmethod
    def parallel(cls, num_codebooks: int) -> CodebookPattern:
        """All codebooks of a frame in the same step."""
        return cls((0,) * num_codebooks)

    @classmethod
    def named(cls, name: str, num_codebooks: int) -> CodebookPattern:
        """`"delay"` or `"parallel"`."""
        if name == "delay":
            return cls.delay(num_codebooks)
        if name == "parallel":
            return cls.parallel(num_codebooks)
        raise ValueError(f"unknown codebook pattern {name!r} (use 'delay' or 'parallel')")

    @property
    def num_codebooks(self) -> int:
        return len(self.delays)

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    def num_steps(self, num_frames: int) -> int:
        """Steps S of the patterned sequence for T frames, the start step included."""
        return num_frames + self.max_delay + 1

    def first_step_of_frame(self, frame: int) -> int:
        """The first step holding any cell of `frame` (codebook 0 has the smallest delay)."""
        return 1 + frame + self.delays[0]

    def _step_index(self, num_frames: int, device: torch.device) -> torch.Tensor:
        """[K, T] step holding cell (k, t)."""
        frames = torch.arange(num_frames, device=device)
        delays = torch.tensor(self.delays, device=device)
        return 1 + frames[None, :] + delays[:, None]

    def valid_mask(self, num_frames: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """[K, S] True where a step holds a real cell, False where it holds the special token."""
        device = torch.device(device)
        mask = torch.zeros(self.num_codebooks, self.num_steps(num_frames), dtype=torch.bool, device=device)
        mask.scatter_(1, self._step_index(num_frames, device), True)
        return mask

    def build(self, codes: torch.Tensor, special: int) -> torch.Tensor:
        """Interleave codes into the patterned sequence.

        Args:
            codes: [B, K, T] codes (any integer values, e.g. -1 for "not generated yet").
            special: the token filling empty cells.

        Returns:
            [B, K, S] with S = T + max_delay + 1.
        """
        batch, num_codebooks, num_frames = codes.shape
        self._check_codebooks(num_codebooks)
        seq = codes.new_full((batch, num_codebooks, self.num_steps(num_frames)), special)
        index = self._step_index(num_frames, codes.device).expand(batch, -1, -1)
        return seq.scatter(2, index, codes)

    def revert(self, seq: torch.Tensor) -> torch.Tensor:
        """Undo `build`: [B, K, S] -> [B, K, T] with T = S - max_delay - 1."""
        num_frames = seq.shape[-1] - self.max_delay - 1
        self._check_codebooks(seq.shape[1])
        if num_frames < 0:
            raise ValueError(f"a sequence of {seq.shape[-1]} steps is shorter than the pattern's start + delays")
        index = self._step_index(num_frames, seq.device).expand(seq.shape[0], -1, -1)
        return seq.gather(2, index)

    def revert_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Align decoder outputs with the codes they predict.

        Args:
            logits: [B, K, S - 1, V], the decoder's outputs for input steps 0 .. S-2.

        Returns:
            [B, K, T, V]: entry (k, t) is the prediction of codes[:, k, t].
        """
        batch, num_codebooks, steps, vocab = logits.shape
        self._check_codebooks(num_codebooks)
        num_frames = steps - self.max_delay
        index = (self._step_index(num_frames, logits.device) - 1)[None, :, :, None]
        return logits.gather(2, index.expand(batch, -1, -1, vocab))

    def _check_codebooks(self, num_codebooks: int) -> None:
        if num_codebooks != self.num_codebooks:
            raise ValueError(f"pattern has {self.num_codebooks} codebooks, tensor has {num_codebooks}")
