"""Training through Lightning: the data module over the shards, the LightningModule, the CLI.

Inference never imports this package (see vmm.artifact).
"""
