"""Weights-free features, CLIP embeddings and the .npz format, on small videos the tests make."""

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from support.video_factory import make_not_a_video, make_video

from vmm.cli import main
from vmm.errors import VMMError
from vmm.video.clip import ClipEncoder, load_clip_encoder
from vmm.video.features import VideoFeatures, extract_features

GRID_FPS = 10.0


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    """6 s at 25 fps; cuts at 1.5, 3.3 and 4.7 s (between frames, not on the 10 fps grid)."""
    path = tmp_path_factory.mktemp("videos") / "cuts.mp4"
    return make_video(path, duration=6.0, cuts=[1.5, 3.3, 4.7], speeds=[(0.0, 40.0)])


@pytest.fixture(scope="module")
def cut_features(cut_video):
    return extract_features(cut_video, grid_fps=GRID_FPS, use_clip=False, use_cache=False)


def tiny_clip(seed=0) -> torch.nn.Module:
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(seed)
    return CLIP(embed_dim=16,
                vision_cfg=CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=8, image_size=32),
                text_cfg=CLIPTextCfg(context_length=8, vocab_size=64, width=16, heads=2, layers=1))


def test_grid_and_shapes(cut_features):
    f = cut_features
    assert f.duration == pytest.approx(6.0, abs=0.01)
    assert len(f.times) == 60 and f.times[1] - f.times[0] == pytest.approx(0.1)
    for values in (f.motion, f.impact, f.brightness, f.saturation, f.warmth):
        assert values.shape == (60,) and np.all(np.isfinite(values))
    assert (f.width, f.height) == (160, 120)
    assert f.clip is None and f.clip_times is None


def test_cuts_found_within_one_grid_step(cut_features):
    truth = [1.5, 3.3, 4.7]
    assert len(cut_features.cuts) == len(truth)
    for found, expected in zip(cut_features.cuts, truth, strict=True):
        assert abs(found - expected) <= 1.0 / GRID_FPS


def test_motion_is_not_a_cut(tmp_path):
    """A fast square with no cut: no cut is reported."""
    path = make_video(tmp_path / "fast.mp4", duration=3.0, speeds=[(0.0, 300.0)])
    assert extract_features(path, use_clip=False, use_cache=False).cuts == []


def test_faster_motion_gives_larger_motion(tmp_path):
    path = make_video(tmp_path / "speed.mp4", duration=4.0, speeds=[(0.0, 20.0), (2.0, 80.0)])
    f = extract_features(path, grid_fps=GRID_FPS, use_clip=False, use_cache=False)
    slow = f.motion[(f.times > 0.3) & (f.times < 1.8)]
    fast = f.motion[(f.times > 2.3) & (f.times < 3.8)]
    assert fast.mean() > 2.5 * slow.mean() > 0


def test_still_video_has_no_motion_and_no_beats(tmp_path):
    path = make_video(tmp_path / "still.mp4", duration=2.0, speeds=[(0.0, 0.0)])
    f = extract_features(path, use_clip=False, use_cache=False)
    assert np.all(f.motion < 1e-3)
    assert f.visual_beats == [] and f.cuts == []


def test_visual_beats_follow_a_pulse(tmp_path):
    """The square moves for 0.25 s and stops for 0.25 s: one impact (a stop) every 0.5 s."""
    path = make_video(tmp_path / "pulse.mp4", duration=5.0, speeds=[(0.0, 120.0)], pulse_period=0.5)
    f = extract_features(path, grid_fps=GRID_FPS, use_clip=False, use_cache=False)
    beats = np.asarray(f.visual_beats)
    assert 8 <= len(beats) <= 10
    assert np.median(np.diff(beats)) == pytest.approx(0.5, abs=0.05)
    stops = 0.25 + 0.5 * np.arange(10)
    assert np.all(np.min(np.abs(beats[:, None] - stops[None]), axis=1) <= 1.0 / GRID_FPS + 1e-6)


