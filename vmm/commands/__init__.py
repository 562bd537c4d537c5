"""One module per `vmm` subcommand (see vmm.cli)."""
