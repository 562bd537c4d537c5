"""`vmm export CKPT --out DIR`: turn a training checkpoint into the shipped model directory."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "write a model directory (config.json, model.safetensors, tokenizer.json, model card) from a checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .ckpt written by `vmm fit` (e.g. lightning_logs/.../last.ckpt)")
    parser.add_argument("--out", required=True, help="folder to write the model into")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    parser.add_argument("--license", dest="license_text", default=None,
                        help="licence line for the model card (default: MIT, plus the data's own licence)")
    parser.add_argument("--train-command", dest="train_command", default=None,
                        help="the command that trained the model, for the model card")


def run(args: argparse.Namespace) -> int:
    from vmm.artifact import DEFAULT_LICENSE, export_checkpoint

    out = export_checkpoint(args.checkpoint, args.out, force=args.force,
                            license_text=args.license_text or DEFAULT_LICENSE, command=args.train_command)
    print(f"model written to {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return 0
