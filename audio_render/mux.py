"""Put rendered music onto a video: replace its sound or mix under it, without re-encoding the picture.

PyAV probes the inputs (how long the video really is, whether it has sound); the `ffmpeg` program
does the muxing: `-c:v copy` copies the video packets bit for bit (with their side data, e.g. the
rotation matrix), and one filter graph prepares the new sound:

    music:    [1:a] -> 48 kHz stereo -> gain -> cut at the video's end (+ fade) -> pad with silence
    original: [0:a] -> 48 kHz stereo, start aligned -> gain -> cut -> pad        (mix mode only)
    mix:      amix(normalize=0) -> alimiter under the peak ceiling

so the sound lasts exactly as long as the video (to the AAC frame; the container's edit list holds
the rest). The ffmpeg program is used rather than PyAV's muxer because a stream copy must carry
codec tags, side data and edit lists that PyAV does not copy; `make setup` installs ffmpeg.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from audio_render.errors import AudioRenderError
from symbolic.errors import SymbolicError
from symbolic.files import atomic_output

log = logging.getLogger(__name__)

MuxMode = Literal["replace", "mix"]
AUDIO_CODECS = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}
OUTPUT_RATE = 48000
FADE_SECONDS = 0.5  # fade-out where music longer than the video is cut
PEAK_CEILING_DB = -1.0  # the mix is limited under this


@dataclass(frozen=True)
class MediaInfo:
    """What muxing needs to know about a file."""

    path: Path
    duration_s: float  # the video stream's span (first packet to end of last), or the audio's
    has_video: bool
    has_audio: bool


@dataclass(frozen=True)
class MuxResult:
    path: Path
    duration_s: float  # the video's duration, which the new sound matches
    mode: MuxMode  # the mode used ("replace" when "mix" met a silent video)


def probe_video(path: str | os.PathLike) -> MediaInfo:
    """Measure a video from its packets (headers are often missing or wrong).

    Raises:
        AudioRenderError: missing, unreadable, or without a video stream.
    """
    import av

    path = Path(path)
    if not path.is_file():
        raise AudioRenderError(f"video not found: {path} (check the path)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise AudioRenderError(f"{path} has no video stream (give a video file)")
            stream = container.streams.video[0]
            has_audio = bool(container.streams.audio)
            first, end = None, None
            default = _frame_ticks(stream)
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                first = packet.pts if first is None else min(first, packet.pts)
                stop = packet.pts + (packet.duration or default)
                end = stop if end is None else max(end, stop)
            if first is None:
                raise AudioRenderError(f"{path} has a video stream without frames")
            duration = float((end - first) * stream.time_base)
    except av.error.FFmpegError as error:
        raise AudioRenderError(f"cannot read video {path}: {error.strerror or error}") from None
    return MediaInfo(path, duration, True, has_audio)


def _frame_ticks(stream) -> int:
    """One frame's duration in the stream's time base (for packets that lack a duration)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    return max(1, round(1 / (Fraction(rate) * stream.time_base)))


