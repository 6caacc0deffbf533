"""K-class (body-part parsing) golden vectors, format version 2: ``builtin:parsing`` exported to tflite-fp32 and
tflite-int8 (uint8 I/O) with ``--bundle``; the Java core's GoldenCheck reproduces the class maps at model and
frame size and the parts overlay, and fails on a wrong normalisation or palette."""
from __future__ import annotations

import inspect
import json
import shutil

import numpy as np
import pytest

from tests.apps.conftest import golden_check


def _manifest(bundle):
    return json.loads((bundle / "golden" / "manifest.json").read_text())


@pytest.mark.slow
def test_parsing_golden_matches_the_toolkit_predict_path(parsing_bundles):
    """The golden class map at frame size is what ``predict --effect labels`` computes with the bundle's model,
    and the parts composite is ``predict --effect parts`` without its legend."""
    from mobile_kit.effects.parts import palette, parts_overlay
    from mobile_kit.export.golden import GOLDEN_VERSION, PARTS_ALPHA, argb_to_rgb, orient, read_array
    from mobile_kit.runtime import load_segmenter
    from mobile_kit.tasks import task_of

    assert PARTS_ALPHA == inspect.signature(parts_overlay).parameters["alpha"].default
    b = parsing_bundles["fp32"]
    m = _manifest(b)
    assert m["version"] == GOLDEN_VERSION == 2 and m["task"] == "parsing"
    labels = m["contract"]["output"]["labels"]
    assert len(labels) == 8 and m["parts"]["labels"] == labels
    assert m["parts"]["palette"] == palette(8).tolist() and m["parts"]["palette"][0] == [0, 0, 0]
    seg = load_segmenter(str(b / "model.tflite"))
    task = task_of(seg.metadata)
    g = b / "golden"
    seen = set()
    for case in m["cases"]:
        f = case["files"]
        src = read_array(g, f["source_argb"])
        img = argb_to_rgb(orient(src, case["rotation_degrees"], case["mirror"]))
        want = task.decode(seg.probabilities(img))
        cmf = read_array(g, f["class_map_frame"])
        assert cmf.shape == img.shape[:2] and cmf.dtype == np.uint8
        assert np.mean(cmf != want) <= 1e-3
        parts = argb_to_rgb(read_array(g, f["parts_argb"]))
        np.testing.assert_array_equal(parts, parts_overlay(img, cmf, labels)[:, :img.shape[1]])
        cm = read_array(g, f["class_map"])
        assert cm.shape == tuple(m["input_tensor"]["shape"][1:3])
        fg = read_array(g, f["prob_model"])
        np.testing.assert_allclose(fg, 1.0 - seg.probabilities(img, full_resolution=False)[..., 0], atol=1e-5)
        assert abs(sum(case["class_fractions"].values()) - 1) < 1e-6
        seen |= set(np.unique(cmf).tolist())
    assert len(seen) >= 4, seen  # real parts on the photos, not one class everywhere


@pytest.mark.slow
def test_golden_check_passes_on_parsing_exports(java_core, parsing_bundles):
    assert _manifest(parsing_bundles["int8-uint8"])["input_tensor"]["dtype"] == "uint8"
    rc, rep = golden_check(java_core, *parsing_bundles.values())
    assert rc == 0 and rep["ok"], rep
    assert [b["cases"] for b in rep["bundles"]] == [4, 4]
    for b in rep["bundles"]:
        w = b["worst"]
        assert w["class_map_mismatch_fraction"] == 0 and w["class_map_frame_mismatch_fraction"] <= 1e-3
        assert w["parts_max_abs"] <= 1 and w["input_mismatch_fraction"] <= 1e-3


def _tampered(src, tmp_path, edit=None, edit_manifest=None):
    dst = tmp_path / "tampered"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.tflite"))
    for path, fn in ((dst / "metadata.json", edit), (dst / "golden" / "manifest.json", edit_manifest)):
        if fn is not None:
            d = json.loads(path.read_text())
            fn(d)
            path.write_text(json.dumps(d))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("bundle", ["fp32", "int8-uint8"])
def test_golden_check_fails_on_a_wrong_normalisation_of_a_parsing_model(java_core, parsing_bundles, tmp_path, bundle):
    def wrong_scale(meta):  # 0..1 read as -1..1
        meta["input"]["scale"], meta["input"]["offset"] = 2.0 / 255.0, -1.0

    rc, rep = golden_check(java_core, _tampered(parsing_bundles[bundle], tmp_path, wrong_scale))
    assert rc == 1 and not rep["ok"]
    assert any("input_max_abs" in f for f in rep["bundles"][0]["failures"]), rep


@pytest.mark.slow
def test_golden_check_fails_on_another_palette_or_alpha(java_core, parsing_bundles, tmp_path):
    def swap(man):
        pal = man["parts"]["palette"]
        pal[1], pal[2] = pal[2], pal[1]
        man["parts"]["alpha"] = 0.5

    rc, rep = golden_check(java_core, _tampered(parsing_bundles["fp32"], tmp_path, edit_manifest=swap))
    fails = rep["bundles"][0]["failures"]
    assert rc == 1 and any("palette[1]" in f for f in fails) and any("parts alpha" in f for f in fails), fails
