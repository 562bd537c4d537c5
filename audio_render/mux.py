"""Put rendered music onto a video: replace its sound or mix under it, copying the picture where it can.

`ffprobe` measures the inputs (how long the video really is, where it starts, whether it has
sound, its picture codec); the `ffmpeg` program does the muxing: `-c:v copy` copies the video
packets bit for bit (with their side data, e.g. the rotation matrix). A picture codec the output
container cannot hold or players do not expect there (a GIF, or MJPEG/PNG/ProRes in .mp4) is
re-encoded instead (H.264 yuv420p, or VP9 for .webm), and the log says so. One filter graph
prepares the new sound:

    music:    [1:a] -> 48 kHz stereo -> gain -> cut at the video's end (+ fade) -> pad with silence
    original: [0:a] -> 48 kHz stereo, start aligned -> gain -> cut -> pad        (mix mode only)
    mix:      amix(normalize=0) -> alimiter under the peak ceiling

so the sound lasts exactly as long as the video (to the AAC frame; the container's edit list holds
the rest), and the music starts with the first frame even where the video starts after the file.
The ffmpeg program is used rather than PyAV's muxer because a stream copy must carry codec tags,
side data and edit lists that PyAV does not copy; `make setup` installs ffmpeg.
"""

from __future__ import annotations

import json
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
# Picture codecs copied as they are into each container (they mux, and players expect them there);
# None means any codec but those in NEVER_COPIED. Others are re-encoded with PICTURE_ENCODERS.
_MP4_PICTURES = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})
COPIED_PICTURES: dict[str, frozenset[str] | None] = {
    ".mp4": _MP4_PICTURES, ".m4v": _MP4_PICTURES,
    ".mov": _MP4_PICTURES | {"prores", "mjpeg", "png", "qtrle", "dnxhd", "mpeg2video"},
    ".mkv": None, ".webm": frozenset({"vp8", "vp9", "av1"}),
}
NEVER_COPIED = frozenset({"gif"})  # an animation format: every player expects a video codec in a video file
PICTURE_ENCODERS = {  # suffix -> ffmpeg options that re-encode the picture
    ".webm": ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", "32", "-deadline", "realtime",
              "-cpu-used", "8"),
}
H264_ENCODER = ("-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p")
EVEN_SIZE = "pad=ceil(iw/2)*2:ceil(ih/2)*2"  # 4:2:0 needs an even width and height: add a black line
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
    start_s: float = 0.0  # where the video starts after the file's start (ffmpeg's output time 0)
    video_codec: str | None = None  # ffprobe's codec_name of the first video stream

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class MuxResult:
    path: Path
    duration_s: float  # the video's duration, which the new sound matches
    mode: MuxMode  # the mode used ("replace" when "mix" met a silent video)


