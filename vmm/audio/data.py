"""Training data for the audio decoder: (video, audio[, MIDI]) pairs in one folder.

Layout (files with the same stem belong together):

    DATA_DIR/
      clip01.mp4    the video (.mp4 .mov .mkv .webm .avi), optional
      clip01.wav    the music (.wav .flac .mp3 .ogg .m4a); without it, the video's own sound track
      clip01.mid    the score of that music (.mid .midi), optional

A stem needs audio (its own file, or a video with sound). `setup` precomputes everything once: the
EnCodec codes of the audio, the video's per-frame features (through `vmm.video`, which caches them),
the score's note-event tokens, and the melody chroma: of the rendered lead line when a MIDI file exists,
else of the audio itself (what MusicGen-melody trains on). Unusable stems are skipped with the reason
logged. Training takes random crops of `segment_seconds`; validation the first segment of each clip.
Train and validation are split by a stable hash of the stem.

The model's config (frame rate, frame counts, feature size) comes from the LightningModule through
`attach` in its `setup`, so it is written once, under `model:` in the YAML.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

from vmm.audio.audio_io import load_audio
from vmm.audio.chroma import chroma_from_audio, score_chroma
from vmm.audio.codec import Codec, load_codec, tiny_codec
from vmm.audio.conditions import AudioConditions, collate
from vmm.audio.config import AudioLMConfig
from vmm.audio.score_stream import ScoreTokens, note_events
from vmm.audio.sources import ClipSources
from vmm.audio.video_stream import FrameFeatures, frame_features
from vmm.errors import VMMError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
MIDI_SUFFIXES = (".mid", ".midi")


@dataclass
class PairFiles:
    stem: str
    audio: Path | None
    video: Path | None
    midi: Path | None


@dataclass
class PreparedClip:
    """One clip, precomputed: codes [K, T] and its raw condition sources."""

    stem: str
    codes: torch.Tensor
    video: FrameFeatures | None
    score: ScoreTokens | None
    chroma: torch.Tensor


def find_pairs(data_dir: Path) -> list[PairFiles]:
    """Group the folder's files by stem (sorted); stems with neither audio nor video are left out."""
    if not data_dir.is_dir():
        raise VMMError(f"audio training folder {data_dir} does not exist (see vmm/audio/data.py for the layout)")
    by_stem: dict[str, PairFiles] = {}
    for path in sorted(data_dir.iterdir()):
        suffix = path.suffix.lower()
        if not path.is_file() or path.name.startswith("."):
            continue
        pair = by_stem.setdefault(path.stem, PairFiles(path.stem, None, None, None))
        if suffix in AUDIO_SUFFIXES:
            pair.audio = path
        elif suffix in VIDEO_SUFFIXES:
            pair.video = path
        elif suffix in MIDI_SUFFIXES:
            pair.midi = path
    return [p for p in by_stem.values() if p.audio is not None or p.video is not None]


def is_validation(stem: str, fraction: float) -> bool:
    """Stable split: the same stem is always on the same side."""
    return zlib.crc32(stem.encode()) % 10_000 < fraction * 10_000


class CropDataset(Dataset):
    """Crops of `segment` codec frames; random starts for training, the first segment otherwise."""

    def __init__(self, clips: list[PreparedClip], config: AudioLMConfig, segment: int, random_crop: bool,
                 crops_per_clip: int = 1) -> None:
        self.clips = clips
        self.sources = [ClipSources(config, c.video, c.score, c.chroma) for c in clips]
        self.segment = segment
        self.random_crop = random_crop
        self.crops_per_clip = crops_per_clip

    def __len__(self) -> int:
        return len(self.clips) * self.crops_per_clip

    def __getitem__(self, index: int):
        clip_index = index % len(self.clips)
        clip = self.clips[clip_index]
        room = clip.codes.shape[-1] - self.segment
        start = int(torch.randint(0, room + 1, ())) if self.random_crop and room > 0 else 0
        end = start + self.segment
        return clip.codes[:, start:end], self.sources[clip_index].window(start, end)


def collate_crops(items) -> tuple[torch.Tensor, AudioConditions]:
    codes = torch.stack([codes for codes, _ in items])
    return codes, collate([inputs for _, inputs in items], codes.shape[-1])


