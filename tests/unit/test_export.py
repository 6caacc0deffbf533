import json

import numpy as np
import pytest

from mobile_kit.errors import ModelError, ParityError, UnknownNameError
from mobile_kit.export import export_model
from mobile_kit.verify import FP32_MAX_ABS, parity_report
from mobile_kit.runtime import Segmenter, load_keras_model, load_segmenter
from mobile_kit.specs import ModelMetadata


def test_fp32_export_writes_artifact_metadata_and_passes_parity(tiny_run, tmp_path):
    r = export_model(tiny_run, "tflite-fp32", tmp_path / "fp32")
    assert r.artifact.read_bytes()[4:8] == b"TFL3"
    assert r.parity["passed"] and r.parity["max_abs"] <= FP32_MAX_ABS
    meta = json.loads(r.metadata_path.read_text())
    assert meta["target"] == "tflite-fp32" and meta["input"]["height"] == 32
    assert meta["parity"]["n_images"] >= 6
    # the artifact runs through the same contract
    seg = load_segmenter(r.artifact)
    p = seg.probability(np.zeros((50, 70, 3), np.uint8))
    assert p.shape == (50, 70) and 0 <= p.min() <= p.max() <= 1


def test_parity_detects_a_wrong_artifact(tiny_run, tmp_path):
    import tf_keras as keras

    from mobile_kit.data.samples import sample_photos

    r = export_model(tiny_run, "tflite-fp32", tmp_path / "a")
    meta = ModelMetadata.load(r.metadata_path)
    other = keras.models.clone_model(load_keras_model(tiny_run / "model.keras"))  # fresh random weights
    rep = parity_report(other, Segmenter(r.artifact, meta), sample_photos()[:2], meta.input, meta.output, "t")
    assert rep["max_abs"] > 1e-3


def test_int8_export_quantizes_io_and_fails_parity_loudly_when_untrained(tiny_run, tmp_path):
    # An untrained model outputs p ~ 0.5 everywhere: int8 rounding flips the mask, and export must refuse.
    out = tmp_path / "int8"
    try:
        export_model(tiny_run, "tflite-int8", out, num_calibration=4, int8_io="uint8")
        passed = True
    except ParityError as e:
        passed = False
        assert "mask IoU" in str(e) and e.report["mask_iou"] < 0.97
        assert not (out / "model.tflite").exists() and not (out / "metadata.json").exists()
    r = export_model(tiny_run, "tflite-int8", out, num_calibration=4, int8_io="uint8", skip_parity=True)
    q = json.loads(r.metadata_path.read_text())["quantization"]
    assert q["input"]["dtype"] == "uint8" and q["output"]["dtype"] == "uint8"
    assert q["input"]["scale"] == pytest.approx(1 / 255, rel=0.02)  # the 0..1 input range -> raw pixels
    assert r.parity["skipped_enforcement"] == (not passed)


def test_export_errors(tiny_run, tmp_path):
    with pytest.raises(UnknownNameError, match="tflite-fp16, tflite-fp32, tflite-int8"):
        export_model(tiny_run, "tflite-int4", tmp_path)
    with pytest.raises(ModelError, match="not found"):
        export_model(tmp_path / "missing", "tflite-fp32", tmp_path)
    (tmp_path / "bad.keras").write_bytes(b"zip? no")
    (tmp_path / "metadata.json").write_text((tiny_run / "metadata.json").read_text())
    with pytest.raises(ModelError, match="cannot be loaded"):
        export_model(tmp_path / "bad.keras", "tflite-fp32", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_fp16_tolerance_is_mean_error_plus_mask_iou():
    from mobile_kit.verify import FP16_MEAN_ABS, FP16_MIN_MASK_IOU, mean_and_mask_check

    check = mean_and_mask_check(FP16_MEAN_ABS, FP16_MIN_MASK_IOU)
    # as measured on a correct export of the built-in model: boundary pixels off by 0.036, mean 3e-4
    ok, why = check({"mean_abs": 3.3e-4, "p999_abs": 0.0155, "max_abs": 0.036, "mask_iou": 0.9987})
    assert ok and "max 0.036" in why and "p99.9 0.0155" in why
    # a broken export moves whole regions
    assert not check({"mean_abs": 0.05, "p999_abs": 0.3, "max_abs": 0.9, "mask_iou": 0.995})[0]
    assert not check({"mean_abs": 4e-4, "p999_abs": 0.2, "max_abs": 0.5, "mask_iou": 0.95})[0]


def test_export_refuses_to_write_over_its_source_folder(tiny_run):
    with pytest.raises(ModelError, match="other than the source model's own"):
        export_model(tiny_run, "tflite-fp32", tiny_run)
