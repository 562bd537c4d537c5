"""Audio rendering: SoundFont discovery, FluidSynth rendering, loudness, muxing onto video. Knows nothing of vmm."""
