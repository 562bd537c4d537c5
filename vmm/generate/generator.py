"""The decoding loop: prefill-free, one model step per token with the Mamba states and the attention
ring buffer, the grammar masking every choice, conditions taken from the plan for each token's beat.

Glossary: B batch (2 with classifier-free guidance: conditional row 0, unconditional row 1),
V vocabulary, K beats in the piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from symbolic.tokenizer import vocab_table
from vmm.conditioning.align import UNKNOWN_KEY, token_controls
from vmm.generate.bias import GuidanceBias, duration_positions
from vmm.generate.grammar import BAR, RemiGrammar
from vmm.generate.guidance import PlanGuidance, note_limits
from vmm.generate.sampling import SamplingSettings, guided_logits, sample_token
from vmm.model import Conditions


@dataclass
class ScoreControls:
    """What the music must follow, fixed before generation starts (from a video plan or a real piece).

    Attributes:
        n_bars: bars to generate.
        time_signature: (numerator, denominator), constant over the piece.
        tempo: BPM.
        density: [n_bars] target notes per bar.
        strength: [n_bars * numerator] per-beat strength 0..1.
        chords: [n_bars * numerator] chord id per beat (0 = no chord).
        section_starts: bars that start a section (cuts).
        key: tonic + 12 * minor, or None if unknown.
        programs: allowed General MIDI programs (-1 = drums), or None for any.
    """

    n_bars: int
    tempo: float
    density: np.ndarray
    strength: np.ndarray
    chords: np.ndarray
    time_signature: tuple[int, int] = (4, 4)
    section_starts: list[int] = field(default_factory=list)
    key: int | None = None
    programs: list[int] | None = None

    def __post_init__(self):
        n_beats = self.n_bars * self.time_signature[0]
        if len(self.density) != self.n_bars:
            raise ValueError(f"density has {len(self.density)} bars, the plan {self.n_bars}")
        for name in ("strength", "chords"):
            if len(getattr(self, name)) != n_beats:
                raise ValueError(f"{name} has {len(getattr(self, name))} beats, the plan {n_beats}")

    @property
    def beats_per_bar(self) -> int:
        return self.time_signature[0]


class ConditionTable:
    """Per-beat conditions of a plan, computed once; a token's conditions are those of its beat."""

    def __init__(self, controls: ScoreControls, batch: int, device: torch.device):
        n_beats = controls.n_bars * controls.beats_per_bar
        beats = np.arange(n_beats)
        video, chords = token_controls(
            beats // controls.beats_per_bar, beats, controls.density, controls.strength, controls.chords,
            controls.section_starts, controls.n_bars,
        )
        self.video = video.to(device)  # [K, 4]
        self.chords = chords.to(device)  # [K]
        key = UNKNOWN_KEY if controls.key is None or controls.key < 0 else int(controls.key)
        self.key = torch.full((batch,), key, dtype=torch.long, device=device)
        self.use = torch.tensor([True, False][:batch], device=device)  # row 1 (if any) is unconditional
        self.batch = batch
        self.n_beats = n_beats

    def at_beat(self, beat: int) -> Conditions:
        """Conditions for one step, T = 1."""
        video = self.video[beat].expand(self.batch, 1, -1)
        chords = self.chords[beat].expand(self.batch, 1)
        return Conditions(video=video, chords=chords, key=self.key, use_video=self.use, use_chords=self.use)


@torch.inference_mode()
def generate_tokens(
    model,
    tokenizer,
    controls: ScoreControls,
    settings: SamplingSettings,
    *,
    guidance: PlanGuidance | None = None,
    callback: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Sample a token sequence of exactly `controls.n_bars` bars.

    Args:
        model: a VMMModel (eval mode is set here).
        tokenizer: the MidiTok tokenizer the model was trained with.
        guidance: plan guidance at decoding time (None = the tuned defaults, `PlanGuidance.off()` = none).
        callback: called as callback(bars_done, n_bars) when a bar starts and at the end.

    Returns:
        token ids (without the closing Bar), ready for tokenizer.decode.
    """
    model.eval()
    device = next(model.parameters()).device
    guidance = PlanGuidance() if guidance is None else guidance
    table = vocab_table(tokenizer)
    limits = None
    if guidance.density_tolerance is not None:
        limits = note_limits(controls.density, guidance.density_tolerance, RemiGrammar.MAX_NOTES_PER_BAR)
    grammar = RemiGrammar(table, n_bars=controls.n_bars, time_signature=controls.time_signature,
                          tempo_bpm=controls.tempo, programs=controls.programs, note_limits=limits)
    steer = GuidanceBias(guidance, table, controls.density, controls.chords, controls.beats_per_bar,
                         duration_positions(tokenizer, table.positions_per_beat))
    guided = settings.cfg_scale != 1.0
    conditions = ConditionTable(controls, batch=2 if guided else 1, device=device)
    cache = model.allocate_inference_cache(conditions.batch, device=device)
    generator = torch.Generator().manual_seed(settings.seed)
    tokens: list[int] = []
    token = grammar.forced()
    while True:
        grammar.advance(token)
        if grammar.done:
            break
        steer.take(grammar, token)
        tokens.append(token)
        if callback and table.codes[token] == BAR:
            callback(grammar.bars_started - 1, controls.n_bars)
        step_input = torch.full((conditions.batch,), token, dtype=torch.long, device=device)
        logits = model.step(step_input, conditions.at_beat(min(grammar.beat, conditions.n_beats - 1)), cache)
        allowed = grammar.allowed()  # built once per token: it decides forcing and masks sampling
        if int(allowed.sum()) == 1:
            token = int(allowed.nonzero()[0])
            continue
        logits = guided_logits(logits[0], logits[1] if guided else None, settings.cfg_scale).cpu()
        bias = steer.bias(grammar)  # after guidance, before temperature and top-p (inside sample_token)
        if bias is not None:
            logits = logits.float() + bias
        token = sample_token(logits, allowed, settings, generator)
    if callback:
        callback(controls.n_bars, controls.n_bars)
    return tokens
