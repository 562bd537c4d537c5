"""The feature cache: the second extraction of the same video decodes nothing."""

import shutil

import pytest
from support.video_factory import make_video

from vmm.video import features as features_module
from vmm.video.cache import cache_key, default_cache_dir, file_fingerprint
from vmm.video.clip import ClipEncoder
from vmm.video.features import extract_features


@pytest.fixture
def video(tmp_path):
    return make_video(tmp_path / "clip.mp4", duration=2.0, cuts=[1.0])


def forbid_decoding(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the video was decoded again")

    monkeypatch.setattr(features_module, "VideoReader", fail)


def test_second_extraction_hits_the_cache(tmp_path, video, monkeypatch):
    first = extract_features(video, use_clip=False, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    forbid_decoding(monkeypatch)
    second = extract_features(video, use_clip=False, cache_dir=tmp_path / "cache")
    assert second.cuts == first.cuts and (second.motion == first.motion).all()
    # same content under another name and time stamp: still a hit
    copy = tmp_path / "renamed.mp4"
    shutil.copyfile(video, copy)
    assert extract_features(copy, use_clip=False, cache_dir=tmp_path / "cache").cuts == first.cuts


def test_other_settings_or_content_miss(tmp_path, video, monkeypatch):
    extract_features(video, use_clip=False, cache_dir=tmp_path / "cache")
    calls = []
    original = features_module.VideoReader

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(features_module, "VideoReader", counting)
    extract_features(video, grid_fps=5.0, use_clip=False, cache_dir=tmp_path / "cache")
    other = make_video(tmp_path / "other.mp4", duration=2.0, cuts=[0.5])
    extract_features(other, use_clip=False, cache_dir=tmp_path / "cache")
    extract_features(video, use_clip=False, use_cache=False)
    assert len(calls) == 3


def test_random_clip_weights_are_not_cached(tmp_path, video):
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    model = CLIP(embed_dim=8, vision_cfg=CLIPVisionCfg(layers=1, width=16, head_width=8, patch_size=8, image_size=16),
                 text_cfg=CLIPTextCfg(context_length=4, vocab_size=16, width=8, heads=1, layers=1))
    extract_features(video, clip_model=ClipEncoder(model), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_damaged_cache_entry_is_recomputed(tmp_path, video):
    first = extract_features(video, use_clip=False, cache_dir=tmp_path / "cache")
    entry = next((tmp_path / "cache").glob("*.npz"))
    entry.write_bytes(b"garbage")
    assert extract_features(video, use_clip=False, cache_dir=tmp_path / "cache").cuts == first.cuts


def test_key_depends_on_content_and_settings(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 2_999_999 + b"y")  # differs in the last MiB
    assert file_fingerprint(a) != file_fingerprint(b)
    assert cache_key(a, {"fps": 10}) != cache_key(a, {"fps": 5})


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VMM_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("VMM_CACHE_DIR")
    assert default_cache_dir().parts[-3:] == (".cache", "vmm", "features")