def probe_audio(path: str | os.PathLike) -> MediaInfo:
    """Check that `path` holds sound and measure it."""
    import av

    path = Path(path)
    if not path.is_file():
        raise AudioRenderError(f"audio not found: {path} (check the path)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioRenderError(f"{path} has no audio stream (give a .wav or .flac file)")
            stream = container.streams.audio[0]
            if stream.duration is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = sum(frame.samples for frame in container.decode(stream)) / stream.sample_rate
    except av.error.FFmpegError as error:
        raise AudioRenderError(f"cannot read audio {path}: {error.strerror or error}") from None
    return MediaInfo(path, duration, False, True)


def _music_chain(music: MediaInfo, duration: float, gain_db: float) -> str:
    chain = [f"aresample={OUTPUT_RATE}", "aformat=sample_fmts=fltp:channel_layouts=stereo",
             f"volume={gain_db:.3f}dB", f"atrim=end={duration:.6f}"]
    if music.duration_s > duration + 1e-3:  # cut: fade so it does not stop mid-note with a click
        fade = min(FADE_SECONDS, duration / 4)
        chain.append(f"afade=t=out:st={duration - fade:.6f}:d={fade:.6f}")
    chain.append(f"apad=whole_dur={duration:.6f}")
    return "[1:a:0]" + ",".join(chain)


def build_filter_graph(video: MediaInfo, music: MediaInfo, mode: MuxMode, music_gain_db: float,
                       original_gain_db: float) -> str:
    """The ffmpeg `-filter_complex` graph whose output `[aout]` is the new sound."""
    duration = video.duration_s
    music_chain = _music_chain(music, duration, music_gain_db)
    if mode == "replace":
        return music_chain + "[aout]"
    original = ("[0:a:0]" + ",".join([
        f"aresample={OUTPUT_RATE}:async=1:first_pts=0",  # silence where the sound starts late
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
        f"volume={original_gain_db:.3f}dB", f"atrim=end={duration:.6f}", f"apad=whole_dur={duration:.6f}",
    ]))
    limit = 10 ** (PEAK_CEILING_DB / 20)
    return (f"{original}[orig];{music_chain}[music];"
            f"[orig][music]amix=inputs=2:duration=first:normalize=0,"
            f"alimiter=limit={limit:.4f}:level=0:latency=1,atrim=end={duration:.6f}[aout]")


def mux_audio_onto_video(
    video_path: str | os.PathLike,
    audio_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    mode: MuxMode = "replace",
    music_gain_db: float = 0.0,
    original_gain_db: float = -6.0,
    callback: Callable[[int, int], None] | None = None,
) -> MuxResult:
    """Write `out_path`: the video's picture, copied, with the music as its sound.

    Args:
        video_path: any video FFmpeg reads; its first video stream is copied.
        audio_path: the music (e.g. from `render_midi`).
        out_path: `.mp4`, `.m4v`, `.mov`, `.mkv` (AAC sound) or `.webm` (Opus); written atomically.
        mode: "replace" the original sound, or "mix" the music with it (a video without sound is
            treated as "replace").
        music_gain_db: gain on the music.
        original_gain_db: gain on the original sound in "mix" mode.
        callback: progress in milliseconds, `callback(done_ms, total_ms)`.

    Returns:
        The output path, its duration (the video's), and the mode used.

    Raises:
        AudioRenderError: missing/unreadable inputs, no video stream, bad output name, ffmpeg missing
            or failing.
    """
    if mode not in ("replace", "mix"):
        raise AudioRenderError(f"unknown mux mode {mode!r} (use replace or mix)")
    out = Path(out_path)
    codec = AUDIO_CODECS.get(out.suffix.lower())
    if codec is None:
        raise AudioRenderError(f"cannot write video {out}: use one of {', '.join(AUDIO_CODECS)}")
    if out.exists() and out.resolve() == Path(video_path).resolve():
        raise AudioRenderError(f"output {out} is the input video (choose another output path)")
    video = probe_video(video_path)
    music = probe_audio(audio_path)
    if mode == "mix" and not video.has_audio:
        log.info("%s has no sound to mix with; replacing", video.path)
        mode = "replace"
    program = shutil.which("ffmpeg")
    if program is None:
        raise AudioRenderError("ffmpeg not found: install it (apt-get install ffmpeg) to put music onto videos")
    graph = build_filter_graph(video, music, mode, music_gain_db, original_gain_db)
    try:
        with atomic_output(out) as tmp:
            command = [
                program, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-i", str(video.path), "-i", str(music.path), "-filter_complex", graph,
                "-map", "0:v:0", "-map", "[aout]", "-map_metadata", "0", "-c:v", "copy",
                "-c:a", codec, "-b:a", "192k", "-ar", str(OUTPUT_RATE), "-ac", "2",
                *(["-movflags", "+faststart"] if out.suffix.lower() in (".mp4", ".m4v", ".mov") else []),
                "-progress", "pipe:1", "-nostats", str(tmp),
            ]
            _run_ffmpeg(command, video.duration_s, callback)
    except SymbolicError as error:
        raise AudioRenderError(str(error)) from None
    return MuxResult(out, video.duration_s, mode)


def _run_ffmpeg(command: list[str], duration: float, callback: Callable[[int, int], None] | None) -> None:
    log.debug("running %s", " ".join(command))
    total = max(1, int(duration * 1000))
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and callback is not None and value.lstrip("-").isdigit():
                callback(min(total, max(0, int(value) // 1000)), total)
        errors = process.stderr.read().strip().splitlines()
        status = process.wait()
    if status != 0:
        raise AudioRenderError(f"ffmpeg failed to mux ({errors[-1] if errors else f'exit {status}'})")
    if callback is not None:
        callback(total, total)
