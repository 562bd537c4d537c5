"""The audio language model's configuration: one flat, typed dataclass (run settings live elsewhere).

`tiny` builds a model of a few hundred thousand parameters for tests, `small` a CPU-trainable one,
`musicgen_small` matches facebook/musicgen-small's decoder so its weights load into ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from transformers import MusicgenDecoderConfig

STREAMS = ("video", "score", "chroma")
BASE_VIDEO_FEATURES = 7  # weights-free values per video frame (vmm.audio.video_stream.BASE_FEATURES)
FUSE_MODES = ("cross", "sum")


def default_fuse() -> dict[str, list[str]]:
    return {"cross": ["video", "score"], "sum": ["chroma"]}


@dataclass
class AudioLMConfig:
    """Decoder over patterned EnCodec codes, plus the encoders of its three condition streams.

    Decoder (MusicGen's, built by transformers):
        hidden_size, num_layers, num_heads, ffn_dim, dropout: the transformer decoder.
        num_codebooks, codebook_size: must match the codec (4 and 2048 for EnCodec 32 kHz).
        pattern: "delay" ([0, 1, 2, 3], MusicGen) or "parallel".
        frame_rate: codec frames per second (50 for EnCodec 32 kHz).
    Video stream (VidMuse-style long-term / short-term module):
        video_feature_dim: size of one frame's feature vector: 7 weights-free values + the CLIP
            embedding size (0, or 512 for ViT-B/32); see `vmm.audio.video_stream`.
        video_width, video_layers, video_heads: the two small transformer encoders and their fusion.
        long_frames: frames sampled evenly across the whole video for the long-term stream.
        short_fps: frames per second of the current window for the short-term stream.
    Score stream:
        score_vocab_size: note-event vocabulary (`vmm.audio.score_stream.NOTE_VOCAB_SIZE`).
        max_score_tokens: tokens of one window kept in the cross-attention memory.
    Fusion:
        fuse: which streams enter the cross-attention memory ("cross") and which are added to the
            decoder's step embeddings frame by frame ("sum"); audiocraft's ConditionFuser map.
        cross_pos_scale: weight of the sinusoidal frame position added to cross-attention memory, so
            the decoder can tell when a condition happens.
    """

    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ffn_dim: int = 128
    dropout: float = 0.0
    num_codebooks: int = 4
    codebook_size: int = 64
    pattern: Literal["delay", "parallel"] = "delay"
    frame_rate: float = 50.0
    max_positions: int = 2048
    video_feature_dim: int = 7
    video_width: int = 32
    video_layers: int = 1
    video_heads: int = 2
    long_frames: int = 16
    short_fps: float = 2.0
    score_vocab_size: int = 4353
    max_score_tokens: int = 1024
    fuse: dict[str, list[str]] = field(default_factory=default_fuse)
    cross_pos_scale: float = 1.0

    def __post_init__(self) -> None:
        positive = ("hidden_size", "num_layers", "num_heads", "ffn_dim", "num_codebooks", "codebook_size",
                    "max_positions", "video_feature_dim", "video_width", "video_layers", "video_heads",
                    "long_frames", "score_vocab_size", "max_score_tokens")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.video_feature_dim < BASE_VIDEO_FEATURES:
            raise ValueError(f"video_feature_dim must be >= {BASE_VIDEO_FEATURES}, got {self.video_feature_dim}")
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if self.video_width % self.video_heads:
            raise ValueError(f"video_width {self.video_width} is not divisible by video_heads {self.video_heads}")
        if self.pattern not in ("delay", "parallel"):
            raise ValueError(f"pattern must be 'delay' or 'parallel', got {self.pattern!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.frame_rate <= 0 or self.short_fps <= 0:
            raise ValueError(f"frame_rate and short_fps must be > 0, got {self.frame_rate}, {self.short_fps}")
        self._check_fuse()

    def _check_fuse(self) -> None:
        seen: list[str] = []
        for mode, names in self.fuse.items():
            if mode not in FUSE_MODES:
                raise ValueError(f"fuse mode {mode!r} is not one of {FUSE_MODES}")
            for name in names:
                if name not in STREAMS:
                    raise ValueError(f"fuse stream {name!r} is not one of {STREAMS}")
                if mode == "sum" and name != "chroma":
                    raise ValueError(f"only frame-aligned streams can be summed; {name!r} must be 'cross'")
                seen.append(name)
        if len(seen) != len(set(seen)):
            raise ValueError(f"a stream appears twice in fuse {self.fuse}")

    @property
    def clip_dim(self) -> int:
        """Size of the CLIP embeddings the video stream expects (0: none)."""
        return self.video_feature_dim - BASE_VIDEO_FEATURES

    @property
    def special_token(self) -> int:
        """The pattern's empty-cell / start token: one past the last code (MusicGen's pad id)."""
        return self.codebook_size

    def streams(self) -> list[str]:
        """Condition streams the model uses, in fuse order."""
        return [name for names in self.fuse.values() for name in names]

    def decoder_config(self) -> MusicgenDecoderConfig:
        return MusicgenDecoderConfig(
            vocab_size=self.codebook_size,
            max_position_embeddings=self.max_positions,
            num_hidden_layers=self.num_layers,
            ffn_dim=self.ffn_dim,
            num_attention_heads=self.num_heads,
            hidden_size=self.hidden_size,
            dropout=self.dropout,
            num_codebooks=self.num_codebooks,
            pad_token_id=self.special_token,
            bos_token_id=self.special_token,
            activation_function="gelu",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioLMConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown audio model config keys {unknown}")
        return cls(**data)


def preset(name: str) -> AudioLMConfig:
    """`tiny` (tests), `small` (CPU training, benchmarks) or `musicgen_small` (facebook/musicgen-small's decoder)."""
    if name == "tiny":
        return AudioLMConfig()
    if name == "small":
        return AudioLMConfig(hidden_size=256, num_layers=6, num_heads=8, ffn_dim=1024, codebook_size=2048,
                             video_width=128, video_layers=2, video_heads=4, long_frames=32, dropout=0.1)
    if name == "musicgen_small":
        return AudioLMConfig(hidden_size=1024, num_layers=24, num_heads=16, ffn_dim=4096, codebook_size=2048,
                             video_feature_dim=BASE_VIDEO_FEATURES + 512, video_width=256, video_layers=2, video_heads=8, long_frames=32, dropout=0.1)
    raise ValueError(f"unknown audio model preset {name!r} (use tiny, small or musicgen_small)")
