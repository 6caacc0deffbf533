"""Targets own their options, TFLite exports carry standard metadata, and every artifact carries its contract."""
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from mobile_kit.errors import ExportError, ModelError, UnknownNameError
from mobile_kit.export import export_model
from mobile_kit.export.registry import TARGETS, target_names
from mobile_kit.runtime import load_segmenter
from mobile_kit.specs import InputSpec, OutputSpec

runner = CliRunner()


@pytest.fixture(scope="module")
def fp32(tiny_run, tmp_path_factory):
    return export_model(tiny_run, "tflite-fp32", tmp_path_factory.mktemp("fp32"))


@pytest.fixture(scope="module")
def lone_tflite(fp32, tmp_path_factory):
    """The fp32 artifact copied alone, without its metadata.json."""
    d = tmp_path_factory.mktemp("lone")
    return shutil.copy(fp32.artifact, d / "copied.tflite")


@pytest.mark.parametrize("target,option,value", [
    ("tflite-int8", "layout", "NCHW"), ("onnx", "int8_io", "uint8"), ("tflite-fp32", "compress", "palettize-6bit"),
    ("tflite-fp16", "opset", 13), ("coreml", "num_calibration", 8), ("onnx", "precision", "fp32"),
])
def test_an_option_of_another_target_is_refused_before_any_work(tiny_run, tmp_path, target, option, value):
    flag = "--" + option.replace("_", "-")
    with pytest.raises(ExportError, match=f"{flag}: does not apply to --target {target}"):
        export_model(tiny_run, target, tmp_path / "o", **{option: value})
    assert not (tmp_path / "o").exists()
    r = runner.invoke(app, ["export", str(tiny_run), "--target", target, "--out", str(tmp_path / "o"), flag, str(value)])
    assert r.exit_code == 2 and "does not apply" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) <= 3  # one message (rich may wrap it)


def test_option_values_are_checked_against_the_target_declaration(tiny_run, tmp_path):
    with pytest.raises(UnknownNameError, match="int8, uint8"):
        export_model(tiny_run, "tflite-int8", tmp_path / "o", int8_io="int4")
    with pytest.raises(UnknownNameError, match="NCHW, NHWC"):
        export_model(tiny_run, "onnx", tmp_path / "o", layout="HWC")
    t = TARGETS["tflite-int8"]
    assert t.resolve_options({"int8_io": None}) == {"int8_io": "int8", "num_calibration": 64}
    assert TARGETS["coreml"].precision_for(TARGETS["coreml"].resolve_options({"precision": "fp32"})) == "float32"


def test_cli_choices_and_schema_enum_come_from_the_registry():
    from mobile_kit.schemas import load_schema

    enum = set(load_schema("metadata")["properties"]["target"]["enum"])
    # "keras" (source models) and "tflite" (imported / third-party) are not export targets
    assert enum == set(target_names()) | {"keras", "tflite"}
    import typer

    params = {p.name: p for p in typer.main.get_command(app).commands["export"].params}
    assert " | ".join(target_names()) in params["target"].help
    assert "MediaPipe" in params["int8_io"].help and "onnx:" in params["layout"].help  # from the declaring target
    r = runner.invoke(app, ["export", "--help"])
    assert r.exit_code == 0 and all(n in r.output for n in target_names())


def test_core_has_no_branch_on_a_target_name():
    import inspect

    from mobile_kit.export import core

    src = inspect.getsource(core)
    for name in target_names():
        assert f'"{name}"' not in src, name


def test_normalization_options_follow_the_input_contract():
    from mobile_kit.export.tflite_metadata import mediapipe_activation, normalization

    mean, std = normalization(InputSpec(8, 8, 3, scale=2 / 255, offset=-1.0))
    assert mean == pytest.approx([127.5] * 3) and std == pytest.approx([127.5] * 3)
    spec = InputSpec(8, 8, 3, scale=(1 / 58.4, 1 / 57.1, 1 / 57.4), offset=(-123.7 / 58.4, -116.3 / 57.1, -103.5 / 57.4))
    mean, std = normalization(spec)
    assert mean == pytest.approx([123.7, 116.3, 103.5]) and std == pytest.approx([58.4, 57.1, 57.4])
    # (pixel - mean) / std is our pixel * scale + offset
    px = np.array([0.0, 100.0, 255.0])
    assert np.allclose((px - mean[1]) / std[1], px * spec.scale[1] + spec.offset[1])
    # MediaPipe applies the declared activation itself: only raw logits need one
    assert mediapipe_activation(OutputSpec("softmax"), 2) == "NONE"
    assert mediapipe_activation(OutputSpec("sigmoid", labels=("person",), foreground_index=0), 1) == "NONE"
    assert mediapipe_activation(OutputSpec("logits"), 2) == "SOFTMAX"
    assert mediapipe_activation(OutputSpec("logits", labels=("person",), foreground_index=0), 1) == "SIGMOID"


