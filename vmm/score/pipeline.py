"""The main job, stage by stage: video features, plan, model, generation, export, render, mux.

`score_video` and `compose` share everything after the plan. Everything a user gave is checked
before the long work starts (`prepare_run`); files are written into a staging folder and moved into
the output folder at the end, so a failure leaves neither partial files nor a new empty folder.
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
import symusic

from symbolic.chords import chord_name
from symbolic.instruments import Instrument, parse_instruments
from symbolic.tokenizer import decode, vocab_table
from vmm.arrange import arrange
from vmm.errors import VMMError
from vmm.generate.generator import generate_tokens
from vmm.generate.guidance import PlanGuidance
from vmm.generate.sampling import SamplingSettings
from vmm.paths import check_output_dir, nearest_existing_folder, prepare_output_dir
from vmm.score.controls import controls_from_plan
from vmm.score.options import DEFAULT_INSTRUMENTS, ScoreOptions  # noqa: F401 - re-exported
from vmm.score.timing import fit_to_duration

log = logging.getLogger(__name__)

Progress = Callable[[str, int, "int | None"], None]
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "assets" / "default_model"
# Every file name a run may write; with --force, those an earlier run left and this one does not
# write are removed, so the folder never mixes two runs. Other files are left alone.
OUTPUT_PATTERNS = ("score.mid", "score.musicxml", "pianoroll.png", "plan.json", "plan.png", "preview.wav",
                   "neural.wav", "*.scored.mp4", "*.neural.mp4")


@dataclass
class ScoreResult:
    """What was written, the plan that was followed, and seconds per stage."""

    out_dir: Path
    files: dict[str, Path]
    plan: object
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Prepared:
    """What `prepare_run` checked and loaded."""

    model: object
    tokenizer: object
    instruments: list[Instrument]
    settings: SamplingSettings
    density_reference: np.ndarray | None
    guidance: PlanGuidance = field(default_factory=PlanGuidance)


class StageClock:
    """Times each stage and forwards progress under the stage's name."""

    def __init__(self, progress: Progress | None):
        self.progress = progress or (lambda stage, done, total: None)
        self.timings: dict[str, float] = {}

    def run(self, stage: str, work: Callable[[Callable[[int, int | None], None]], object]):
        start = time.perf_counter()
        last = [1, 1]

        def report(done: int, total: int | None) -> None:
            last[:] = [done, total]
            self.progress(stage, done, total)

        self.progress(stage, 0, None)
        result = work(report)
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start
        total = last[1] or max(last[0], 1)
        self.progress(stage, total, total)
        return result


def load_default_model(model_dir: Path | None):
    """The artefact at `model_dir`, or the one shipped with VMM."""
    from vmm.artifact import load_model

    directory = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    if model_dir is None and not (directory / "model.safetensors").is_file():
        raise VMMError(f"the default model is missing from {directory} (pass --model DIR with a folder "
                       "written by `vmm export`; README: 'Train your own model')")
    return load_model(directory)


def _density_reference(model_dir: Path | None) -> np.ndarray | None:
    from vmm.artifact import load_density_reference

    try:
        return np.asarray(load_density_reference(model_dir or DEFAULT_MODEL_DIR)["notes_per_bar"], dtype=float)
    except VMMError:
        return None


def sampling_settings(options: ScoreOptions) -> SamplingSettings:
    try:
        return SamplingSettings(temperature=options.temperature, top_p=options.top_p,
                                cfg_scale=options.cfg_scale, seed=options.seed)
    except ValueError as error:
        raise VMMError(f"{error} (see --help for the sampling options)") from None


def plan_guidance(chords: float, density_tolerance: float | None) -> PlanGuidance:
    """PlanGuidance from the command line's two knobs; a bad value is a one-line VMMError."""
    try:
        return PlanGuidance.from_strengths(chords, density_tolerance)
    except ValueError as error:
        message = (str(error).replace("chord_bonus", "--chord-guidance").replace("density_tolerance", "--density-guidance")
                   .replace("or None = off", "or --no-density-guidance"))
        raise VMMError(f"{message} (see --help, 'plan guidance')") from None


