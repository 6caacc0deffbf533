"""K-class (parsing) models to every target: ONNX parity judged by class-map agreement, labels and label map in
the embedded contract, eval/predict on a lone ``.onnx``, Core ML labels/head/structure, the sigmoid refusal.

The model is a 3-class likeunet with random weights (no training: conversion and parity do not need a good
model); its logits conv is scaled so that the class maps are not a near-tie everywhere.
"""
import json
import platform
import shutil

import numpy as np
import pytest

from mobile_kit.errors import ModelError
from mobile_kit.export import export_model
from tests.conftest import write_jpg, write_png

CLASSES = ("background", "top", "bottom")
#: Source classes (id order, as a dataset's classes.json) and their grouping into the model's classes.
SOURCE = ("null", "shirt", "coat", "pants", "skirt")
MAPPING = {"null": 0, "shirt": 1, "coat": 1, "pants": 2, "skirt": 2}
SIZE = 32


def _build_toy(run):
    import tf_keras as keras

    from mobile_kit.data.samples import sample_photos
    from mobile_kit.models import build_model
    from mobile_kit.preprocess import to_model_input
    from mobile_kit.specs import InputSpec, ModelMetadata
    from mobile_kit.tasks import get_task
    from mobile_kit.tasks.label_map import LabelMap

    keras.utils.set_random_seed(0)
    spec = InputSpec(SIZE, SIZE, 3)
    model = build_model("likeunet", spec, num_classes=len(CLASSES))
    conv = model.layers[-1]._inbound_nodes[0].inbound_layers  # the logits conv before the softmax
    xs = np.stack([to_model_input(im, spec) for im in sample_photos()])
    z = keras.Model(model.inputs, conv.output)(xs).numpy()
    k, b = conv.get_weights()
    conv.set_weights([k * (3.0 / z.std()), np.random.default_rng(0).normal(0, 1, b.shape).astype(np.float32)])
    task = get_task("parsing", label_map=LabelMap(CLASSES, MAPPING, SOURCE))
    run.mkdir(parents=True)
    model.save(str(run / "model.keras"))
    ModelMetadata(input=spec, output=task.output_spec(), name="toy3", arch="likeunet", task=task.config()).save(
        run / "metadata.json")
    return run


@pytest.fixture(scope="module")
def toy3(tmp_path_factory):
    return _build_toy(tmp_path_factory.mktemp("k3") / "run")


@pytest.fixture(scope="module")
def toy3_data(tmp_path_factory):
    """4 photos 40x48 with source-id labels (classes.json lists SOURCE): the label map groups them."""
    root = tmp_path_factory.mktemp("k3data") / "ds"
    rng = np.random.default_rng(1)
    for i in range(4):
        img = rng.integers(0, 255, size=(40, 48, 3), dtype=np.uint8)
        lab = np.zeros((40, 48), np.uint8)
        lab[5:20, 8:30], lab[20:36, 10:28], lab[2:6, 30:40] = 1, 3, 4  # shirt, pants, skirt
        write_jpg(root / "images" / f"k{i}.jpg", img)
        write_png(root / "labels" / f"k{i}.png", lab)
    (root / "classes.json").write_text(json.dumps({"classes": list(SOURCE)}))
    return root


@pytest.fixture(scope="module")
def onnx_export(toy3, tmp_path_factory):
    return export_model(toy3, "onnx", tmp_path_factory.mktemp("k3onnx") / "o")


def test_toy_class_maps_use_every_class(toy3):
    """Guards the other tests: parity on a model that predicts one class everywhere would prove nothing."""
    from mobile_kit.data.samples import sample_photos
    from mobile_kit.runtime import load_segmenter

    seg = load_segmenter(toy3)
    counts = sum(np.bincount(seg.probabilities(im, full_resolution=False).argmax(-1).ravel(), minlength=3)
                 for im in sample_photos())
    assert (counts > 20).all(), counts


@pytest.mark.slow
def test_onnx_parity_is_judged_by_class_map_agreement(onnx_export):
    p = onnx_export.parity
    assert p["passed"] and p["class_agreement"] >= 0.999 and p["min_image_class_agreement"] >= 0.999
    assert p["max_abs"] <= 1e-5
    assert "class-map agreement vs Keras" in p["criterion"] and "max |p - p_keras|" in p["criterion"]


