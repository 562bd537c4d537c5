"""Benchmarks behind `vmm bench NAME`: one module per benchmark, each exposing NAME, HELP,
add_arguments(parser) and run(args) -> int, found at start-up like the commands."""
