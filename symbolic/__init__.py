"""Symbolic music: MIDI in and out, tokens, chords, analysis and metrics. Knows nothing of video or vmm."""
