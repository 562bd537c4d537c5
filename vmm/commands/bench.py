"""`vmm bench NAME`: speed and memory measurements, compared against a peer in the same run."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from types import ModuleType

import vmm.bench

NAME = "bench"
HELP = "run a benchmark (model, video, render, tokenize, score, audio) and print ratios against peers"


def discover_benchmarks() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(vmm.bench.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"vmm.bench.{info.name}")
            found[module.NAME] = module
    return dict(sorted(found.items()))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="NAME")
    sub.add_parser("all", help="run every benchmark with its defaults")
    for name, module in discover_benchmarks().items():
        bench_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(bench_parser)


def run(args: argparse.Namespace) -> int:
    benchmarks = discover_benchmarks()
    if args.benchmark is None:
        print("name a benchmark: " + ", ".join(["all", *benchmarks]))
        return 2
    if args.benchmark == "all":
        status = 0
        for name, module in benchmarks.items():
            print(f"== vmm bench {name}")
            bench_parser = argparse.ArgumentParser()
            module.add_arguments(bench_parser)
            status |= int(module.run(bench_parser.parse_args([])) or 0)
        return status
    return int(benchmarks[args.benchmark].run(args) or 0)