def _segmenter_activation(md: dict, artifact) -> int:
    """Decode MediaPipe's ImageSegmenterOptions from the custom metadata with flatbuffers' table reader."""
    import flatbuffers
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as fb
    from tensorflow_lite_support.metadata.python import metadata as tmd

    buf = tmd.get_metadata_buffer(artifact.read_bytes())
    sub = fb.ModelMetadata.GetRootAsModelMetadata(buf, 0).SubgraphMetadata(0)
    cm = sub.CustomMetadata(0)
    assert cm.Name() == b"SEGMENTER_METADATA"
    data = bytes(cm.DataAsNumpy())
    assert data[4:8] == b"V001"
    t = flatbuffers.table.Table(data, flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0))
    o = t.Offset(4)
    return t.Get(flatbuffers.number_types.Int8Flags, o + t.Pos) if o else 0


def test_tflite_export_carries_standard_metadata(fp32, tiny_run):
    from mobile_kit.export.tflite_metadata import read_tflite_metadata

    md = read_tflite_metadata(fp32.artifact)
    meta = json.loads(fp32.metadata_path.read_text())
    assert md["name"] == meta["name"] == "tiny" and md["version"] == meta["version"] and md["author"] == "mobilekit"
    assert md["license"] and "person segmentation" in md["description"]
    assert md["min_parser_version"] >= "1.5.0"  # custom metadata needs 1.5
    inp = md["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert inp["content"]["content_properties"]["color_space"] == "RGB"
    norm = inp["process_units"][0]["options"]
    assert norm["mean"] == pytest.approx([0.0] * 3) and norm["std"] == pytest.approx([255.0] * 3)
    out = md["subgraph_metadata"][0]["output_tensor_metadata"][0]
    assert out["associated_files"][0] == {"name": "labels.txt", "description": out["associated_files"][0]["description"],
                                          "type": "TENSOR_AXIS_LABELS"}
    assert [f["name"] for f in md["associated_files"]] == ["mobilekit_metadata.json"]
    import zipfile

    with zipfile.ZipFile(fp32.artifact) as z:
        assert z.read("labels.txt").decode().split() == ["background", "person"]
        assert json.loads(z.read("mobilekit_metadata.json")) == meta  # the contract inside == the one beside
    assert _segmenter_activation(md, fp32.artifact) == 0  # softmax head: probabilities already, MediaPipe NONE


def test_logits_head_asks_mediapipe_for_softmax_and_uint8_input_has_no_normalisation(tiny_run, tmp_path):
    from mobile_kit.export.tflite_metadata import read_tflite_metadata

    r = export_model(tiny_run, "tflite-fp32", tmp_path / "logits", head="logits")
    assert _segmenter_activation(read_tflite_metadata(r.artifact), r.artifact) == 2  # SOFTMAX
    r = export_model(tiny_run, "tflite-int8", tmp_path / "u8", int8_io="uint8", num_calibration=4, skip_parity=True)
    inp = read_tflite_metadata(r.artifact)["subgraph_metadata"][0]["input_tensor_metadata"][0]
    assert "process_units" not in inp and inp["stats"] == {"max": [255.0], "min": [0.0]}
    assert r.warnings == []
    r8 = export_model(tiny_run, "tflite-int8", tmp_path / "i8", num_calibration=4, skip_parity=True)
    assert len(r8.warnings) == 1 and "--int8-io uint8" in r8.warnings[0] and "int8" in r8.warnings[0]


def test_a_lone_tflite_keeps_its_contract(fp32, lone_tflite):
    seg = load_segmenter(lone_tflite)
    beside = json.loads(fp32.metadata_path.read_text())
    assert seg.metadata.to_dict()["input"] == beside["input"] and seg.metadata.target == "tflite-fp32"
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    assert np.array_equal(seg.probability(img), load_segmenter(fp32.artifact).probability(img))


def test_lone_tflite_works_with_eval_bench_predict_and_inspect(lone_tflite, make_dataset, tmp_path):
    ds = make_dataset(3)
    r = runner.invoke(app, ["eval", str(lone_tflite), "--data", str(ds), "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n_images"] == 3
    r = runner.invoke(app, ["bench", str(lone_tflite), "--runs", "2", "--warmup", "0", "--data", str(ds), "--json",
                            "--quiet"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0]["accuracy"]["n_images"] == 3
    r = runner.invoke(app, ["predict", str(lone_tflite), str(next((ds / "images").iterdir())), "--out",
                            str(tmp_path / "pred"), "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pred").is_dir() and any((tmp_path / "pred").iterdir())
    r = runner.invoke(app, ["inspect", str(lone_tflite), "--no-gpu", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["metadata"]["source"] == "embedded" and d["embedded_metadata"]["name"] == "tiny"
    assert d["tflite_metadata"]["subgraph_metadata"][0]["input_tensor_metadata"][0]["process_units"]
    r = runner.invoke(app, ["inspect", str(lone_tflite), "--no-gpu"])
    assert r.exit_code == 0 and "embedded contract" in r.output and "TFLite metadata" in r.output
    assert "std [255.0" in "".join(r.output.split()).replace("│", "").replace("std[", "std [")


def test_metadata_json_that_disagrees_with_the_embedded_contract_names_the_fields(fp32, tmp_path):
    d = tmp_path / "art"
    d.mkdir()
    shutil.copy(fp32.artifact, d / "model.tflite")
    meta = json.loads(fp32.metadata_path.read_text())
    meta["input"]["scale"] = 2 / 255
    meta["output"]["kind"] = "logits"
    meta["parity"] = None  # figures may differ; the contract may not
    (d / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"disagrees with the contract embedded in model.tflite on "
                                         r"input.scale, input.value_range, output.kind"):
        load_segmenter(d / "model.tflite")
    r = runner.invoke(app, ["predict", str(d / "model.tflite"), "--sample", "astronaut", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "input.scale" in r.output and "Traceback" not in r.output
    meta["input"]["scale"], meta["input"]["value_range"], meta["output"]["kind"] = 1 / 255, [0.0, 1.0], "softmax"
    (d / "metadata.json").write_text(json.dumps(meta))
    assert load_segmenter(d / "model.tflite").metadata.parity is None  # agreeing: the file beside is used


def test_onnx_export_embeds_the_contract_in_metadata_props(tiny_run, tmp_path):
    pytest.importorskip("tf2onnx")
    import onnx

    r = export_model(tiny_run, "onnx", tmp_path / "o", layout="NCHW")
    props = {p.key: p.value for p in onnx.load(str(r.artifact)).metadata_props}
    assert json.loads(props["mobilekit_metadata"]) == json.loads(r.metadata_path.read_text())
    assert props["labels"] == "background,person" and props["author"] == "mobilekit"
    lone = tmp_path / "lone" / "m.onnx"
    lone.parent.mkdir()
    shutil.copy(r.artifact, lone)
    seg = load_segmenter(lone)
    assert seg.input_spec.layout == "NCHW" and seg.backend == "onnxruntime"
    img = np.random.default_rng(1).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    assert np.array_equal(seg.probability(img), load_segmenter(r.artifact).probability(img))


@pytest.mark.slow
def test_qat_int8_export_carries_standard_metadata(tmp_path):
    """A QAT model (fake-quant wrappers, saved as HDF5 like `mobilekit qat`) goes through the same target."""
    from mobile_kit.export.tflite_metadata import read_tflite_metadata
    from mobile_kit.models import build_model
    from mobile_kit.quant.qat import quantize_aware
    from mobile_kit.specs import ModelMetadata

    spec = InputSpec(32, 32, 3)
    q, _ = quantize_aware(build_model("likeunet", spec))
    rng = np.random.default_rng(0)  # one short fit sets the fake-quant ranges (untrained ones do not run in XNNPACK)
    x = rng.random((8, 32, 32, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[..., 0] > 0.5).astype(int)]
    q.compile("adam", "categorical_crossentropy")
    q.fit(x, y, epochs=2, batch_size=4, verbose=0)
    run = tmp_path / "qat"
    run.mkdir()
    q.save(str(run / "model.h5"))
    ModelMetadata(input=spec, output=OutputSpec(), name="tiny-qat", arch="likeunet").save(run / "metadata.json")
    r = export_model(run / "model.h5", "tflite-int8", tmp_path / "o", int8_io="uint8", num_calibration=4,
                     skip_parity=True)
    md = read_tflite_metadata(r.artifact)
    assert md["name"] == "tiny-qat" and md["subgraph_metadata"][0]["output_tensor_metadata"][0]["associated_files"]
    assert load_segmenter(shutil.copy(r.artifact, tmp_path / "alone.tflite")).metadata.quantization["input"]["dtype"] \
        == "uint8"


def test_an_embedding_that_changes_the_model_is_caught(tiny_run, tmp_path, monkeypatch):
    import tf_keras as keras

    import mobile_kit.export.tflite as tflite_target
    from mobile_kit.runtime import load_keras_model

    other = keras.models.clone_model(load_keras_model(tiny_run / "model.keras"))  # same graph, other weights
    other_bytes = tflite_target.convert_fp32(other, None, [], {})

    def bad_writer(artifact, meta):
        artifact.write_bytes(other_bytes)

    monkeypatch.setattr(tflite_target, "write_tflite_metadata", bad_writer)
    with pytest.raises(ExportError, match="embedding the contract changed the model's output"):
        export_model(tiny_run, "tflite-fp32", tmp_path / "o")
    assert not (tmp_path / "o" / "model.tflite").exists()


def test_export_cli_prints_the_mediapipe_warning(tiny_run, tmp_path):
    r = runner.invoke(app, ["export", str(tiny_run), "--target", "tflite-int8", "--num-calibration", "4",
                            "--skip-parity", "--out", str(tmp_path / "i8"), "--quiet"])
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "warning:" in flat and "--int8-io uint8" in flat and "MediaPipe" in flat
    r = runner.invoke(app, ["export", str(tiny_run), "--target", "tflite-int8", "--num-calibration", "4",
                            "--skip-parity", "--int8-io", "uint8", "--out", str(tmp_path / "u8"), "--json", "--quiet"])
    assert r.exit_code == 0 and json.loads(r.stdout)["warnings"] == []
