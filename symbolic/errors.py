"""Errors with a message a user can act on."""


class SymbolicError(ValueError):
    """Bad symbolic input (unreadable MIDI, unknown chord, ...); the message says what and what to do."""


class MidiReadError(SymbolicError):
    """A MIDI file that cannot be read or holds no notes."""