class AudioDataModule(pl.LightningDataModule):
    """(video, audio[, MIDI]) pairs for the audio decoder.

    Args:
        data_dir: the pairs folder (layout in the module docstring).
        codec: "tiny" (random small codec, tests only) or a folder with EnCodec weights
            (config.json + model.safetensors, e.g. facebook/encodec_32khz).
        segment_seconds: crop length.
        batch_size, num_workers: loader settings.
        val_fraction: share of stems for validation (stable hash).
        crops_per_clip: training crops per clip and epoch.
        melody_renderer: "synth" or "soundfont", for the lead line of clips with a MIDI file.
        clip_weights: local open_clip checkpoint; used only when the model expects CLIP features.
        device: where the codec encodes ("cpu" or "cuda").
    """

    def __init__(self, data_dir: str, codec: str = "tiny", segment_seconds: float = 10.0, batch_size: int = 8,
                 num_workers: int = 0, val_fraction: float = 0.1, crops_per_clip: int = 1,
                 melody_renderer: Literal["synth", "soundfont"] = "synth", clip_weights: str | None = None,
                 device: str = "cpu") -> None:
        super().__init__()
        if segment_seconds <= 0 or batch_size <= 0 or crops_per_clip <= 0:
            raise ValueError(f"segment_seconds, batch_size and crops_per_clip must be > 0, got "
                             f"{segment_seconds}, {batch_size}, {crops_per_clip}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.data_dir = Path(data_dir)
        self.codec_spec = codec
        self.segment_seconds = segment_seconds
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_fraction = val_fraction
        self.crops_per_clip = crops_per_clip
        self.melody_renderer = melody_renderer
        self.clip_weights = clip_weights
        self.device = device
        self.config: AudioLMConfig | None = None
        self.codec: Codec | None = None
        self.train_clips: list[PreparedClip] = []
        self.val_clips: list[PreparedClip] = []

    def attach(self, config: AudioLMConfig) -> None:
        """Receive the model's config (called by `AudioLightningModule.setup`) and precompute the data."""
        self.config = config
        self._prepare()

    def setup(self, stage: str | None = None) -> None:
        """Nothing to do before the model attaches its config (see `attach`)."""

    def load_codec(self) -> Codec:
        if self.codec is None:
            self.codec = tiny_codec() if self.codec_spec == "tiny" else load_codec(self.codec_spec)
            self.codec.to(self.device)
        return self.codec

    def _prepare(self) -> None:
        if self.train_clips or self.val_clips:
            return
        from vmm.audio.artefact import check_codec_matches

        codec = self.load_codec()
        check_codec_matches(self.config, codec)
        segment = self.segment_frames
        for pair in find_pairs(self.data_dir):
            try:
                clip = self.prepare_clip(pair)
            except (VMMError, ValueError, RuntimeError) as error:
                log.warning("skipping %s: %s", pair.stem, error)
                continue
            if clip.codes.shape[-1] < segment:
                log.warning("skipping %s: %.1f s is shorter than a %.1f s segment", pair.stem,
                            clip.codes.shape[-1] / self.config.frame_rate, self.segment_seconds)
                continue
            (self.val_clips if is_validation(pair.stem, self.val_fraction) else self.train_clips).append(clip)
        if not self.train_clips:
            raise VMMError(f"no usable training pairs in {self.data_dir}: each stem needs audio at least "
                           f"{self.segment_seconds} s long (see vmm/audio/data.py for the layout)")
        log.info("audio data: %d train, %d validation clips", len(self.train_clips), len(self.val_clips))

    @property
    def segment_frames(self) -> int:
        return max(1, round(self.segment_seconds * self.config.frame_rate))

    def prepare_clip(self, pair: PairFiles) -> PreparedClip:
        """Encode the audio and read the clip's condition sources."""
        codec, config = self.load_codec(), self.config
        wav = load_audio(pair.audio or pair.video, codec.sample_rate)
        if wav.numel() == 0:
            raise VMMError("the audio is empty")
        codes = codec.encode_long(wav[None, None].to(codec.device))[0].cpu()
        num_frames = codes.shape[-1]
        video = None
        if pair.video is not None:
            from vmm.video.features import extract_features

            features = extract_features(pair.video, clip_weights=self.clip_weights, use_clip=config.clip_dim > 0)
            video = frame_features(features, config.clip_dim)
        score = None
        if pair.midi is not None:
            from symbolic.midi_io import read_score

            midi = read_score(pair.midi)
            score = note_events(midi)
            chroma = score_chroma(midi, config.frame_rate, num_frames, self.melody_renderer)
        else:
            chroma = chroma_from_audio(wav.numpy(), codec.sample_rate, config.frame_rate, num_frames)
        return PreparedClip(pair.stem, codes, video, score, chroma)

    def _loader(self, clips: list[PreparedClip], train: bool) -> DataLoader:
        if self.config is None:
            raise RuntimeError("AudioDataModule needs the model's config first (AudioLightningModule.setup attaches it)")
        dataset = CropDataset(clips, self.config, self.segment_frames, random_crop=train,
                              crops_per_clip=self.crops_per_clip if train else 1)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=train, num_workers=self.num_workers,
                          collate_fn=collate_crops, drop_last=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_clips, train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(self.val_clips, train=False) if self.val_clips else []

