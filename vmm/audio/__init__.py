"""Neural audio: an audio-token decoder (MusicGen family) conditioned on the video and the symbolic score.

Public entry points:
    generate_neural_audio(midi_path, video_path, model_dir, out_wav, *, seed, callback) -> Path
        (`vmm.audio.neural`), what `vmm score --audio-model DIR` and `vmm neural-audio` call.
    load_audio_model / save_audio_model (`vmm.audio.artefact`): the DIR/codec + DIR/decoder artefact.
    AudioLightningModule (`vmm.audio.lightning`), AudioDataModule (`vmm.audio.data`): training.

Modules: codec (EnCodec), patterns (codebook interleaving), video_stream / score_stream / chroma (the
condition streams), fuser (the condition map), lm (decoder + encoders), sampling (one window),
windows (long inputs), sources (window cuts of a clip's conditions).
"""
