"""MediaPipe Tasks as a real client: the built-in model's TFLite exports load unmodified in its ImageSegmenter.

MediaPipe resizes and normalises photos itself; to compare model outputs
exactly, each photo is first resized to the model's input size (256x256), so
MediaPipe does no resizing and both runtimes see the same pixels. MediaPipe then
applies the NormalizationOptions written in the model's TFLite metadata (float
inputs) or feeds raw pixels (uint8 inputs).
"""
from pathlib import Path

import cv2
import numpy as np
import pytest

from mobile_kit.export import export_model
from mobile_kit.runtime import load_segmenter
from tests.conftest import MEDIAPIPE, SHARED

pytestmark = pytest.mark.slow
mp = pytest.importorskip("mediapipe", reason="mediapipe==1.2.2 not installed (.ci/run installs it with --no-deps)")

#: Bounds from the issue: fp32 must match MediaPipe to float rounding; fp16 and uint8 run other kernels there.
FP32_MAX_ABS_VS_MEDIAPIPE = 1e-4
MIN_MASK_IOU_VS_MEDIAPIPE = 0.99
PORTRAITS = SHARED / "photos" / "portrait-tests"


def photos(n: int = 4) -> tuple[list[np.ndarray], str]:
    """Real photos of people: ../shared/photos/portrait-tests when present, else scikit-image's astronaut."""
    from mobile_kit.data.dataset import load_image
    from mobile_kit.data.samples import sample_photo

    files = sorted(p for p in PORTRAITS.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:n] \
        if PORTRAITS.is_dir() else []
    if files:
        return [load_image(p) for p in files], str(PORTRAITS)
    return [sample_photo("astronaut")], "scikit-image astronaut"


def mediapipe_masks(model: Path, image: np.ndarray) -> list[np.ndarray]:
    """MediaPipe Tasks' ImageSegmenter on one RGB uint8 photo: one float32 confidence mask per class."""
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                        output_confidence_masks=True, output_category_mask=False)
    with vision.ImageSegmenter.create_from_options(opts) as seg:
        res = seg.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image)))
        return [np.array(m.numpy_view(), np.float32).reshape(m.height, m.width) for m in res.confidence_masks]


@pytest.fixture(scope="session")
def builtin_exports(tmp_path_factory):
    """The built-in model exported once per session: fp32, fp16 and int8 with uint8 I/O."""
    root = tmp_path_factory.mktemp("mediapipe_exports")
    return {name: export_model(None, target, root / name, **kw) for name, target, kw in (
        ("fp32", "tflite-fp32", {}), ("fp16", "tflite-fp16", {}), ("uint8", "tflite-int8", {"int8_io": "uint8"}))}


def _compare(result) -> dict:
    ours = load_segmenter(result.artifact, num_threads=2)
    spec, person = ours.input_spec, ours.output_spec.foreground_index
    imgs, _ = photos()
    worst, inter, union = 0.0, 0, 0
    for img in imgs:
        img = cv2.resize(img, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
        theirs = mediapipe_masks(result.artifact, img)[person]
        p = ours.probability(img, full_resolution=False)
        assert theirs.shape == p.shape == spec.input_hw
        worst = max(worst, float(np.abs(theirs - p).max()))
        a, b = theirs > ours.output_spec.threshold, p > ours.output_spec.threshold
        inter, union = inter + int((a & b).sum()), union + int((a | b).sum())
    return {"max_abs": worst, "mask_iou": inter / max(union, 1), "n": len(imgs)}


def test_fp32_export_matches_mediapipe(builtin_exports):
    r = _compare(builtin_exports["fp32"])
    assert r["max_abs"] <= FP32_MAX_ABS_VS_MEDIAPIPE, r


@pytest.mark.parametrize("name", ["fp16", "uint8"])
def test_fp16_and_uint8_exports_match_mediapipe_masks(builtin_exports, name):
    assert builtin_exports[name].warnings == []
    r = _compare(builtin_exports[name])
    assert r["mask_iou"] >= MIN_MASK_IOU_VS_MEDIAPIPE, r


def test_int8_input_is_refused_by_mediapipe_and_export_warns(tiny_run, tmp_path):
    r = export_model(tiny_run, "tflite-int8", tmp_path / "i8", num_calibration=4, skip_parity=True)
    assert any("--int8-io uint8" in w for w in r.warnings)
    with pytest.raises(Exception, match="uint8/float32"):  # MediaPipe's own message; the type varies by version
        mediapipe_masks(r.artifact, np.zeros((32, 32, 3), np.uint8))


def test_a_float_tflite_without_normalization_metadata_is_refused(tiny_run, tmp_path):
    """The failure users meet: a plain converter output (no metadata) does not load in MediaPipe Tasks."""
    import tensorflow as tf

    from mobile_kit.runtime import load_keras_model

    plain = tmp_path / "plain.tflite"
    plain.write_bytes(tf.lite.TFLiteConverter.from_keras_model(load_keras_model(tiny_run / "model.keras")).convert())
    with pytest.raises(Exception, match="NormalizationOptions"):
        mediapipe_masks(plain, np.zeros((32, 32, 3), np.uint8))


def test_mediapipe_selfie_model_loads_through_the_same_helper():
    """Control: Google's own selfie model goes through the same helper."""
    if not MEDIAPIPE.exists():
        pytest.skip(f"{MEDIAPIPE} not found: peer models live in ../shared")
    img = cv2.resize(photos(1)[0][0], (256, 256), interpolation=cv2.INTER_AREA)
    masks = mediapipe_masks(MEDIAPIPE, img)
    assert len(masks) == 1 and masks[0].shape == (256, 256)
    assert 0.0 <= masks[0].min() and masks[0].max() <= 1.0 and masks[0].max() > 0.5  # a person is found
