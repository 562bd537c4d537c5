"""VMM: video to editable multi-track music."""

__version__ = "0.1.0"
