"""The packaged model: contract, provenance, and an int8 export that keeps its masks."""
import json

import numpy as np

from mobile_kit.export import export_model
from mobile_kit.runtime import builtin_model_path, load_segmenter


def test_builtin_model_contract_and_recipe():
    meta = json.loads((builtin_model_path().parent / "metadata.json").read_text())
    assert meta["arch"] == "likeunet" and meta["input"]["height"] == 256 and meta["input"]["channels"] == 3
    assert meta["output"]["labels"] == ["background", "person"]
    assert meta["training"]["epochs"] >= 1 and meta["training"]["n_val"] > 0
    assert 0.5 < meta["metrics"]["val"]["person_iou"] <= 1
    assert "portrait" in meta["provenance"].lower()


def test_builtin_segments_the_astronaut():
    from mobile_kit.data.samples import sample_photo

    img = sample_photo("astronaut")
    p = load_segmenter(None).probability(img)
    assert p.shape == (512, 512)
    m = p > 0.5
    # Eileen Collins fills the left-centre of the frame; the top-right corner is background.
    assert m[200:400, 150:300].mean() > 0.8
    assert m[:80, 430:].mean() < 0.2


def test_builtin_int8_export_keeps_masks(tmp_path):
    r = export_model(None, "tflite-int8", tmp_path, num_calibration=16)
    assert r.parity["passed"] and r.parity["mask_iou"] >= 0.97
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(r.artifact))
    assert it.get_input_details()[0]["dtype"] == np.int8
    assert r.size_bytes < 400_000


def test_builtin_parsing_contract_and_figures():
    from mobile_kit.specs import ModelMetadata
    from mobile_kit.tasks import task_of

    path = builtin_model_path("parsing")
    assert path == load_segmenter("builtin:parsing").path
    assert path.stat().st_size < 2_000_000
    meta = ModelMetadata.load(path.parent / "metadata.json")
    task = task_of(meta)
    assert task.name == "parsing" and meta.output.labels[0] == "background" and len(meta.output.labels) == 8
    assert meta.output.label_map["sneakers"] == meta.output.labels.index("shoes")  # ccp-8 grouping travels along
    val = meta.metrics["val"]
    assert val["n_images"] == 129 and val["excluded"] == ["background"]
    assert 0.3 < val["miou"] <= 1 and val["per_class_iou"]["skin"] > 0.4
    assert "ccp" in meta.provenance.lower() and meta.training["val_fraction"] == 0.15


def test_builtin_parsing_finds_parts_on_the_astronaut():
    from mobile_kit.data.samples import sample_photo

    seg = load_segmenter("builtin:parsing")
    probs = seg.probabilities(sample_photo("astronaut"))
    assert probs.shape == (512, 512, 8) and np.allclose(probs.sum(-1), 1, atol=1e-4)
    cmap = probs.argmax(-1)
    labels = seg.output_spec.labels
    # the suit's upper body and the face/hands: clothes and skin found; the top-right corner is background
    assert np.isin(cmap[250:450, 150:350], [labels.index("upper-clothes"), labels.index("dress")]).mean() > 0.3
    assert (cmap[:80, 430:] == 0).mean() > 0.7
