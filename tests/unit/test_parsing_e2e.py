"""A 3-class toy parsing task end to end: train -> eval -> predict parts -> measure -> export (synthetic, seconds)."""
import json

import numpy as np
import pytest

from tests.conftest import write_jpg, write_png

CLASSES = ["background", "red-part", "blue-part"]


@pytest.fixture(scope="module")
def toy_parsing(tmp_path_factory):
    """16 photos 64x64: noise background, a red block (class 1) and a blue block (class 2), labels/ + classes.json."""
    root = tmp_path_factory.mktemp("toy") / "ds"
    rng = np.random.default_rng(0)
    for i in range(16):
        lab = np.zeros((64, 64), np.uint8)
        img = rng.integers(60, 140, size=(64, 64, 3), dtype=np.uint8)
        for cls, colour in ((1, (230, 30, 30)), (2, (30, 30, 230))):
            y, x = rng.integers(0, 36, size=2)
            lab[y:y + 24, x:x + 20] = cls
            img[lab == cls] = colour
        write_jpg(root / "images" / f"t{i:02d}.jpg", img)
        write_png(root / "labels" / f"t{i:02d}.png", lab)
    (root / "classes.json").write_text(json.dumps({"classes": CLASSES}))
    return root


@pytest.fixture(scope="module")
def toy_run(toy_parsing, tmp_path_factory):
    from mobile_kit.training import train

    out = tmp_path_factory.mktemp("run") / "r"
    r = train(toy_parsing, out, task="parsing", arch="unet", arch_options={"base_filters": 16, "depth": 2}, input_size=64, epochs=12, batch_size=2, learning_rate=1e-2,
              val_fraction=0.25, augment=False, seed=0)
    return r


def test_train_writes_a_parsing_contract(toy_run):
    from mobile_kit.specs import ModelMetadata

    meta = ModelMetadata.load(toy_run.metadata_path)
    assert meta.task["name"] == "parsing" and meta.output.labels == tuple(CLASSES)
    hist = json.loads((toy_run.run_dir / "history.json").read_text())
    assert "val_miou" in hist[-1] and "val_person_iou" not in hist[-1]
    assert set(toy_run.val_metrics["per_class_iou"]) == set(CLASSES)


def test_eval_learns_the_toy_classes(toy_run, toy_parsing):
    from mobile_kit.eval import evaluate
    from mobile_kit.runtime import load_segmenter

    r = evaluate(load_segmenter(toy_run.run_dir), toy_parsing, exclude=("background",))
    assert r.n_images == 16 and r.excluded == ["background"]
    # all-background would score pixel accuracy ~0.77 and part IoUs 0; a few epochs learn colour -> part
    assert r.pixel_accuracy > 0.8
    assert r.per_class_iou["red-part"] > 0.3 and r.per_class_iou["blue-part"] > 0.3
    assert r.miou > 0.3 and r.miou_all_classes > r.miou  # background is the easiest class


def test_predict_parts_and_measure(toy_run, toy_parsing, tmp_path):
    import cv2

    from mobile_kit.data.dataset import load_image
    from mobile_kit.measure import measure
    from mobile_kit.predict import predict
    from mobile_kit.runtime import load_segmenter

    seg = load_segmenter(toy_run.run_dir)
    img = load_image(toy_parsing / "images" / "t00.jpg")
    res = predict(seg, [("t00", img)], tmp_path, effect="parts")
    out = cv2.imread(str(res[0].output))
    assert out.shape[0] == 64 and out.shape[1] > 64  # legend strip
    assert set(res[0].class_fractions) == set(CLASSES)
    m = measure(seg, [("t00", img)], height_cm=100.0)[0]
    cmap = seg.probabilities(img).argmax(-1)
    assert m.parts["red-part"]["pixels"] == int((cmap == 1).sum()) > 0
    rows = np.flatnonzero((cmap > 0).any(axis=1))
    assert m.body_height_px == rows[-1] - rows[0] + 1
    assert m.parts["blue-part"]["area_cm2"] == pytest.approx((cmap == 2).sum() * (100.0 / m.body_height_px) ** 2)
    with pytest.raises(Exception, match="effect"):
        predict(seg, [("t00", img)], tmp_path, effect="nope")


@pytest.mark.slow
def test_export_k_class_logits_int8_and_refuse_sigmoid(toy_run, toy_parsing, tmp_path):
    from mobile_kit.errors import ModelError
    from mobile_kit.export import export_model
    from mobile_kit.specs import ModelMetadata

    with pytest.raises(ModelError, match="sigmoid"):
        export_model(toy_run.run_dir, "tflite-fp32", tmp_path / "s", head="sigmoid")
    r = export_model(toy_run.run_dir, "tflite-int8", tmp_path / "q", head="logits", data=toy_parsing)
    assert "class_agreement" in r.parity and r.parity["passed"]
    meta = ModelMetadata.load(r.metadata_path)
    assert meta.output.kind == "logits" and meta.output.labels == tuple(CLASSES) and meta.task["name"] == "parsing"
