"""The LightningModule: wraps the plain `VMMModel` with the Switch Schedule, the loss and the optimiser.

Per training step, the Switch Schedule draws for every sample which condition streams are fused
(video only, chords only, both, none) at progress = global_step / total steps; the draw uses a
generator seeded by (schedule_seed, global_step, rank), so the schedule's state is a function of the
step and a resumed run draws exactly what the uninterrupted run would have drawn.

Logged: train/loss, train/ppl, lr, the share of samples per stream choice (train/streams_<choice>),
the gradient norm of each fusion branch before the optimiser step (grad_norm/<branch>, after the
branch's gradient scale), val/loss with both streams on, val/loss_none with none, val/ppl.

Glossary: B batch, T tokens, V vocabulary size.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from vmm.errors import VMMError
from vmm.model import Conditions, SwitchSchedule, VMMConfig, VMMModel
from vmm.training.data import IGNORE_INDEX

# Chord-heavy early (the chord stream is the easier signal to learn), all four choices later.
DEFAULT_SWITCH_SCHEDULE: list[tuple[float, dict[str, float]]] = [
    (0.0, {"video": 0.1, "chords": 0.5, "both": 0.3, "none": 0.1}),
    (0.5, {"video": 0.25, "chords": 0.25, "both": 0.35, "none": 0.15}),
]
STREAM_CHOICES = ("video", "chords", "both", "none")
CHECKPOINT_KEY = "vmm"  # checkpoint entry with the model config, tokenizer and training summary


def model_config(model: dict[str, Any] | None, vocab_size: int) -> VMMConfig:
    """A VMMConfig from a dict of its fields (vocab_size given separately); VMMError on a bad field."""
    values = dict(model or {})
    known = {f.name for f in dataclasses.fields(VMMConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise VMMError(f"unknown model setting(s) {unknown}; valid ones: {', '.join(sorted(known - {'vocab_size'}))}")
    values["vocab_size"] = vocab_size
    try:
        return VMMConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        raise VMMError(f"bad model setting: {error}") from None


class VMMLightningModule(L.LightningModule):
    """Training wrapper around `VMMModel`.

    Args:
        architecture: VMMConfig fields (d_model, layer_pattern, d_state, ...) except vocab_size; missing
            fields take VMMConfig's defaults.
        vocab_size: the vocabulary size; None takes it from the data's tokenizer.json.
        lr: AdamW peak learning rate.
        betas: AdamW betas.
        weight_decay: AdamW weight decay (matrices only; not biases, norms, A_log, D).
        warmup_steps: linear warm-up steps.
        min_lr_ratio: the cosine decay ends at lr * min_lr_ratio at the last step.
        switch_schedule: milestones [(progress, {"video": w, "chords": w, "both": w, "none": w}), ...].
        schedule_seed: seed of the per-step Switch Schedule draws.
    """

    def __init__(
        self,
        architecture: dict[str, Any] | None = None,
        vocab_size: int | None = None,
        lr: float = 3e-4,
        betas: tuple[float, float] = (0.9, 0.95),
        weight_decay: float = 0.1,
        warmup_steps: int = 100,
        min_lr_ratio: float = 0.1,
        switch_schedule: list[tuple[float, dict[str, float]]] | None = None,
        schedule_seed: int = 0,
    ) -> None:
        super().__init__()
        if lr <= 0 or warmup_steps < 0 or not 0 <= min_lr_ratio <= 1:
            raise VMMError(f"need lr > 0, warmup_steps >= 0, 0 <= min_lr_ratio <= 1; got {lr}, "
                           f"{warmup_steps}, {min_lr_ratio}")
        self.save_hyperparameters()
        model_config(architecture, vocab_size or 2)  # check the settings now, before any data is read
        milestones = [(float(p), dict(w)) for p, w in (switch_schedule or DEFAULT_SWITCH_SCHEDULE)]
        try:
            self.schedule = SwitchSchedule(milestones=milestones)
        except (TypeError, ValueError) as error:
            raise VMMError(f"bad switch_schedule: {error}") from None
        self.model: VMMModel | None = None
        if vocab_size is not None:
            self.model = VMMModel(model_config(architecture, vocab_size))

    @property
    def config(self) -> VMMConfig:
        if self.model is None:
            raise RuntimeError("the model is built in configure_model (it needs the vocabulary size)")
        return self.model.config

    def configure_model(self) -> None:
        """Build the model once the vocabulary size is known: here it comes from the data module."""
        if self.model is not None:
            return
        vocab_size = getattr(self.trainer.datamodule, "vocab_size", None)
        if vocab_size is None:
            raise VMMError("vocab_size is unknown: give --model.vocab_size, or data with a tokenizer.json")
        self.hparams.vocab_size = vocab_size  # stored in checkpoints: a resumed run rebuilds the same model
        self.model = VMMModel(model_config(self.hparams.architecture, vocab_size))

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        data_vocab = getattr(datamodule, "vocab_size", None)
        given = self.hparams.vocab_size
        if given is not None and data_vocab is not None and given != data_vocab:
            raise VMMError(f"the model's vocab_size is {given} but the data's tokenizer has {data_vocab} tokens "
                           "(leave vocab_size out to take it from the data)")

    # ------------------------------------------------------------------ steps

    def progress(self) -> float:
        """Training progress in [0, 1]: global_step / total optimiser steps."""
        total = self.trainer.max_steps if self.trainer.max_steps and self.trainer.max_steps > 0 else None
        if total is None:
            total = self.trainer.estimated_stepping_batches
        return min(1.0, self.global_step / max(1, float(total)))

    def draw_streams(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample (use_video [B], use_chords [B]) for this step; a function of global_step and rank."""
        # Seeded by (seed, step, rank): resumable, and each DDP process draws for its own samples.
        seed = (self.hparams.schedule_seed * 1_000_003 + self.global_step) * 1_009 + self.global_rank
        generator = torch.Generator().manual_seed(seed)
        use_video, use_chords = self.schedule.sample(batch_size, self.progress(), generator)
        return use_video.to(self.device), use_chords.to(self.device)

    def loss(self, batch: dict[str, torch.Tensor], use_video: torch.Tensor,
             use_chords: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the real (non-pad) targets."""
        conditions = Conditions(video=batch["video"], chords=batch["chords"], key=batch["key"],
                                use_video=use_video, use_chords=use_chords)
        logits = self.model(batch["tokens"], conditions)
        return F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(),
                               ignore_index=IGNORE_INDEX)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        batch_size = batch["tokens"].shape[0]
        use_video, use_chords = self.draw_streams(batch_size)
        loss = self.loss(batch, use_video, use_chords)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log("train/ppl", torch.exp(loss.detach().clamp(max=20)), batch_size=batch_size)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True, batch_size=batch_size)
        choices = {"video": use_video & ~use_chords, "chords": ~use_video & use_chords,
                   "both": use_video & use_chords, "none": ~use_video & ~use_chords}
        for name, chosen in choices.items():
            self.log(f"train/streams_{name}", chosen.float().mean(), batch_size=batch_size)
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
        batch_size = batch["tokens"].shape[0]
        on = torch.ones(batch_size, dtype=torch.bool, device=self.device)
        loss = self.loss(batch, on, on)
        loss_none = self.loss(batch, ~on, ~on)
        self.log(f"{prefix}/loss", loss, prog_bar=True, batch_size=batch_size, sync_dist=True)
        self.log(f"{prefix}/loss_none", loss_none, batch_size=batch_size, sync_dist=True)
        self.log(f"{prefix}/ppl", torch.exp(loss.clamp(max=20)), batch_size=batch_size, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._evaluate(batch, "test")

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Log the gradient norm of each fusion branch (after its gradient scale)."""
        for name, params in self.model.fuser.branch_parameters().items():
            grads = [p.grad.detach().float().norm() for p in params if p.grad is not None]
            if grads:
                self.log(f"grad_norm/{name}", torch.stack(grads).norm(), on_step=True, on_epoch=False)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store what `vmm export` needs beside the weights (plain types only: the CLI reads
        checkpoints with weights_only=True)."""
        checkpoint[CHECKPOINT_KEY] = export_info(self)

    # ------------------------------------------------------------------ optimiser

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.AdamW(parameter_groups(self.model, self.hparams.weight_decay),
                                      lr=self.hparams.lr, betas=tuple(self.hparams.betas))
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, self.hparams.warmup_steps, total, self.hparams.min_lr_ratio))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on matrices; none on biases, norms, Mamba's A_log and D (as mamba_ssm)."""
    decay, plain = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        exempt = param.ndim < 2 or getattr(param, "_no_weight_decay", False) or name.endswith(("A_log", ".D"))
        (plain if exempt else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def export_info(module: VMMLightningModule) -> dict[str, Any]:
    """Model config, tokenizer JSON, density reference and a training summary (plain types)."""
    trainer = module.trainer
    datamodule = getattr(trainer, "datamodule", None)
    metrics = {name: float(value) for name, value in trainer.callback_metrics.items()
               if name.startswith(("val/", "train/loss")) and value.numel() == 1}
    info: dict[str, Any] = {
        "model_config": module.config.to_dict(),
        "summary": {"global_step": int(trainer.global_step), "epoch": int(trainer.current_epoch),
                    "max_steps": int(trainer.max_steps), "metrics": metrics,
                    "parameters": sum(p.numel() for p in module.model.parameters()),
                    "hparams": {k: v for k, v in module.hparams.items() if k not in ("architecture", "_instantiator")}},
    }
    if datamodule is not None and hasattr(datamodule, "export_info"):
        info.update(datamodule.export_info())
    return info


def lr_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Linear warm-up to 1, then cosine decay to `min_ratio` at `total_steps`."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    done = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * done))
