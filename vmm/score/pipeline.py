"""The main job, stage by stage: video features, plan, model, generation, export, render, mux.

`score_video` and `compose` share everything after the plan. Every file is written into a staging
folder beside the output folder and moved in at the end, so a failure leaves no partial result.
Progress goes through `progress(stage, done, total)`; the CLI draws it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symbolic.chords import chord_name
from symbolic.instruments import parse_instruments
from symbolic.tokenizer import decode
from vmm.arrange import arrange
from vmm.generate.generator import generate_tokens
from vmm.generate.sampling import SamplingSettings
from vmm.score.controls import controls_from_plan
from vmm.score.options import DEFAULT_INSTRUMENTS, ScoreOptions  # noqa: F401 - re-exported
from vmm.score.timing import fit_to_duration

log = logging.getLogger(__name__)

Progress = Callable[[str, int, "int | None"], None]
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "default_model"


@dataclass
class ScoreResult:
    """What was written, the plan that was followed, and seconds per stage."""

    out_dir: Path
    files: dict[str, Path]
    plan: object
    timings: dict[str, float] = field(default_factory=dict)


class StageClock:
    """Times each stage and forwards progress under the stage's name."""

    def __init__(self, progress: Progress | None):
        self.progress = progress or (lambda stage, done, total: None)
        self.timings: dict[str, float] = {}

    def run(self, stage: str, work: Callable[[Callable[[int, int | None], None]], object]):
        start = time.perf_counter()
        self.progress(stage, 0, None)
        result = work(lambda done, total: self.progress(stage, done, total))
        self.timings[stage] = time.perf_counter() - start
        self.progress(stage, 1, 1)
        return result


def load_default_model(model_dir: Path | None):
    """The artefact at `model_dir`, or the one shipped with VMM."""
    from vmm.artifact import load_model
    from vmm.errors import VMMError

    directory = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    if model_dir is None and not (directory / "model.safetensors").is_file():
        raise VMMError(f"the default model is missing from {directory} (reinstall VMM, or pass --model DIR "
                       "with a folder written by `vmm export`)")
    return load_model(directory)


def _density_reference(model_dir: Path | None) -> np.ndarray | None:
    from vmm.artifact import load_density_reference
    from vmm.errors import VMMError

    try:
        return np.asarray(load_density_reference(model_dir or DEFAULT_MODEL_DIR)["notes_per_bar"], dtype=float)
    except VMMError:
        return None


def chord_labels(chords_per_beat: np.ndarray, ticks_per_beat: int) -> list[tuple[int, str]]:
    """(tick, name) at every chord change, for MIDI markers, MusicXML and the piano roll."""
    labels = []
    for beat, chord in enumerate(chords_per_beat):
        if beat == 0 or chord != chords_per_beat[beat - 1]:
            labels.append((beat * ticks_per_beat, chord_name(int(chord))))
    return labels


def score_video(video: Path, options: ScoreOptions, progress: Progress | None = None) -> ScoreResult:
    """Write score.mid, score.musicxml, pianoroll.png, plan.json, plan.png, preview.wav and
    <video>.scored.mp4 (the last two unless options.audio is False) into options.out_dir."""
    from vmm.plan.make import make_plan
    from vmm.plan.plot import plot_plan
    from vmm.video.features import extract_features

    if options.audio_model_dir is not None:  # fail before any long work if the weights are not there
        from vmm.audio.artefact import check_artefact

        check_artefact(options.audio_model_dir)
    clock = StageClock(progress)
    features = clock.run("features", lambda cb: extract_features(video, clip_weights=options.clip_weights,
                                                                 callback=cb))
    plan = clock.run("plan", lambda cb: make_plan(
        features, tempo=options.tempo, time_signature=options.time_signature, key=options.key,
        chords=options.chords, instruments=options.instruments, density_reference=_density_reference(options.model_dir)))

    def extra(staging: Path, files: dict[str, Path]) -> None:
        files["plan_plot"] = staging / "plan.png"
        plot_plan(features, plan, files["plan_plot"], title=video.name)
        if options.audio:
            from audio_render import mux_audio_onto_video

            files["video"] = staging / f"{video.stem}.scored.mp4"
            clock.run("mux", lambda cb: mux_audio_onto_video(video, files["preview"], files["video"],
                                                             mode="replace", callback=cb))
        if options.audio_model_dir is not None:
            from audio_render import mux_audio_onto_video
            from vmm.audio.neural import generate_neural_audio

            files["neural"] = staging / "neural.wav"
            clock.run("neural", lambda cb: generate_neural_audio(
                files["midi"], video, options.audio_model_dir, files["neural"], seed=options.seed, callback=cb))
            files["neural_video"] = staging / f"{video.stem}.neural.mp4"
            clock.run("mux", lambda cb: mux_audio_onto_video(video, files["neural"], files["neural_video"],
                                                             mode="replace", callback=cb))

    return _write_music(plan, options, clock, extra, end_s=plan.duration_s)


