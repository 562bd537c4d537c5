"""Errors with a message a user can act on."""


class AudioRenderError(RuntimeError):
    """Rendering or muxing failed for a reason the user can fix (missing SoundFont, bad video, ...)."""
