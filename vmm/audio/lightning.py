"""Training the audio decoder through Lightning: `vmm fit -c configs/audio_tiny.yaml`.

The LightningModule wraps `AudioLM`; inference never imports this file. Condition dropout trains the
null condition that classifier-free guidance needs (all streams dropped together) and teaches the
model to work with any subset of streams (each stream dropped on its own). At the end of training the
model is exported as the artefact directory `vmm neural-audio` loads (`export_dir`).

Glossary: B batch, K codebooks, T codec frames.
"""

from __future__ import annotations

import logging

import lightning.pytorch as pl
import torch

from vmm.audio.artefact import init_decoder_from_musicgen, save_audio_model
from vmm.audio.conditions import AudioConditions
from vmm.audio.config import AudioLMConfig
from vmm.audio.lm import AudioLM

log = logging.getLogger(__name__)


def dropout_flags(streams: list[str], batch: int, condition_dropout: float, stream_dropout: float,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Per-stream [B] keep flags: a sample loses every stream with probability `condition_dropout`,
    otherwise each stream independently with probability `stream_dropout`."""
    drop_all = torch.rand(batch, generator=generator) < condition_dropout
    return {name: ~drop_all & (torch.rand(batch, generator=generator) >= stream_dropout) for name in streams}


class AudioLightningModule(pl.LightningModule):
    """Args:
        config: the model (sizes, pattern, fuse map); the `tiny` preset when omitted.
        learning_rate, weight_decay, warmup_steps: AdamW with linear warm-up.
        condition_dropout: probability of dropping all conditions of a sample (CFG's null condition).
        stream_dropout: probability of dropping each stream on its own.
        init_from_musicgen: a local MusicGen checkpoint folder to start the decoder from.
        export_dir: where to write the artefact (codec/ + decoder/) when training ends.
    """

    def __init__(self, config: AudioLMConfig | None = None, learning_rate: float = 1e-3, weight_decay: float = 0.01,
                 warmup_steps: int = 0, condition_dropout: float = 0.1, stream_dropout: float = 0.1,
                 init_from_musicgen: str | None = None, export_dir: str | None = None) -> None:
        super().__init__()
        for name, value in (("condition_dropout", condition_dropout), ("stream_dropout", stream_dropout)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        self.save_hyperparameters()
        self.config = config or AudioLMConfig()
        self.lm = AudioLM(self.config)
        if init_from_musicgen:
            init_decoder_from_musicgen(self.lm, init_from_musicgen)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "attach"):
            datamodule.attach(self.config)

    def training_step(self, batch: tuple[torch.Tensor, AudioConditions], batch_idx: int) -> torch.Tensor:
        codes, cond = batch
        keep = dropout_flags(self.config.streams(), codes.shape[0], self.hparams.condition_dropout,
                             self.hparams.stream_dropout)
        loss, per_codebook = self.lm.loss(codes, cond, keep)
        self.log("train/loss", loss, prog_bar=True, batch_size=codes.shape[0])
        for k, value in enumerate(per_codebook):
            self.log(f"train/loss_cb{k}", value, batch_size=codes.shape[0])
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, AudioConditions], batch_idx: int) -> None:
        codes, cond = batch
        loss, _ = self.lm.loss(codes, cond)
        self.log("val/loss", loss, prog_bar=True, batch_size=codes.shape[0])

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,
                                      weight_decay=self.hparams.weight_decay, betas=(0.9, 0.95))
        warmup = max(1, self.hparams.warmup_steps)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_train_end(self) -> None:
        export_dir = self.hparams.export_dir
        datamodule = getattr(self.trainer, "datamodule", None)
        if export_dir and datamodule is not None and getattr(datamodule, "codec", None) is not None:
            save_audio_model(export_dir, self.lm, datamodule.codec)
            log.info("audio model written to %s", export_dir)
