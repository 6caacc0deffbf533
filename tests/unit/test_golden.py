"""Golden vectors (mobile_kit/export/golden.py): the pinned algorithms equal what the Python pipeline computes."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mobile_kit.errors import ModelError
from mobile_kit.export.golden import (
    GoldenPhoto,
    argb_to_rgb,
    default_photos,
    gaussian_radius,
    orient,
    quantize,
    read_array,
    rgb_to_argb,
    unorient,
    write_golden,
)


def test_orientation_is_clockwise_rotation_then_mirror():
    f = np.arange(6).reshape(2, 3)  # 0 1 2 / 3 4 5
    assert orient(f, 90, False).tolist() == [[3, 0], [4, 1], [5, 2]]
    assert orient(f, 270, False).tolist() == [[2, 5], [1, 4], [0, 3]]
    assert orient(f, 270, True).tolist() == [[5, 2], [4, 1], [3, 0]]
    for r in (0, 90, 180, 270):
        for m in (False, True):
            assert np.array_equal(orient(unorient(f, r, m), r, m), f)
    with pytest.raises(ValueError, match="rotation_degrees"):
        orient(f, 45, False)


def test_argb_packing_is_0xAARRGGBB():
    rgb = np.array([[[1, 2, 3], [255, 0, 128]]], np.uint8)
    argb = rgb_to_argb(rgb)
    assert argb.dtype == np.uint32 and argb[0, 0] == 0xFF010203 and argb[0, 1] == 0xFFFF0080
    assert np.array_equal(argb_to_rgb(argb), rgb)
    assert argb.astype("<u4").tobytes()[:4] == bytes([3, 2, 1, 255])  # little-endian on disk


def test_quantize_rounds_half_up_not_half_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 300.0, -300.0])
    assert quantize(x, 1.0, 0, np.int8).tolist() == [1, 2, 3, 0, -1, 127, -128]
    assert quantize(x, 1.0, 0, np.int8).tolist() != np.round(x).clip(-128, 127).tolist()
    assert quantize(np.array([0.0, 1.0]), 1 / 255, 0, np.uint8).tolist() == [0, 255]


def _pinned_gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    """GOLDEN.md step 10: separable normalised Gaussian, radius rule, BORDER_REFLECT_101."""
    r = gaussian_radius(sigma)
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma)).astype(np.float32)
    k = (k / k.sum()).astype(np.float64)
    pad = np.pad(img.astype(np.float64), r, mode="reflect")  # numpy "reflect" == OpenCV REFLECT_101
    rows = sum(k[i] * pad[:, i:i + img.shape[1]] for i in range(2 * r + 1))
    return sum(k[i] * rows[i:i + img.shape[0]] for i in range(2 * r + 1))[:, :]


@pytest.mark.parametrize("sigma", [0.8, 2.0, 5.3])
def test_pinned_gaussian_equals_cv2(sigma):
    rng = np.random.default_rng(0)
    img = rng.random((37, 51)).astype(np.float32)
    assert np.abs(_pinned_gaussian(img, sigma)[:, :] - cv2.GaussianBlur(img, (0, 0), sigma)).max() < 1e-5
    assert gaussian_radius(2.0) == 8 and gaussian_radius(8.0) == 32


def _pinned_bilinear_u8(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """GOLDEN.md step 3, bilinear branch (OpenCV's fixed point)."""
    def taps(src, dst, clamp):
        f = ((np.arange(dst) + 0.5) * (1.0 / (dst / src)) - 0.5).astype(np.float32)
        s0 = np.floor(f).astype(int)
        f = (f - s0).astype(np.float32)
        if clamp:
            f = np.where((s0 < 0) | (s0 >= src - 1), np.float32(0), f)
            s0 = np.clip(s0, 0, src - 1)
        a0 = np.rint((np.float32(1) - f) * np.float32(2048)).astype(np.int64)
        return np.clip(s0, 0, src - 1), np.clip(s0 + 1, 0, src - 1), a0, 2048 - a0
    x0, x1, a0, a1 = taps(img.shape[1], w, True)
    y0, y1, b0, b1 = taps(img.shape[0], h, False)
    im = img.astype(np.int64)
    rows = im[:, x0] * a0[:, None] + im[:, x1] * a1[:, None]
    v = (((b0[:, None, None] * (rows[y0] >> 4)) >> 16) + ((b1[:, None, None] * (rows[y1] >> 4)) >> 16) + 2) >> 2
    return np.clip(v, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(200, 150), (200, 360), (300, 200), (97, 61)])
