"""The `vmm` command line.

Each subcommand is a module in `vmm.commands` exposing `NAME`, `HELP`, `add_arguments(parser)` and
`run(args) -> int`; they are found at start-up, so adding a command never touches this file.
`fit`, `validate` and `test` are handed whole to the LightningCLI.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from types import ModuleType

import vmm.commands
from vmm.errors import VMMError

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
GLOBAL_FLAGS = ("-v", "--verbose")  # options of `vmm` itself, given before the subcommand


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that carry a message meant for the user (no traceback)."""
    from audio_render.errors import AudioRenderError
    from symbolic.errors import SymbolicError

    return (VMMError, SymbolicError, AudioRenderError)


def discover_commands() -> dict[str, ModuleType]:
    commands = {}
    for info in pkgutil.iter_modules(vmm.commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"vmm.commands.{info.name}")
        commands[module.NAME] = module
    return dict(sorted(commands.items()))


def build_parser(commands: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmm",
        description="VMM: music that fits a video, as an editable multi-track score.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIGHTNING_SUBCOMMANDS:
        sub.add_parser(name, help=f"{name} a model through the Lightning CLI (vmm {name} -c configs/tiny.yaml)",
                       add_help=False)
    for name, module in commands.items():
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
    return parser


def split_global_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """(the leading options of `vmm` itself, the subcommand and its arguments)."""
    index = 0
    while index < len(argv) and argv[index] in GLOBAL_FLAGS:
        index += 1
    return argv[:index], argv[index:]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    errors = user_error_types()
    try:
        flags, rest = split_global_flags(argv)
        if rest and rest[0] in LIGHTNING_SUBCOMMANDS:  # handed whole to the LightningCLI, which has its own parser
            from vmm.training.cli import run_lightning

            if flags:
                logging.basicConfig(level=logging.DEBUG, format="%(message)s")
            return run_lightning(rest)
        commands = discover_commands()
        parser = build_parser(commands)
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
        if args.command is None:
            parser.print_help()
            return 2
        return int(commands[args.command].run(args) or 0)
    except errors as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the reader closed early: not an error
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stderr again at exit
        return 0
