"""builtin:parsing on real CCP photos (../shared): the done-when chain export -> eval -> predict parts -> measure."""
import json

import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.slow
CCP = SHARED / "data" / "ccp"
runner = CliRunner()


def run(*args):
    r = runner.invoke(app, [str(a) for a in args] + ["--quiet"])
    assert r.exit_code == 0, r.output
    return r


def test_builtin_parsing_chain_on_ccp(tmp_path):
    data = need_shared(CCP)
    exp = json.loads(run("export", "builtin:parsing", "--target", "tflite-int8", "--data", data, "--split", "train",
                         "--num-calibration", 16, "--out", tmp_path / "int8", "--json").stdout)
    assert exp["parity"]["passed"] and exp["parity"]["class_agreement"] >= 0.95
    art = tmp_path / "int8" / "model.tflite"
    meta = json.loads((tmp_path / "int8" / "metadata.json").read_text())
    assert meta["task"]["name"] == "parsing" and meta["output"]["label_map"]["jeans"] == 4
    ev = json.loads(run("eval", art, "--data", data, "--split", "val", "--val-fraction", 0.15, "--limit", 12,
                        "--exclude", "background", "--out", tmp_path / "eval.json", "--json").stdout)
    assert ev["excluded"] == ["background"] and 0.3 < ev["miou"] < 0.8 and ev["pixel_accuracy"] > 0.85
    assert ev["per_class_iou"]["background"] > 0.9 and ev["per_class_iou"]["skin"] > 0.4
    assert len(json.loads((tmp_path / "eval.json").read_text())["per_image"]) == 12
    photo = sorted((data / "images").glob("*.jpg"))[0]
    pred = json.loads(run("predict", art, photo, "--effect", "parts", "--out", tmp_path / "p", "--json").stdout)
    assert pred[0]["class_fractions"]["background"] < 0.9 and (tmp_path / "p" / f"{photo.stem}_parts.png").is_file()
    run("measure", art, photo, "--height-cm", 170, "--out", tmp_path / "areas.json")
    areas = json.loads((tmp_path / "areas.json").read_text())["photos"][0]
    assert 300 < areas["body_height_px"] <= 832 and areas["parts"]["skin"]["area_cm2"] > 100
