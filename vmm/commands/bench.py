"""`vmm bench NAME [options]`: speed and memory measurements, compared against a peer in the same run.

Benchmarks are the modules of `vmm.bench` (NAME, HELP, add_arguments, run). Their names and help are
read from the source without importing them, so `vmm --help` does not load torch and friends; the
chosen benchmark alone is imported and parses its own options.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import vmm.bench

NAME = "bench"
HELP = "run a benchmark (model, video, render, tokenize, audio, score or all) and print ratios against peers"


def benchmark_help() -> dict[str, str]:
    """{name: help} of every benchmark module, from the HELP constant in its source."""
    found = {}
    for info in pkgutil.iter_modules(vmm.bench.__path__):
        if info.name.startswith("_"):
            continue
        source = Path(vmm.bench.__path__[0], f"{info.name}.py").read_text()
        constants = {
            node.targets[0].id: node.value.value
            for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
        }
        found[constants.get("NAME", info.name)] = constants.get("HELP", "")
    return dict(sorted(found.items()))


def load_benchmark(name: str) -> ModuleType:
    for info in pkgutil.iter_modules(vmm.bench.__path__):
        module = importlib.import_module(f"vmm.bench.{info.name}") if info.name == name else None
        if module is not None:
            return module
    raise KeyError(name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    benchmarks = benchmark_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "benchmarks:\n" + "\n".join(f"  {name:<10} {text}" for name, text in benchmarks.items())
    parser.add_argument("benchmark", nargs="?", choices=["all", *benchmarks], metavar="NAME",
                        help="which benchmark (`vmm bench NAME --help` lists its options)")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of that benchmark")


def _parse(module: ModuleType, options: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"vmm bench {module.NAME}", description=module.HELP)
    module.add_arguments(parser)
    return parser.parse_args(options)


def run(args: argparse.Namespace) -> int:
    if args.benchmark is None:
        print("name a benchmark: " + ", ".join(["all", *benchmark_help()]))
        return 2
    if args.benchmark != "all":
        module = load_benchmark(args.benchmark)
        return int(module.run(_parse(module, args.options)) or 0)
    status = 0
    for name in benchmark_help():
        print(f"== vmm bench {name}")
        module = load_benchmark(name)
        status |= int(module.run(_parse(module, [])) or 0)
    return status