@pytest.mark.slow
def test_onnx_contract_carries_labels_and_label_map(onnx_export):
    import onnx

    m = onnx.load(str(onnx_export.artifact))
    props = {p.key: p.value for p in m.metadata_props}
    contract = json.loads(props["mobilekit_metadata"])
    assert contract["output"]["labels"] == list(CLASSES)
    assert contract["output"]["label_map"] == MAPPING
    assert contract["task"]["name"] == "parsing" and contract["task"]["source_classes"] == list(SOURCE)
    assert props["labels"].split(",") == list(CLASSES)
    assert m.graph.output[0].type.tensor_type.shape.dim[-1].dim_value == len(CLASSES)
    beside = json.loads(onnx_export.metadata_path.read_text())
    assert beside["output"] == contract["output"] and beside["target"] == "onnx"


@pytest.mark.slow
def test_lone_onnx_evaluates_and_predicts_parts_from_its_embedded_contract(onnx_export, toy3, toy3_data, tmp_path):
    """No metadata.json beside it: eval maps the source labels through the embedded label map, as Keras does."""
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app
    from mobile_kit.eval import evaluate
    from mobile_kit.runtime import load_segmenter

    lone = tmp_path / "lone" / "toy3.onnx"
    lone.parent.mkdir()
    shutil.copy(onnx_export.artifact, lone)
    seg = load_segmenter(lone)
    assert seg.backend == "onnxruntime" and seg.output_spec.label_map == MAPPING
    got = evaluate(seg, toy3_data, exclude=("background",))
    ref = evaluate(load_segmenter(toy3), toy3_data, exclude=("background",))
    assert got.labels == list(CLASSES) and got.n_images == 4
    assert got.miou == pytest.approx(ref.miou, abs=1e-3)
    assert got.pixel_accuracy == pytest.approx(ref.pixel_accuracy, abs=1e-3)
    # ground truth read through the label map: "top" (shirt) and "bottom" (pants, skirt) are present in it
    assert got.per_class_iou["top"] is not None and got.per_class_iou["bottom"] is not None

    r = CliRunner().invoke(app, ["predict", str(lone), str(toy3_data / "images" / "k0.jpg"), "--effect", "parts",
                                 "--out", str(tmp_path / "pred"), "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.output[r.output.index("["):])[0]
    assert list(row["class_fractions"]) == list(CLASSES)
    assert sum(row["class_fractions"].values()) == pytest.approx(1.0, abs=1e-6)
    assert (tmp_path / "pred" / "k0_parts.png").is_file()


@pytest.mark.slow
def test_onnx_logits_head(toy3, tmp_path):
    import onnx

    r = export_model(toy3, "onnx", tmp_path / "l", head="logits")
    ops = {n.op_type for n in onnx.load(str(r.artifact)).graph.node}
    assert "Softmax" not in ops and "Conv" in ops
    contract = json.loads(r.metadata_path.read_text())
    assert contract["output"]["kind"] == "logits" and contract["output"]["labels"] == list(CLASSES)
    assert contract["output"]["label_map"] == MAPPING
    assert r.parity["passed"] and r.parity["class_agreement"] >= 0.999


def test_sigmoid_head_is_refused_for_k_classes_on_every_target(toy3, tmp_path):
    from mobile_kit.export.registry import target_names

    for target in target_names():
        with pytest.raises(ModelError, match=rf"--head sigmoid \(--target {target}\).*3 classes.*--head logits"):
            export_model(toy3, target, tmp_path / target, head="sigmoid")
        assert not (tmp_path / target).exists()
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    r = CliRunner().invoke(app, ["export", str(toy3), "--target", "coreml", "--head", "sigmoid", "--out",
                                 str(tmp_path / "cli")])
    assert r.exit_code == 2 and "Traceback" not in r.output and "--head sigmoid (--target coreml)" in r.output
    assert len([line for line in r.output.splitlines() if line.strip()]) == 1, r.output


def test_fp32_and_fp16_checks_fail_on_class_maps_that_disagree():
    """Small probability errors but scrambled class maps: K-class parity must fail on agreement alone."""
    from mobile_kit.verify import (FP16_MEAN_ABS, FP16_MIN_CLASS_AGREEMENT, FP16_MIN_MASK_IOU, FP32_MAX_ABS,
                                   FP32_MIN_CLASS_AGREEMENT, max_abs_check, mean_and_mask_check)

    good = {"max_abs": 1e-6, "mean_abs": 1e-7, "p999_abs": 1e-6, "mask_iou": 1.0, "class_agreement": 1.0,
            "min_image_class_agreement": 1.0}
    fp32, fp16 = max_abs_check(FP32_MAX_ABS), mean_and_mask_check(FP16_MEAN_ABS, FP16_MIN_MASK_IOU)
    assert fp32(good)[0] and fp16(good)[0]
    bad32 = dict(good, class_agreement=FP32_MIN_CLASS_AGREEMENT - 1e-3, min_image_class_agreement=0.9)
    bad16 = dict(good, class_agreement=FP16_MIN_CLASS_AGREEMENT - 1e-3, min_image_class_agreement=0.9)
    ok, why = fp32(bad32)
    assert not ok and "class-map agreement vs Keras" in why and "<" in why
    assert not fp16(bad16)[0]
    binary = {k: v for k, v in good.items() if "class_agreement" not in k}  # two-class reports: unchanged checks
    assert fp32(binary)[0] and "class-map" not in fp32(binary)[1]


def test_swapped_classes_fail_onnx_style_parity(toy3):
    """A converter that permuted two class channels fails the fp32 check through the real parity report."""
    from mobile_kit.data.samples import sample_photos
    from mobile_kit.runtime import load_keras_model
    from mobile_kit.specs import ModelMetadata
    from mobile_kit.verify import FP32_MAX_ABS, max_abs_check, probability_parity

    model = load_keras_model(toy3 / "model.keras")
    meta = ModelMetadata.load(toy3 / "metadata.json")
    ref = lambda x: model(x[None], training=False).numpy()[0]  # noqa: E731
    swapped = lambda x: ref(x)[..., [0, 2, 1]]  # noqa: E731
    rep = probability_parity(ref, meta.output, swapped, meta.output, sample_photos(), meta.input, "photos")
    ok, why = max_abs_check(FP32_MAX_ABS)(rep)
    assert not ok and rep["class_agreement"] < 0.999 and "class-map agreement" in why
    same = probability_parity(ref, meta.output, ref, meta.output, sample_photos(), meta.input, "photos")
    assert same["class_agreement"] == 1.0 and max_abs_check(FP32_MAX_ABS)(same)[0]


@pytest.mark.slow
def test_contract_with_a_dropped_label_is_refused_by_the_runtime(onnx_export, tmp_path):
    """An exporter that dropped a label would ship a contract the runtime refuses (3 channels, 2 labels)."""
    import onnx

    from mobile_kit.runtime import load_segmenter

    m = onnx.load(str(onnx_export.artifact))
    for p in m.metadata_props:
        if p.key == "mobilekit_metadata":
            d = json.loads(p.value)
            d["output"]["labels"] = list(CLASSES[:2])
            p.value = json.dumps(d)
    bad = tmp_path / "dropped.onnx"
    onnx.save(m, str(bad))
    with pytest.raises(ModelError, match=r"2 label\(s\).*outputs 3 channel"):
        load_segmenter(bad)


@pytest.fixture(scope="module")
def coreml_exports(toy3, tmp_path_factory):
    root = tmp_path_factory.mktemp("k3cm")
    return {h: export_model(toy3, "coreml", root / h, head=h) for h in ("softmax", "logits")}


@pytest.mark.slow
def test_coreml_spec_carries_labels_in_class_order(coreml_exports):
    import coremltools as ct

    for head, r in coreml_exports.items():
        spec = ct.models.MLModel(str(r.artifact), skip_model_load=True).get_spec()
        out = spec.description.output[0]
        assert out.name == ("logits" if head == "logits" else "probabilities")
        assert list(out.type.multiArrayType.shape) == [1, SIZE, SIZE, len(CLASSES)]
        assert "channel = class: 0 background; 1 top; 2 bottom" in out.shortDescription
        assert ("logits per pixel" in out.shortDescription) == (head == "logits")
        ud = dict(spec.description.metadata.userDefined)
        assert ud["com.apple.coreml.model.preview.type"] == "imageSegmenter"
        assert json.loads(ud["com.apple.coreml.model.preview.params"]) == {"labels": list(CLASSES)}
        contract = json.loads(ud["mobilekit"])
        assert contract["output"]["labels"] == list(CLASSES) and contract["output"]["label_map"] == MAPPING
        assert contract["output"]["kind"] == head and contract["io"]["output"]["name"] == out.name


@pytest.mark.slow
def test_coreml_k_class_structure_checks_the_head(coreml_exports, toy3):
    from mobile_kit.export.coreml import verify_coreml
    from mobile_kit.reparam.fold import fold_model
    from mobile_kit.reparam.head import swap_head
    from mobile_kit.runtime import load_keras_model
    from mobile_kit.specs import ModelMetadata

    sm, lg = coreml_exports["softmax"].parity, coreml_exports["logits"].parity
    assert sm["passed"] and lg["passed"]
    if platform.system() != "Darwin":
        assert sm["output_head"] == {"keras": "softmax", "output_op": "softmax", "output_name": "probabilities",
                                     "matches": True}
        assert lg["output_head"]["keras"] == "logits" and lg["output_head"]["output_op"] != "softmax"
        assert "softmax" not in lg["mil_ops"] and lg["output_shape_matches"]
        # a package whose head differs from the Keras model's fails the structural check
        folded, _ = fold_model(load_keras_model(toy3 / "model.keras"))
        logits_model, _ = swap_head(folded, "logits", ModelMetadata.load(toy3 / "metadata.json").output)
        rep = verify_coreml(coreml_exports["softmax"].artifact, logits_model)
        assert not rep["output_head"]["matches"]
        from mobile_kit.export.coreml import coreml_parity

        ok, why = coreml_parity(dict(rep, reason="off macOS"))
        assert not ok and "does NOT match" in why


@pytest.mark.macos
@pytest.mark.skipif(platform.system() != "Darwin", reason="Core ML predicts only on macOS")
def test_coreml_k_class_prediction_agrees_with_keras(coreml_exports):
    for r in coreml_exports.values():
        assert r.parity["passed"] and r.parity["class_agreement"] >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("target", ["tflite-fp32", "tflite-fp16", "tflite-int8"])
def test_logits_head_on_the_tflite_targets(toy3, tmp_path, target):
    """With the ONNX and Core ML tests above: --head logits works for a K-class model on every target."""
    from mobile_kit.export.registry import target_names
    from mobile_kit.runtime import embedded_metadata

    assert set(target_names()) == {"tflite-fp32", "tflite-fp16", "tflite-int8", "onnx", "coreml"}  # new: test it
    r = export_model(toy3, target, tmp_path / "t", head="logits")
    assert r.parity["passed"] and "class-map agreement" in r.parity["criterion"]
    inside = embedded_metadata(r.artifact)
    assert inside.output.kind == "logits" and inside.output.labels == CLASSES and inside.output.label_map == MAPPING


@pytest.mark.slow
def test_inspect_reads_a_core_ml_package_and_the_runtime_refuses_it_off_macos(coreml_exports):
    from mobile_kit.inspect import inspect_model
    from mobile_kit.runtime import load_segmenter

    pkg = coreml_exports["logits"].artifact
    rep = inspect_model(pkg)
    assert rep["format"] == "coreml" and rep["io"]["output"]["name"] == "logits"
    assert rep["preview_labels"] == list(CLASSES) and "2 bottom" in rep["output_description"]
    assert "softmax" not in rep["op_counts"] and rep["op_counts"]["conv"] >= 1
    assert rep["embedded_metadata"]["output"]["label_map"] == MAPPING
    if platform.system() != "Darwin":
        with pytest.raises(ModelError, match="model.mlpackage: Core ML predicts only on macOS"):
            load_segmenter(pkg)


@pytest.mark.parametrize("content", ["empty", "garbage_manifest"])
def test_inspect_of_a_broken_core_ml_package_is_a_user_error(tmp_path, content):
    """A folder named .mlpackage without a readable manifest: exit 2, one line naming the package, no crash log."""
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    pkg = tmp_path / "broken.mlpackage"
    pkg.mkdir()
    if content == "garbage_manifest":
        (pkg / "Manifest.json").write_text("{not json")
    r = CliRunner().invoke(app, ["inspect", str(pkg)])
    assert r.exit_code == 2, r.output
    assert "broken.mlpackage" in r.output and "expected a Core ML .mlpackage" in r.output
    assert "internal error" not in r.output
