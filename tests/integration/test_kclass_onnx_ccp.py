"""builtin:parsing exported to ONNX scores what the Keras model scores on real CCP photos (../shared)."""
import json
import shutil

import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import SHARED, need_shared

pytestmark = [pytest.mark.slow, pytest.mark.shared]
CCP = SHARED / "data" / "ccp"
#: fp32 ONNX vs Keras: class maps agree on ~100% of pixels, so the mIoUs agree to float rounding (6e-8 measured
#: on the 129 val photos); 1e-4 still catches one flipped part on one photo of twelve.
MIOU_TOLERANCE = 1e-4


def run(*args):
    r = CliRunner().invoke(app, [str(a) for a in args] + ["--quiet"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_onnx_export_of_builtin_parsing_scores_as_keras_on_ccp(tmp_path):
    data = need_shared(CCP)
    exp = run("export", "builtin:parsing", "--target", "onnx", "--data", data, "--split", "train",
              "--out", tmp_path / "onnx", "--json")
    p = exp["parity"]
    assert p["passed"] and p["class_agreement"] >= 0.999 and "class-map agreement" in p["criterion"]
    lone = tmp_path / "lone" / "parsing.onnx"  # no metadata.json beside it: the embedded contract is read
    lone.parent.mkdir()
    shutil.copy(tmp_path / "onnx" / "model.onnx", lone)
    split = ("--data", data, "--split", "val", "--val-fraction", 0.15, "--limit", 12, "--exclude", "background",
             "--json")
    got, ref = run("eval", lone, *split), run("eval", "builtin:parsing", *split)
    assert got["n_images"] == ref["n_images"] == 12 and got["labels"] == ref["labels"]
    assert got["miou"] == pytest.approx(ref["miou"], abs=MIOU_TOLERANCE)
    assert got["pixel_accuracy"] == pytest.approx(ref["pixel_accuracy"], abs=MIOU_TOLERANCE)
    for name, iou in ref["per_class_iou"].items():
        assert got["per_class_iou"][name] == pytest.approx(iou, abs=MIOU_TOLERANCE), name
    assert 0.3 < got["miou"] < 0.8  # a real model on real photos, not an empty map scored against itself
