"""Audio rendering: SoundFont discovery, FluidSynth rendering, loudness, muxing onto video. Knows nothing of vmm.

    from audio_render import render_midi, mux_audio_onto_video, find_soundfont

    result = render_midi("score.mid", "score.wav")            # RenderResult: path, duration_s, soundfont, ...
    mux_audio_onto_video("clip.mp4", result.path, "clip_scored.mp4", mode="mix")

Modules: `soundfonts` (which SoundFont), `synth` (FluidSynth library/program), `loudness` (BS.1770),
`audio_io` (WAV/FLAC), `render` (the pipeline), `mux` (onto video). Names are imported lazily so that
`import audio_render.errors` (done by every CLI start) stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "AudioRenderError": "audio_render.errors",
    "find_soundfont": "audio_render.soundfonts",
    "list_soundfonts": "audio_render.soundfonts",
    "render_midi": "audio_render.render",
    "render_midi_samples": "audio_render.render",
    "RenderResult": "audio_render.render",
    "RenderSettings": "audio_render.render",
    "integrated_loudness": "audio_render.loudness",
    "mux_audio_onto_video": "audio_render.mux",
    "MuxResult": "audio_render.mux",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'audio_render' has no attribute {name!r}")