def _ffprobe(path: Path, *options: str, what: str = "video") -> str:
    program = shutil.which("ffprobe")
    if program is None:
        raise AudioRenderError("ffprobe not found: install ffmpeg (apt-get install ffmpeg) to put music onto videos")
    result = subprocess.run([program, "-v", "error", *options, str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        reason = lines[-1].replace(f"{path}: ", "") if lines else f"ffprobe exit {result.returncode}"
        raise AudioRenderError(f"cannot read {what} {path}: {reason}")
    return result.stdout


def _streams_and_start(path: Path) -> tuple[list[dict], float]:
    """The file's streams and its start time, as the ffmpeg program sees them."""
    info = json.loads(_ffprobe(path, "-show_entries", "format=start_time,duration:stream=index,codec_type,"
                                     "codec_name,time_base,avg_frame_rate,duration", "-of", "json"))
    start = info.get("format", {}).get("start_time")
    return info.get("streams", []), float(start) if start not in (None, "N/A") else 0.0


def probe_video(path: str | os.PathLike) -> MediaInfo:
    """Measure a video from its packets (headers are often missing or wrong), with ffprobe.

    ffprobe rather than PyAV: the ffmpeg program that muxes must agree on the file's start time, and
    PyAV bundles other FFmpeg libraries that can read it differently (e.g. Matroska audio priming).

    Raises:
        AudioRenderError: missing, unreadable, or without a video stream.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioRenderError(f"video not found: {path} (check the path)")
    streams, file_start = _streams_and_start(path)
    videos = [s for s in streams if s.get("codec_type") == "video"]
    if not videos:
        raise AudioRenderError(f"{path} has no video stream (give a video file)")
    time_base = Fraction(videos[0].get("time_base", "1/90000"))
    rate = videos[0].get("avg_frame_rate", "0/0")
    frame_rate = Fraction(rate) if rate.partition("/")[2] not in ("", "0") and Fraction(rate) > 0 else Fraction(25)
    frame_ticks = max(1, round(1 / (frame_rate * time_base)))  # for packets without a duration
    first = end = None
    packets = _ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts,duration", "-of", "csv=p=0")
    for line in packets.split():
        pts, _, duration = line.partition(",")
        if not pts.lstrip("-").isdigit():
            continue
        pts_value = int(pts)
        stop = pts_value + (int(duration) if duration.isdigit() and int(duration) > 0 else frame_ticks)
        first = pts_value if first is None else min(first, pts_value)
        end = stop if end is None else max(end, stop)
    if first is None:
        raise AudioRenderError(f"{path} has a video stream without frames")
    duration_s = float((end - first) * time_base)
    start_s = max(0.0, float(first * time_base) - file_start)  # ffmpeg shifts all streams by the file start
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return MediaInfo(path, duration_s, True, has_audio, start_s=start_s, video_codec=videos[0].get("codec_name"))


def picture_copied(codec: str | None, suffix: str) -> bool:
    """Whether a picture in `codec` is copied as it is into a file with `suffix` (else re-encoded)."""
    if codec is None or codec in NEVER_COPIED:
        return False
    allowed = COPIED_PICTURES.get(suffix.lower(), frozenset())
    return allowed is None or codec in allowed


def picture_options(video: MediaInfo, suffix: str) -> list[str]:
    """ffmpeg options for the output's picture: a stream copy, or a re-encode (logged)."""
    if picture_copied(video.video_codec, suffix):
        return ["-c:v", "copy"]
    encoder = PICTURE_ENCODERS.get(suffix.lower(), H264_ENCODER)
    log.info("the %s picture of %s cannot be copied into %s: re-encoding it (%s, yuv420p)",
             video.video_codec or "unknown", video.path.name, suffix, encoder[1])
    # Each frame keeps its own time (a GIF's frames last as long as they say), at an even size.
    return [*encoder, "-vf", EVEN_SIZE, "-vsync", "passthrough"]


def probe_audio(path: str | os.PathLike) -> MediaInfo:
    """Check that `path` holds sound and measure it."""
    path = Path(path)
    if not path.is_file():
        raise AudioRenderError(f"audio not found: {path} (check the path)")
    info = json.loads(_ffprobe(path, "-show_entries", "format=duration:stream=codec_type", "-of", "json",
                               what="audio"))
    if not any(s.get("codec_type") == "audio" for s in info.get("streams", [])):
        raise AudioRenderError(f"{path} has no audio stream (give a .wav or .flac file)")
    duration = info.get("format", {}).get("duration")
    return MediaInfo(path, float(duration) if duration not in (None, "N/A") else 0.0, False, True)


def _music_chain(music: MediaInfo, video: MediaInfo, gain_db: float) -> str:
    end = video.end_s
    chain = [f"aresample={OUTPUT_RATE}", "aformat=sample_fmts=fltp:channel_layouts=stereo",
             f"volume={gain_db:.3f}dB"]
    delay = int(round(video.start_s * OUTPUT_RATE))
    if delay > 0:  # the music starts with the first frame, not with the file
        chain.append(f"adelay=delays={delay}S:all=1")
    chain.append(f"atrim=end={end:.6f}")
    if music.duration_s > video.duration_s + 1e-3:  # cut: fade so it does not stop mid-note with a click
        fade = min(FADE_SECONDS, video.duration_s / 4)
        chain.append(f"afade=t=out:st={end - fade:.6f}:d={fade:.6f}")
    chain.append(f"apad=whole_dur={end:.6f}")
    return "[1:a:0]" + ",".join(chain)


def build_filter_graph(video: MediaInfo, music: MediaInfo, mode: MuxMode, music_gain_db: float,
                       original_gain_db: float) -> str:
    """The ffmpeg `-filter_complex` graph whose output `[aout]` is the new sound.

    Output time 0 is the input file's start; the sound runs from there to the end of the video.
    """
    end = video.end_s
    music_chain = _music_chain(music, video, music_gain_db)
    if mode == "replace":
        # Reading (and dropping) the original sound keeps ffmpeg's time origin at the file's start,
        # as in mix mode; with the video alone some demuxers (MPEG-TS) start at the video instead.
        return music_chain + "[aout]" + (";[0:a:0]anullsink" if video.has_audio else "")
    original = ("[0:a:0]" + ",".join([
        f"aresample={OUTPUT_RATE}:async=1:first_pts=0",  # silence where the sound starts late
        "aformat=sample_fmts=fltp:channel_layouts=stereo",
        f"volume={original_gain_db:.3f}dB", f"atrim=end={end:.6f}", f"apad=whole_dur={end:.6f}",
    ]))
    limit = 10 ** (PEAK_CEILING_DB / 20)
    return (f"{original}[orig];{music_chain}[music];"
            f"[orig][music]amix=inputs=2:duration=first:normalize=0,"
            f"alimiter=limit={limit:.4f}:level=0:latency=1,atrim=end={end:.6f}[aout]")


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
        video_path: any video FFmpeg reads; its first video stream is copied, or re-encoded when
            its codec does not belong in the output container (`picture_copied`), e.g. a GIF.
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
                "-map", "0:v:0", "-map", "[aout]", "-map_metadata", "0", *picture_options(video, out.suffix),
                "-c:a", codec, "-b:a", "192k", "-ar", str(OUTPUT_RATE), "-ac", "2",
                *(["-movflags", "+faststart"] if out.suffix.lower() in (".mp4", ".m4v", ".mov") else []),
                "-progress", "pipe:1", "-nostats", str(tmp),
            ]
            _run_ffmpeg(command, video.end_s, callback)
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
