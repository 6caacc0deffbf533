"""ONNX and Core ML targets, the metadata contract, bundles, inspect."""
import json
import platform

import numpy as np
import pytest

from mobile_kit.errors import ExportError, ModelError
from mobile_kit.export import export_model
from mobile_kit.specs import ModelMetadata, validate_metadata


def test_onnx_export_nhwc_and_nchw_with_parity(tiny_run, tmp_path):
    import onnxruntime as ort

    r = export_model(tiny_run, "onnx", tmp_path / "nhwc")
    assert r.parity["passed"] and r.parity["max_abs"] <= 1e-5
    meta = json.loads(r.metadata_path.read_text())
    assert meta["io"]["opset"] == 17 and meta["io"]["input"]["shape"] == [1, 32, 32, 3]
    r2 = export_model(tiny_run, "onnx", tmp_path / "nchw", layout="NCHW", head="sigmoid")
    sess = ort.InferenceSession(str(r2.artifact), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 3, 32, 32]
    m2 = json.loads(r2.metadata_path.read_text())
    assert m2["input"]["layout"] == "NCHW" and m2["output"]["kind"] == "sigmoid" and r2.parity["max_abs"] <= 1e-5
    # the artifact runs through the contract: NCHW input is transposed by the runtime
    from mobile_kit.runtime import load_segmenter

    p = load_segmenter(r2.artifact).probability(np.full((40, 30, 3), 128, np.uint8))
    assert p.shape == (40, 30)


def test_coreml_export_is_verified_structurally_off_macos(tiny_run, tmp_path):
    r = export_model(tiny_run, "coreml", tmp_path / "cm")
    assert r.artifact.name == "model.mlpackage" and r.artifact.is_dir()
    p = r.parity
    if platform.system() != "Darwin":
        assert p["numeric_parity"] == "not run" and "macOS" in p["criterion"]
        assert p["keras_kernels"] == p["weights_matched_within_fp16"] == 18 and not p["weights_unmatched"]
        assert {"conv", "conv_transpose", "softmax", "upsample_bilinear"} <= set(p["mil_ops"])
    io = json.loads(r.metadata_path.read_text())["io"]
    assert io["input"] == {"name": "image", "type": "image", "width": 32, "height": 32, "color": "RGB"}
    assert io["output"]["name"] == "probabilities" and io["output"]["shape"] == [1, 32, 32, 2]
    small = export_model(tiny_run, "coreml", tmp_path / "pal", compress="palettize-6bit")
    assert small.size_bytes < r.size_bytes


def test_coreml_weights_check_catches_wrong_weights(tiny_run, tmp_path):
    import tf_keras as keras

    from mobile_kit.export.coreml import verify_coreml
    from mobile_kit.reparam.fold import fold_model
    from mobile_kit.runtime import load_keras_model

    r = export_model(tiny_run, "coreml", tmp_path / "cm")
    folded, _ = fold_model(load_keras_model(tiny_run / "model.keras"))
    assert not verify_coreml(r.artifact, folded)["weights_unmatched"]
    other = keras.models.clone_model(folded)  # same shapes, fresh weights
    assert len(verify_coreml(r.artifact, other)["weights_unmatched"]) == 18


@pytest.mark.macos
@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML predicts only on macOS")
def test_coreml_prediction_matches_keras(tiny_run, tmp_path):
    r = export_model(tiny_run, "coreml", tmp_path / "cm")
    assert r.parity["passed"] and r.parity["max_abs"] <= 1e-2


def test_missing_optional_dependency_gives_the_install_command(tiny_run, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "tf2onnx" else real(n, *a))
    with pytest.raises(ExportError, match=r'pip install "mobilekit\[onnx\]"'):
        export_model(tiny_run, "onnx", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_every_metadata_validates_and_bad_metadata_names_the_field(tiny_run, tmp_path):
    r = export_model(tiny_run, "tflite-fp16", tmp_path / "b", bundle=True)
    d = json.loads(r.metadata_path.read_text())
    validate_metadata(d)
    assert (tmp_path / "b" / "labels.txt").read_text().split() == ["background", "person"]
    assert json.loads((tmp_path / "b" / "metadata.schema.json").read_text())["$id"].endswith("/metadata/2")  # schema v2 (task); v1 still read
    d["output"]["kind"] = "probability"
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(ModelError, match=r"bad.json.*output/kind"):
        ModelMetadata.load(tmp_path / "bad.json")


def test_inspect_counts_macs_and_reads_the_gpu_verdict(tiny_run, tmp_path):
    import tf_keras as keras
    from tf_keras import layers

    from mobile_kit.inspect import inspect_model, parse_analyzer_output
    from mobile_kit.specs import InputSpec, OutputSpec

    inp = keras.Input((16, 16, 3))
    m = keras.Model(inp, layers.Conv2D(8, 3, padding="same")(inp))
    m.save(str(tmp_path / "c.keras"))
    ModelMetadata(input=InputSpec(16, 16, 3), output=OutputSpec()).save(tmp_path / "metadata.json")
    rep = inspect_model(tmp_path / "c.keras")
    assert rep["macs"] == 16 * 16 * 8 * 3 * 3 * 3 and rep["parameters"] == 8 * 27 + 8
    art = export_model(tiny_run, "tflite-fp32", tmp_path / "f").artifact
    t = inspect_model(art)
    assert t["macs"] == inspect_model(tiny_run)["macs"] and t["parameters"] > 0
    assert t["gpu_delegate"]["compatible"] and "SHAPE" not in t["op_counts"]
    text = ("Subgraph#0 main(T#0) -> [T#3]\n  Op#0 CONV_2D(T#0, T#1, T#2) -> [T#3]\n"
            "  Op#1 TOPK_V2(T#3, T#4) -> [T#5, T#6]\nGPU COMPATIBILITY WARNING: Not supported op TOPK_V2\n\n"
            "GPU COMPATIBILITY WARNING: Subgraph#0 has GPU delegate compatibility issues at nodes 1 with TFLite "
            "runtime version 2.21.0\n")
    v = parse_analyzer_output(text)
    assert not v["compatible"] and v["incompatible_ops"] == [{"node": 1, "op": "TOPK_V2",
                                                              "reason": "Not supported op TOPK_V2"}]


def test_import_rejects_an_invalid_onnx_file(tmp_path):
    from mobile_kit.importers.onnx_import import load_onnx

    (tmp_path / "x.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(ModelError, match="x.onnx: expected a valid ONNX model"):
        load_onnx(tmp_path / "x.onnx")
    with pytest.raises(ModelError, match="not found"):
        load_onnx(tmp_path / "missing.onnx")
