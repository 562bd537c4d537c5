"""Errors a user can act on. The CLI prints their message on one line and exits non-zero."""


class VMMError(Exception):
    """A problem with the user's input or environment, with a message saying what to do."""