def _write_music(plan, options: ScoreOptions, clock: StageClock, extra, end_s: float | None) -> ScoreResult:
    from symbolic.export import plot_pianoroll, write_midi, write_musicxml
    from vmm.paths import prepare_output_dir

    instruments = parse_instruments(options.instruments)
    out_dir = prepare_output_dir(options.out_dir, force=options.force)
    model, tokenizer, _ = clock.run("model", lambda cb: load_default_model(options.model_dir))
    controls = controls_from_plan(plan, programs=None, seed=options.seed)
    settings = SamplingSettings(temperature=options.temperature, top_p=options.top_p,
                                cfg_scale=options.cfg_scale, seed=options.seed)
    ids = clock.run("generate", lambda cb: generate_tokens(model, tokenizer, controls, settings, callback=cb))
    staging = Path(tempfile.mkdtemp(prefix=".vmm-", dir=out_dir))
    try:
        files: dict[str, Path] = {}

        def export(cb):
            generated = decode(tokenizer, ids)
            score = arrange(generated, instruments, strength=controls.strength,
                            beats_per_bar=controls.beats_per_bar, section_starts=controls.section_starts)
            if end_s is not None:
                score = fit_to_duration(score, end_s, plan.fade_out_s)
            ticks_per_beat = score.ticks_per_quarter * 4 // plan.time_signature[1]
            labels = chord_labels(controls.chords, ticks_per_beat)
            files["midi"] = write_midi(score, staging / "score.mid", key=plan.key, chords=labels, title="VMM score")
            files["musicxml"] = write_musicxml(score, staging / "score.musicxml", title="VMM score", chords=labels)
            files["pianoroll"] = plot_pianoroll(score, staging / "pianoroll.png", chords=labels, title="VMM score")
            files["plan"] = staging / "plan.json"
            plan.save(files["plan"])

        clock.run("export", export)
        if options.audio:
            from audio_render import render_midi

            files["preview"] = staging / "preview.wav"
            clock.run("render", lambda cb: render_midi(files["midi"], files["preview"],
                                                        soundfont=options.soundfont, callback=cb))
        if extra is not None:
            extra(staging, files)
        final = {}
        for name, path in files.items():
            os.replace(path, out_dir / path.name)
            final[name] = out_dir / path.name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ScoreResult(out_dir, final, plan, clock.timings)


def compose(bars: int, options: ScoreOptions, progress: Progress | None = None) -> ScoreResult:
    """`vmm compose`: the same outputs as `score_video` without a video (no plan.png, no scored video)."""
    from vmm.score.compose import compose_plan

    clock = StageClock(progress)
    plan = clock.run("plan", lambda cb: compose_plan(
        bars, tempo=options.tempo or 100.0, time_signature=options.time_signature, key=options.key,
        chords=options.chords, instruments=options.instruments.split(","),
        density_reference=_density_reference(options.model_dir)))
    return _write_music(plan, options, clock, None, end_s=None)