def prepare_run(options: ScoreOptions, clock: StageClock) -> Prepared:
    """Check every wish and load the model before any long work; nothing is created on disk."""
    from symbolic.analysis import parse_key
    from vmm.plan.make import parse_time_signature

    check_output_dir(options.out_dir, options.force)
    instruments = parse_instruments(options.instruments)
    names = [instrument.name for instrument in instruments]
    if len(set(names)) != len(names):
        raise VMMError(f"--instruments names one instrument twice ({options.instruments}); name each once")
    settings = sampling_settings(options)
    guidance = plan_guidance(options.chord_guidance, options.density_guidance)
    if options.key:
        parse_key(options.key)
    model, tokenizer, _ = clock.run("model", lambda cb: load_default_model(options.model_dir))
    vocab_table(tokenizer).time_sig_id(*parse_time_signature(options.time_signature))
    if options.audio:
        from audio_render import find_soundfont

        find_soundfont(options.soundfont)
    if options.audio_model_dir is not None:
        from vmm.audio.artefact import check_artefact

        check_artefact(options.audio_model_dir)
    return Prepared(model, tokenizer, instruments, settings, _density_reference(options.model_dir), guidance)


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

    clock = StageClock(progress)
    prepared = prepare_run(options, clock)
    features = clock.run("features", lambda cb: extract_features(video, clip_weights=options.clip_weights,
                                                                 callback=cb))
    plan = clock.run("plan", lambda cb: make_plan(
        features, tempo=options.tempo, time_signature=options.time_signature, key=options.key,
        chords=options.chords, instruments=options.instruments, density_reference=prepared.density_reference))

    def extra(staging: Path, files: dict[str, Path]) -> None:
        from audio_render import mux_audio_onto_video

        files["plan_plot"] = staging / "plan.png"
        plot_plan(features, plan, files["plan_plot"], title=video.name)
        if options.audio:
            files["video"] = staging / f"{video.stem}.scored.mp4"
            clock.run("mux", lambda cb: mux_audio_onto_video(video, files["preview"], files["video"],
                                                             mode="replace", callback=cb))
        if options.audio_model_dir is not None:
            from vmm.audio.neural import generate_neural_audio

            files["neural"] = staging / "neural.wav"
            clock.run("neural", lambda cb: generate_neural_audio(
                files["midi"], video, options.audio_model_dir, files["neural"], seed=options.seed, callback=cb,
                clip_weights=options.clip_weights))
            files["neural_video"] = staging / f"{video.stem}.neural.mp4"
            clock.run("mux", lambda cb: mux_audio_onto_video(video, files["neural"], files["neural_video"],
                                                             mode="replace", callback=cb))

    return _write_music(plan, options, prepared, clock, extra)


def compose(bars: int, options: ScoreOptions, progress: Progress | None = None) -> ScoreResult:
    """`vmm compose`: the same outputs as `score_video` without a video (no plan.png, no scored video)."""
    from vmm.score.compose import compose_plan

    clock = StageClock(progress)
    prepared = prepare_run(options, clock)
    plan = clock.run("plan", lambda cb: compose_plan(
        bars, tempo=options.tempo, time_signature=options.time_signature, key=options.key,
        chords=options.chords, instruments=options.instruments.split(","),
        density_reference=prepared.density_reference))
    return _write_music(plan, options, prepared, clock, None)


def planned_score(generated: symusic.Score, plan, prepared: Prepared, controls) -> symusic.Score:
    """The decoded tokens as the user's instruments, at the plan's exact tempo (the tokenizer's tempo
    steps are 2 BPM apart), ending where the music must end."""
    generated.tempos = [symusic.Tempo(0, float(plan.tempo))]
    score = arrange(generated, prepared.instruments, strength=controls.strength,
                    time_signature=controls.time_signature, section_starts=controls.section_starts)
    return fit_to_duration(score, plan.music_duration_s, plan.fade_out_s)


def _write_music(plan, options: ScoreOptions, prepared: Prepared, clock: StageClock, extra) -> ScoreResult:
    from symbolic.export import plot_pianoroll, write_midi, write_musicxml

    controls = controls_from_plan(plan, programs=None, seed=options.seed)
    ids = clock.run("generate", lambda cb: generate_tokens(prepared.model, prepared.tokenizer, controls,
                                                           prepared.settings, guidance=prepared.guidance,
                                                           callback=cb))
    staging = Path(tempfile.mkdtemp(prefix=".vmm-", dir=nearest_existing_folder(Path(options.out_dir))))
    try:
        files: dict[str, Path] = {}

        def export(cb):
            score = planned_score(decode(prepared.tokenizer, ids), plan, prepared, controls)
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
        out_dir = prepare_output_dir(options.out_dir, force=options.force)
        _remove_stale_outputs(out_dir, {path.name for path in files.values()})
        final = {}
        for name, path in files.items():
            os.replace(path, out_dir / path.name)
            final[name] = out_dir / path.name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ScoreResult(out_dir, final, plan, clock.timings)


def _remove_stale_outputs(out_dir: Path, written: set[str]) -> None:
    for pattern in OUTPUT_PATTERNS:
        for path in out_dir.glob(pattern):
            if path.name not in written and path.is_file():
                path.unlink()