def test_mood_features_follow_the_colours(cut_features):
    """Shot 0 is dark blue, shot 1 is orange-red: warmth rises across the first cut."""
    f = cut_features
    first, second = (f.times < 1.4), (f.times > 1.7) & (f.times < 3.2)
    assert f.warmth[first].mean() < -0.2 < 0.2 < f.warmth[second].mean()
    assert f.brightness[second].mean() > f.brightness[first].mean()
    assert np.all((f.saturation >= 0) & (f.saturation <= 1))


def test_npz_round_trip(tmp_path, cut_features):
    path = tmp_path / "feats.npz"
    cut_features.save_npz(path)
    back = VideoFeatures.load_npz(path)
    np.testing.assert_array_equal(back.motion, cut_features.motion)
    np.testing.assert_array_equal(back.times, cut_features.times)
    assert back.cuts == cut_features.cuts and back.visual_beats == cut_features.visual_beats
    assert (back.duration, back.fps_grid, back.width, back.height) == (
        cut_features.duration, cut_features.fps_grid, cut_features.width, cut_features.height)
    assert back.clip is None


def test_load_rejects_other_npz(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(VMMError, match="not a features file written by `vmm features`"):
        VideoFeatures.load_npz(tmp_path / "other.npz")


def test_clip_embeddings_with_random_weights(cut_video):
    encoder = ClipEncoder(tiny_clip())
    f = extract_features(cut_video, clip_model=encoder, clip_fps=2.0, use_cache=False)
    assert f.clip.shape == (12, 16) and f.clip_times.tolist() == pytest.approx(np.arange(12) * 0.5)
    np.testing.assert_allclose(np.linalg.norm(f.clip, axis=1), 1.0, rtol=1e-5)
    # frames of the same shot are closer to each other than to frames of another shot
    same = f.clip[0] @ f.clip[1]
    other = f.clip[0] @ f.clip[4]  # 2.0 s: second shot
    assert same > other


def test_no_weights_means_one_notice_and_no_clip(cut_video, caplog, monkeypatch):
    monkeypatch.setattr("vmm.video.clip.find_cached_weights", lambda name: None)
    with caplog.at_level(logging.WARNING):
        f = extract_features(cut_video, use_cache=False)
    notices = [r for r in caplog.records if "CLIP" in r.message]
    assert len(notices) == 1 and "--clip-weights" in notices[0].message
    assert f.clip is None and len(f.cuts) == 3


def test_clip_weights_from_a_local_checkpoint(tmp_path, monkeypatch):
    import json

    import open_clip

    model = tiny_clip(seed=1)
    config = {"embed_dim": 16,
              "vision_cfg": {"layers": 1, "width": 32, "head_width": 16, "patch_size": 8, "image_size": 32},
              "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1}}
    (tmp_path / "vmm-test-tiny.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "vmm-test-tiny.json")
    weights = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), weights)
    encoder = load_clip_encoder("vmm-test-tiny", weights)
    images = np.random.default_rng(0).integers(0, 255, size=(2, 32, 40, 3), dtype=np.uint8)
    expected = torch.nn.functional.normalize(model.eval().encode_image(encoder.preprocess(images)), dim=-1)
    np.testing.assert_allclose(encoder.encode(images), expected.detach().numpy(), atol=1e-5)
    assert encoder.identity.startswith("vmm-test-tiny:file:")


def test_bad_clip_weights_are_user_errors(tmp_path):
    with pytest.raises(VMMError, match="not found"):
        load_clip_encoder("ViT-B-32", tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(VMMError, match="cannot load CLIP weights"):
        load_clip_encoder("ViT-B-32", tmp_path / "junk.pt")
    with pytest.raises(VMMError, match="unknown CLIP model"):
        load_clip_encoder("no-such-model", None)


def test_features_command_writes_npz(tmp_path, cut_video, capsys):
    out = tmp_path / "feats.npz"
    assert main(["features", str(cut_video), "--out", str(out), "--no-clip", "--no-cache"]) == 0
    assert "3 cuts" in capsys.readouterr().out
    assert len(VideoFeatures.load_npz(out).cuts) == 3
    assert main(["features", str(cut_video), "--out", str(out), "--no-clip", "--no-cache"]) == 2
    assert "exists" in capsys.readouterr().err


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    return err[0]


def _bad_npz_files(folder, good):
    """name -> a file that is not a features file, and the words its error must hold."""
    folder.mkdir()
    with open(folder / "pickled.npz", "wb") as handle:  # a pickle, as np.save writes objects
        np.save(handle, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(folder / "objects.npz", times=np.array([None, 1], dtype=object))
    with open(folder / "array.npz", "wb") as handle:
        np.save(handle, np.zeros(3))
    (folder / "truncated.npz").write_bytes(good.read_bytes()[:300])
    (folder / "text.npz").write_text("not an archive\n")
    arrays = dict(np.load(good))
    np.savez(folder / "short_scalars.npz", **{**arrays, "scalars": np.zeros(2)})
    np.savez(folder / "uneven.npz", **{**arrays, "motion": arrays["motion"][:-1]})
    return {
        "pickled.npz": "pickled Python objects", "objects.npz": "pickled Python objects",
        "array.npz": "not an .npz archive", "truncated.npz": "npz", "text.npz": "npz",
        "short_scalars.npz": "do not fit together", "uneven.npz": "motion has",
    }


def test_files_that_are_not_features_give_one_line_that_says_what_to_do(tmp_path, cut_features, capsys):
    good = tmp_path / "good.npz"
    cut_features.save_npz(good)
    cases = _bad_npz_files(tmp_path / "bad", good)
    for name, words in cases.items():
        path = tmp_path / "bad" / name
        with pytest.raises(VMMError, match="not a features file written by `vmm features`") as caught:
            VideoFeatures.load_npz(path)
        assert words in str(caught.value), (name, caught.value)
        assert "allow_pickle" not in str(caught.value)
        assert main(["plan", str(path)]) == 2
        assert "make one with `vmm features" in _one_error_line(capsys)


@pytest.mark.parametrize("case", ["proc", "folder", "input", "suffix", "missing folder"])
def test_features_command_checks_out_before_reading(tmp_path, cut_video, capsys, case):
    video = tmp_path / "victim.mp4"
    video.write_bytes(cut_video.read_bytes())
    before = video.read_bytes()
    if case == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("needs Linux /proc")
        out, words = Path("/proc/f.npz"), "choose another output path"
    elif case == "folder":
        out, words = tmp_path / "taken.npz", "is a folder"
        out.mkdir()
        (out / "keep").write_text("mine")
    elif case == "input":
        out, words = video, "ending in .npz"
    elif case == "suffix":
        out, words = tmp_path / "f.txt", "ending in .npz"
    else:
        out, words = tmp_path / "nowhere" / "f.npz", "does not exist"
    assert main(["features", str(video), "--out", str(out), "--force", "--no-clip", "--no-cache"]) == 2
    assert words in _one_error_line(capsys)
    assert video.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["victim.mp4"] + (["taken.npz"] if case == "folder" else []))
    if case == "folder":
        assert (out / "keep").read_text() == "mine"


def test_an_output_that_is_the_input_is_refused_even_with_force(tmp_path, cut_features):
    from vmm.commands.features import check_new_output

    source = tmp_path / "clip.npz"  # a name that passes the suffix check
    cut_features.save_npz(source)
    with pytest.raises(VMMError, match="is the input file"):
        check_new_output(tmp_path / "." / "clip.npz", True, inputs=[source], suffixes=[".npz"])


def test_not_a_video_fails_before_clip_weights_are_looked_for(tmp_path, caplog, monkeypatch):
    looked = []
    monkeypatch.setattr("vmm.video.clip.find_cached_weights", lambda name: looked.append(name))
    path = make_not_a_video(tmp_path / "text.mp4")
    with caplog.at_level(logging.WARNING), pytest.raises(VMMError, match="cannot read"):
        extract_features(path, use_cache=False)
    assert looked == []
    assert not [r for r in caplog.records if "CLIP" in r.message]
