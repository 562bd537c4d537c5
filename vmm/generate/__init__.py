"""Sampling music tokens from the model under a grammar, bar by bar, following a plan."""
