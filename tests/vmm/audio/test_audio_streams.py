"""Condition streams: video features adapter and LST module, score note events, fuser, collation."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from symusic import Note, Score, Track

from vmm.audio.conditions import WindowInputs, collate
from vmm.audio.config import AudioLMConfig
from vmm.audio.fuser import ConditionFuser
from vmm.audio.layers import Condition
from vmm.audio.score_stream import DRUM_FAMILY, NOTE_VOCAB_SIZE, ScoreEncoder, note_events, note_token
from vmm.audio.sources import ClipSources
from vmm.audio.video_stream import (
    VideoModule,
    feature_dim,
    frame_features,
    long_term_frames,
    short_term_frames,
)
from vmm.errors import VMMError


def fake_features(clip=None, clip_times=None, n=40):
    times = np.arange(n) / 10.0
    return SimpleNamespace(times=times, motion=np.linspace(0, 9, n), impact=np.zeros(n), cuts=[1.0, 2.55],
                           brightness=np.full(n, 0.5), saturation=np.full(n, 0.2), warmth=np.full(n, -0.1),
                           clip=clip, clip_times=clip_times, duration=4.0)


def test_frame_features_without_and_with_clip():
    frames = frame_features(fake_features(), clip_dim=0)
    assert frames.values.shape == (40, feature_dim(0)) == (40, 7)
    assert frames.values[:, 2].nonzero().flatten().tolist() == [10, 26]  # cuts at 1.0 s and 2.55 s
    assert torch.allclose(frames.values[-1, 0], torch.log1p(torch.tensor(9.0)))
    assert torch.all(frames.values[:, 6] == 0)  # has_clip
    padded = frame_features(fake_features(), clip_dim=4)  # a CLIP model read without CLIP weights
    assert padded.values.shape == (40, 11) and torch.all(padded.values[:, 7:] == 0)
    clip = np.eye(4, dtype=np.float32)
    with_clip = frame_features(fake_features(clip, np.array([0.0, 1.0, 2.0, 3.0])), clip_dim=4)
    assert torch.all(with_clip.values[:, 6] == 1)
    assert torch.equal(with_clip.values[12, 7:], torch.tensor([0.0, 1, 0, 0]))  # 1.2 s -> nearest 1.0 s
    with pytest.raises(VMMError, match="CLIP embeddings have 4 dims"):
        frame_features(fake_features(clip, np.arange(4.0)), clip_dim=8)


def test_long_and_short_term_frame_selection():
    frames = frame_features(fake_features(), clip_dim=0)
    long = long_term_frames(frames, 8)
    assert long.shape == (8, 7)
    assert torch.allclose(long[:, 0], frames.at(torch.tensor([0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75]))[:, 0])
    values, positions = short_term_frames(frames, 1.0, 2.0, fps=2.0, frame_rate=50.0)
    assert values.shape == (2, 7)
    assert positions.tolist() == [12.5, 37.5]  # 1.25 s and 1.75 s on the window's 50 Hz grid
    values, positions = short_term_frames(frames, 3.5, 5.0, fps=2.0, frame_rate=50.0)
    assert positions.tolist() == [12.5]  # the video ends at 4 s
    assert short_term_frames(frames, 4.5, 6.0, 2.0, 50.0)[0].shape == (0, 7)


def test_video_module_shapes_and_empty_rows():
    torch.manual_seed(0)
    module = VideoModule(7, 16, 1, 2, out_dim=24, short_scale=0.04)
    inputs = [WindowInputs(video_long=torch.randn(8, 7), video_short=torch.randn(3, 7),
                           video_short_frames=torch.tensor([10.0, 35, 60])),
              WindowInputs(video_long=torch.randn(8, 7), video_short=torch.zeros(0, 7),
                           video_short_frames=torch.zeros(0))]
    cond = collate(inputs, 75)
    out = module(cond.video_long, cond.video_long_mask, cond.video_short, cond.video_short_frames, cond.video_short_mask)
    assert out.x.shape == (2, 3, 24)
    assert torch.isfinite(out.x).all()
    assert torch.all(out.x[1] == 0) and not out.mask[1].any()
    # the short-term stream queries the long-term one: changing the whole-video frames changes the output
    other = module(torch.randn_like(cond.video_long), cond.video_long_mask, cond.video_short,
                   cond.video_short_frames, cond.video_short_mask)
    assert not torch.allclose(out.x[0], other.x[0])


def test_note_events_order_and_vocabulary():
    score = Score(1000, "second")
    piano = Track(name="p", program=1, ttype="second")
    piano.notes.extend([Note(0.0, 0.5, 60, 90, ttype="second"), Note(0.5, 0.5, 62, 90, ttype="second")])
    drums = Track(name="d", program=0, is_drum=True, ttype="second")
    drums.notes.append(Note(0.25, 0.1, 36, 100, ttype="second"))
    score.tracks.extend([piano, drums])
    tokens = note_events(score)
    assert tokens.ids.tolist() == [note_token(0, 60, False), note_token(DRUM_FAMILY, 36, False),
                                   note_token(DRUM_FAMILY, 36, True), note_token(0, 60, True),
                                   note_token(0, 62, False), note_token(0, 62, True)]
    assert torch.allclose(tokens.times, torch.tensor([0.0, 0.25, 0.35, 0.5, 0.5, 1.0]))
    assert int(tokens.ids.max()) < NOTE_VOCAB_SIZE and int(tokens.ids.min()) > 0
    ids, frames = tokens.window(0.5, 1.0, 50.0, max_tokens=10)
    assert ids.tolist() == [note_token(0, 60, True), note_token(0, 62, False)] and frames.tolist() == [0, 0]
    ids, _ = tokens.window(0.0, 2.0, 50.0, max_tokens=2)
    assert len(ids) == 2
    cond = ScoreEncoder(NOTE_VOCAB_SIZE, 8)(torch.tensor([[5, 0]]), torch.tensor([[3.0, 0.0]]))
    assert cond.mask.tolist() == [[True, False]] and torch.all(cond.x[0, 1] == 0)


def test_fuser_routes_streams_by_the_map():
    fuser = ConditionFuser({"cross": ["video", "score"], "sum": ["chroma"]}, width=8, pos_scale=1.0)
    ones = torch.ones(2, 3, dtype=torch.bool)
    streams = {"video": Condition(torch.ones(2, 3, 8), ones, torch.zeros(2, 3)),
               "score": Condition(torch.ones(2, 2, 8), torch.tensor([[True, False], [True, True]]), torch.zeros(2, 2)),
               "chroma": Condition(torch.full((2, 5, 8), 2.0), torch.ones(2, 5, dtype=torch.bool),
                                   torch.arange(5.0).expand(2, 5))}
    keep = {"score": torch.tensor([True, False])}
    fused = fuser(streams, batch=2, num_frames=5, keep=keep)
    assert fused.memory.shape == (2, 1 + 3 + 2, 8)
    assert fused.memory_mask.tolist() == [[True, True, True, True, True, False], [True, True, True, True, False, False]]
    assert torch.all(fused.memory[:, 0] == 0)  # the always-present null slot
    assert torch.all(fused.memory[~fused.memory_mask] == 0)
    assert fused.step_sum.shape == (2, 5, 8) and torch.all(fused.step_sum == 2.0)
    assert fused.steps(3, 4)[:, 2:].abs().sum() == 0  # past the last frame the sum is zero


def test_clip_sources_cut_windows_consistently():
    config = AudioLMConfig()
    frames = frame_features(fake_features(), clip_dim=0)
    score = note_events(Score(480))
    sources = ClipSources(config, video=frames, score=score, chroma=torch.eye(12)[torch.arange(200) % 12])
    window = sources.window(50, 150)  # 1 s to 3 s
    assert torch.equal(window.video_long, sources.long_term) and window.video_long.shape == (16, 7)
    assert window.video_short.shape == (4, 7) and window.video_short_frames.tolist() == [12.5, 37.5, 62.5, 87.5]
    assert torch.equal(window.chroma, torch.eye(12)[torch.arange(50, 150) % 12])
    assert window.score_ids.numel() == 0
    with pytest.raises(ValueError, match="expects 7"):
        ClipSources(config, video=frame_features(fake_features(), clip_dim=3))
