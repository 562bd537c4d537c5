"""The audio language model: MusicGen's decoder (transformers' `MusicgenForCausalLM`) over patterned
EnCodec codes, cross-attending to the video and score streams, with the melody chroma summed into its
step embeddings (see `vmm.audio.fuser` for the map).

Glossary: B batch, K codebooks, T codec frames, S pattern steps, n steps in one call, V codebook size,
H decoder width, D video feature size.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import MusicgenForCausalLM
from transformers.cache_utils import Cache
from transformers.models.musicgen.modeling_musicgen import MusicgenSinusoidalPositionalEmbedding

from vmm.audio.conditions import AudioConditions
from vmm.audio.config import AudioLMConfig
from vmm.audio.fuser import ConditionFuser, Fused
from vmm.audio.layers import Condition
from vmm.audio.patterns import CodebookPattern
from vmm.audio.score_stream import ScoreEncoder
from vmm.audio.video_stream import VideoModule


class StepPositions(MusicgenSinusoidalPositionalEmbedding):
    """MusicGen's sinusoidal positions, also correct when the decoder is fed `inputs_embeds`.

    transformers 5.x passes `inputs_embeds[:, :, -1:]` ([B, n, 1]) to the position module, which then
    reads n as the batch-of-codebooks axis and gives every step the same position. We feed
    embeddings (to add the frame-aligned conditions), so the step count is read from the right axis.
    Same buffers, same values as the original for `input_ids`.
    """

    def forward(self, input_ids: torch.Tensor, past_key_values_length: int = 0) -> torch.Tensor:
        steps = input_ids.shape[1] if input_ids.is_floating_point() else input_ids.shape[-1]
        if steps + past_key_values_length > self.weights.size(0):
            self.make_weights(steps + past_key_values_length, self.embedding_dim)
        positions = torch.arange(steps, device=input_ids.device) + past_key_values_length
        return self.weights.index_select(0, positions).detach()


class AudioLM(nn.Module):
    """Decoder + condition encoders.

    Args:
        config: sizes and the fuse map; the decoder is built from `config.decoder_config()`.
    """

    def __init__(self, config: AudioLMConfig) -> None:
        super().__init__()
        self.config = config
        self.pattern = CodebookPattern.named(config.pattern, config.num_codebooks)
        self.decoder = MusicgenForCausalLM(config.decoder_config())
        inner = self.decoder.model.decoder
        inner.embed_positions = StepPositions(config.max_positions, config.hidden_size)
        streams = config.streams()
        short_scale = config.short_fps / config.frame_rate  # one position per short-term frame
        self.video = VideoModule(config.video_feature_dim, config.video_width, config.video_layers,
                                 config.video_heads, config.hidden_size, short_scale,
                                 config.dropout) if "video" in streams else None
        self.score = ScoreEncoder(config.score_vocab_size, config.hidden_size) if "score" in streams else None
        # no bias: a silent frame (zero chroma) adds nothing, like a dropped stream
        self.chroma = nn.Linear(12, config.hidden_size, bias=False) if "chroma" in streams else None
        self.fuser = ConditionFuser(config.fuse, config.hidden_size, config.cross_pos_scale)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode_conditions(self, cond: AudioConditions, num_frames: int) -> dict[str, Condition]:
        """Run each stream's encoder on the inputs present in `cond`."""
        out: dict[str, Condition] = {}
        if self.video is not None and cond.video_short is not None:
            out["video"] = self.video(cond.video_long, cond.video_long_mask, cond.video_short,
                                      cond.video_short_frames, cond.video_short_mask)
        if self.score is not None and cond.score_ids is not None:
            out["score"] = self.score(cond.score_ids, cond.score_frames)
        if self.chroma is not None and cond.chroma is not None:
            chroma = cond.chroma[:, :num_frames]
            frames = torch.arange(chroma.shape[1], device=chroma.device).expand(chroma.shape[0], -1)
            out["chroma"] = Condition(self.chroma(chroma), torch.ones_like(frames, dtype=torch.bool), frames)
        return out

    def fuse(self, cond: AudioConditions, batch: int, num_frames: int,
             keep: dict[str, torch.Tensor] | None = None) -> Fused:
        """Encode and fuse the conditions of a batch of windows of `num_frames` codec frames."""
        return self.fuser(self.encode_conditions(cond, num_frames), batch, num_frames, keep)

    def step_logits(self, steps: torch.Tensor, fused: Fused, offset: int = 0,
                    cache: Cache | None = None) -> tuple[torch.Tensor, Cache | None]:
        """Run the decoder on pattern steps.

        Args:
            steps: [B, K, n] tokens of pattern steps offset .. offset+n-1 (special token allowed).
            fused: the batch's fused conditions.
            offset: index of the first step (the cache holds the steps before it).
            cache: transformers cache from the previous call, or None (no caching when training).

        Returns:
            logits [B, K, n, V] (output at step s predicts step s + 1) and the updated cache.
        """
        embed = self.decoder.model.decoder.embed_tokens
        inputs = sum(embed[k](steps[:, k]) for k in range(steps.shape[1]))
        frame_sum = fused.steps(offset, steps.shape[-1])
        if frame_sum is not None:
            inputs = inputs + frame_sum
        out = self.decoder(inputs_embeds=inputs, encoder_hidden_states=fused.memory,
                           encoder_attention_mask=fused.memory_mask.long(), past_key_values=cache,
                           use_cache=cache is not None)
        logits = out.logits.view(steps.shape[0], steps.shape[1], steps.shape[2], -1)
        return logits, out.past_key_values

    def forward(self, codes: torch.Tensor, cond: AudioConditions,
                keep: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Teacher-forced predictions.

        Args:
            codes: [B, K, T] targets.
            cond: their conditions; keep: per-stream [B] flags (condition dropout).

        Returns:
            [B, K, T, V] logits aligned with `codes` (entry (k, t) predicts codes[:, k, t]).
        """
        batch, _, num_frames = codes.shape
        fused = self.fuse(cond, batch, num_frames, keep)
        seq = self.pattern.build(codes, self.config.special_token)  # [B, K, S]
        logits, _ = self.step_logits(seq[:, :, :-1], fused)
        return self.pattern.revert_logits(logits)

    def loss(self, codes: torch.Tensor, cond: AudioConditions,
             keep: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy over codebooks (MusicGen's loss); also returns the [K] per-codebook losses."""
        logits = self(codes, cond, keep)
        per_codebook = nn.functional.cross_entropy(
            logits.flatten(0, 2).float(), codes.flatten(), reduction="none").view(codes.shape).mean(dim=(0, 2))
        return per_codebook.mean(), per_codebook
