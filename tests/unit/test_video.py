"""Video: `mobilekit predict clip.mp4 --effect blur --out out.mp4` with EMA smoothing, FPS and flicker."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mobile_kit.effects.temporal import EMA_ALPHA, ProbabilityEMA
from mobile_kit.errors import DatasetError, MobileKitError
from mobile_kit.video import flicker, process_video


def test_ema_matches_its_definition_and_resets_on_size_change():
    ema = ProbabilityEMA(0.25)
    a, b = np.full((2, 2), 1.0, np.float32), np.zeros((2, 2), np.float32)
    assert np.array_equal(ema.update(a), a)
    np.testing.assert_allclose(ema.update(b), 0.75)
    np.testing.assert_allclose(ema.update(b), 0.5625)
    assert ema.update(np.zeros((3, 3))).shape == (3, 3)
    with pytest.raises(ValueError, match="alpha"):
        ProbabilityEMA(0.0)
    assert 0 < EMA_ALPHA <= 1


def test_flicker_is_the_mean_fraction_of_changed_pixels():
    m0 = np.zeros((2, 5), bool)
    m1 = m0.copy()
    m1[0, :] = True  # half the pixels change
    assert flicker([m0, m1, m1]) == pytest.approx(0.25)
    assert flicker([m0]) == 0.0


@pytest.fixture(scope="module")
def jitter_clip(tmp_path_factory):
    """A 16-frame clip of scikit-image's astronaut with camera shake (+-4 px) and sensor noise."""
    from mobile_kit.data.samples import sample_photo

    rng = np.random.default_rng(0)
    base = cv2.resize(sample_photo("astronaut"), (192, 192), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15.0, (160, 160))
    assert w.isOpened()
    for _ in range(16):
        dx, dy = rng.integers(0, 9, 2)
        f = base[dy:dy + 160, dx:dx + 160].astype(np.int16) + rng.normal(0, 12, (160, 160, 3)).astype(np.int16)
        w.write(cv2.cvtColor(np.clip(f, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    w.release()
    return path


@pytest.fixture(scope="module")
def builtin_segmenter():
    from mobile_kit.runtime import load_segmenter

    return load_segmenter(None)


def test_video_blur_writes_every_frame_and_smoothing_reduces_flicker(builtin_segmenter, jitter_clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = process_video(builtin_segmenter, jitter_clip, out, effect="blur")
    cap = cv2.VideoCapture(str(out))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape == (160, 160, 3) and frames == r.frames == 16
    assert r.source_fps == pytest.approx(15.0) and r.processing_fps > 0
    assert 0 < r.flicker_smoothed < r.flicker_raw
    none = process_video(builtin_segmenter, jitter_clip, tmp_path / "raw.mp4", effect="mask", alpha=1.0)
    assert none.flicker_smoothed == pytest.approx(none.flicker_raw)


def test_video_errors_name_the_file(builtin_segmenter, jitter_clip, tmp_path):
    with pytest.raises(MobileKitError, match="expected a video file"):
        process_video(builtin_segmenter, jitter_clip, tmp_path / "out.png")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(DatasetError, match="broken.mp4"):
        process_video(builtin_segmenter, bad, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_cli_predict_dispatches_videos(jitter_clip, tmp_path):
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    out = tmp_path / "out.mp4"
    r = CliRunner().invoke(app, ["predict", str(jitter_clip), "--effect", "blur", "--out", str(out), "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["frames"] == 16 and rep["output"] == str(out) and out.stat().st_size > 1000
    assert rep["flicker_smoothed"] < rep["flicker_raw"]
