"""`vmm fit|validate|test -c configs/X.yaml`: the LightningCLI over VMMLightningModule and ShardDataModule.

`vmm fit -c configs/tiny.yaml --data.root SHARDS` trains; `--ckpt_path last.ckpt` resumes the same run
(step count, optimiser, LR and Switch Schedule); `--print_config` prints the merged configuration;
`vmm fit --help` lists every setting. The data's tokenizer.json is copied beside the checkpoints, and
last.ckpt is always written at the step where training stops.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import lightning as L
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

from vmm.allocator import keep_freed_memory
from vmm.training.data import ShardDataModule
from vmm.training.module import VMMLightningModule

log = logging.getLogger(__name__)


class TokenizerBesideCheckpoints(L.Callback):
    """Copies the data's tokenizer.json into the checkpoint folder when fitting starts."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        checkpoint = trainer.checkpoint_callback
        datamodule = getattr(trainer, "datamodule", None)
        if not trainer.is_global_zero or checkpoint is None or getattr(checkpoint, "dirpath", None) is None:
            return
        source = getattr(datamodule, "tokenizer_path", None)
        if source is None or not Path(source).is_file():
            return
        target = Path(checkpoint.dirpath)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / "tokenizer.json")
        log.info("tokenizer.json copied to %s", target)


class LastCheckpointAtEnd(L.Callback):
    """Writes last.ckpt when training ends (max_steps, max_time) at a step no checkpoint was saved at.

    ModelCheckpoint saves after validation, every n steps or at epoch ends; a run stopped between
    those would otherwise lose its last steps, and `--ckpt_path last.ckpt` would not continue from
    where it stopped.
    """

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        checkpoint = trainer.checkpoint_callback
        if not isinstance(checkpoint, ModelCheckpoint) or not checkpoint.save_last or checkpoint.dirpath is None:
            return
        if getattr(checkpoint, "_last_global_step_saved", None) == trainer.global_step:
            return
        save_last = getattr(checkpoint, "_save_last_checkpoint", None)
        if save_last is not None:  # through ModelCheckpoint, so that it knows (no second last-v1.ckpt)
            save_last(trainer, checkpoint._monitor_candidates(trainer))
        else:
            trainer.save_checkpoint(Path(checkpoint.dirpath) / f"{checkpoint.CHECKPOINT_NAME_LAST}{checkpoint.FILE_EXTENSION}")
        log.info("saved the last checkpoint at step %d", trainer.global_step)


class RunConfigSaver(SaveConfigCallback):
    """Saves the merged configuration as config.yaml in the run's own folder, never in the working folder.

    With a logger the folder is the logger's (versioned) log folder, and a config there belongs to the
    same run (a resumed one), so it is replaced. Without a logger Lightning's log folder is
    `trainer.default_root_dir`, which defaults to the working folder, where a file called config.yaml
    may be the user's: then nothing is saved, and a notice says how to keep the config.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        if Path(trainer.log_dir).resolve() == Path.cwd().resolve():  # the same on every rank
            if trainer.is_global_zero:
                log.info("the run's configuration is not saved: its log folder would be the working folder "
                         "(set trainer.default_root_dir or a logger to keep it)")
            self.already_saved = True
            return
        super().setup(trainer, pl_module, stage)


class VMMCLI(LightningCLI):
    """LightningCLI with VMM's defaults: checkpoints keep tokenizer.json beside them."""

    def parse_arguments(self, parser, args) -> None:
        # `vmm` always hands the argument list over explicitly: Lightning's warning about `args` given
        # beside sys.argv does not apply.
        self.config = parser.parse_args(args)


def config_files(argv: list[str]) -> list[Path]:
    """The files given with -c/--config."""
    files = []
    for index, arg in enumerate(argv):
        if arg in ("-c", "--config") and index + 1 < len(argv):
            files.append(Path(argv[index + 1]))
        elif arg.startswith("--config="):
            files.append(Path(arg.split("=", 1)[1]))
    return files


def names_its_classes(argv: list[str]) -> bool:
    """True when a config names its model by class_path (e.g. configs/audio_*.yaml): then any
    LightningModule/DataModule may be chosen; otherwise the VMM symbolic model and shards are used."""
    for path in config_files(argv):
        try:
            config = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # the CLI itself reports an unreadable config
        if isinstance(config, dict) and isinstance(config.get("model"), dict) and "class_path" in config["model"]:
            return True
    return False


def run_lightning(argv: list[str]) -> int:
    """Run `fit`, `validate` or `test` (argv starts with the subcommand). Returns the exit status."""
    keep_freed_memory()  # CPU steps stop page-faulting the same activations in again (a few % faster)
    if names_its_classes(argv):
        classes = {"model_class": L.LightningModule, "datamodule_class": L.LightningDataModule,
                   "subclass_mode_model": True, "subclass_mode_data": True}
    else:
        classes = {"model_class": VMMLightningModule, "datamodule_class": ShardDataModule}
    try:
        VMMCLI(
            **classes,
            args=list(argv),
            trainer_defaults={"callbacks": [TokenizerBesideCheckpoints(), LastCheckpointAtEnd()]},
            save_config_callback=RunConfigSaver,
            save_config_kwargs={"overwrite": True},  # only ever inside the run's own folder (RunConfigSaver)
            auto_configure_optimizers=False,
            parser_kwargs={"prog": "vmm"},
        )
    except SystemExit as done:  # --help, --print_config and argument errors exit through argparse
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0