def test_pinned_bilinear_is_bit_exact_with_cv2(size):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    assert np.array_equal(_pinned_bilinear_u8(img, 256, 256), cv2.resize(img, (256, 256), interpolation=cv2.INTER_LINEAR))


@pytest.fixture(scope="module")
def tiny_bundle(tiny_run, tmp_path_factory):
    from mobile_kit.export import export_model

    out = tmp_path_factory.mktemp("tiny_bundle")
    export_model(tiny_run, "tflite-fp32", out, bundle=True)
    return out


def test_bundle_export_writes_golden_from_the_artifact(tiny_bundle):
    from ai_edge_litert.interpreter import Interpreter

    from mobile_kit.effects.portrait import portrait_blur
    from mobile_kit.fileio import sha256_file

    g = tiny_bundle / "golden"
    m = json.loads((g / "manifest.json").read_text())
    assert m["format"] == "mobilekit-golden" and m["byte_order"] == "little"
    assert m["artifact_sha256"] == sha256_file(tiny_bundle / "model.tflite")
    assert m["input_tensor"] == {"dtype": "float32", "shape": [1, 32, 32, 3]}
    assert len(m["cases"]) == len(default_photos()) == 4
    it = Interpreter(model_path=str(tiny_bundle / "model.tflite"))
    it.allocate_tensors()
    for c in m["cases"]:
        f = c["files"]
        src = read_array(g, f["source_argb"])
        assert src.shape == (c["frame_height"], c["frame_width"]) and src.dtype == np.uint32
        upright = argb_to_rgb(orient(src, c["rotation_degrees"], c["mirror"]))
        assert upright.shape[:2] == (c["height"], c["width"]) != (32, 32)
        x = read_array(g, f["input_tensor"])
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        assert np.array_equal(it.get_tensor(it.get_output_details()[0]["index"]), read_array(g, f["raw_output"]))
        prob = read_array(g, f["prob_frame"])
        assert np.array_equal(read_array(g, f["mask"]), np.where(prob > 0.5, 255, 0).astype(np.uint8))
        assert c["foreground_fraction"] == pytest.approx(float(np.mean(prob > 0.5)))
        comp = argb_to_rgb(read_array(g, f["composite_argb"]))
        assert np.array_equal(comp, portrait_blur(upright, prob, 0.5))
    assert {c["rotation_degrees"] for c in m["cases"]} == {0, 90, 270}


def test_write_golden_refuses_bad_bundles(tiny_bundle, tmp_path):
    with pytest.raises(ModelError, match="model.tflite"):
        write_golden(tmp_path)
    same = GoldenPhoto("same_size", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ModelError, match="size other than the model"):
        write_golden(tiny_bundle, photos=[same])


def test_golden_cli_rewrites_a_bundle_and_reports_errors(tiny_bundle, tmp_path):
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    (tiny_bundle / "golden" / "manifest.json").unlink()
    r = CliRunner().invoke(app, ["golden", str(tiny_bundle), "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["cases"]) == 4 and (tiny_bundle / "golden" / "manifest.json").is_file()
    r = CliRunner().invoke(app, ["golden", str(tmp_path)])
    assert r.exit_code == 2 and "model.tflite" in r.output


def test_bundle_hook_only_writes_golden_for_the_tflite_just_exported(tiny_bundle):
    from mobile_kit.export.golden import write_golden_if_runnable
    from mobile_kit.specs import ModelMetadata

    meta = ModelMetadata.load(tiny_bundle / "metadata.json")
    before = (tiny_bundle / "golden" / "manifest.json").stat().st_mtime_ns
    meta.target = "coreml"  # a Core ML export into the same folder keeps the tflite's golden/
    assert write_golden_if_runnable(tiny_bundle, meta) is None
    assert (tiny_bundle / "golden" / "manifest.json").stat().st_mtime_ns == before
    meta.target = "tflite-fp32"
    assert write_golden_if_runnable(tiny_bundle, meta) == tiny_bundle / "golden" / "manifest.json"
