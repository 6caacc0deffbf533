"""End to end on real photos from ../shared: train -> export (3 targets) -> eval -> bench -> predict."""
import json

import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.slow
runner = CliRunner()


def run(*args):
    r = runner.invoke(app, [str(a) for a in args] + ["--quiet"])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = need_shared()
    run_dir = tmp_path_factory.mktemp("e2e") / "run"
    r = run("train", "--data", data, "--out", run_dir, "--input-size", 64, "--epochs", 2, "--max-images", 24,
            "--batch-size", 4, "--json")
    return data, run_dir, json.loads(r.stdout)


def test_train_writes_run_folder(trained):
    data, run_dir, res = trained
    for f in ("model.keras", "metadata.json", "history.json"):
        assert (run_dir / f).is_file()
    assert list((run_dir / "logs").iterdir()), "TensorBoard logs"
    hist = json.loads((run_dir / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and all("val_person_iou" in h for h in hist)
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["input"]["height"] == 64 and meta["output"]["kind"] == "softmax"
    assert meta["training"]["n_train"] + meta["training"]["n_val"] == 24
    assert meta["metrics"]["val"]["n_images"] == meta["training"]["n_val"]
    assert res["val_metrics"]["person_iou"] == meta["metrics"]["val"]["person_iou"]


def test_resume_continues_without_losing_history(trained, tmp_path):
    import shutil

    data, run_dir, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    r = runner.invoke(app, ["train", "--data", str(data), "--out", str(copy), "--input-size", "64", "--epochs", "3",
                            "--max-images", "24", "--batch-size", "4", "--quiet"])
    assert r.exit_code == 2 and "--resume" in r.output  # refuses to clobber a run
    run("train", "--data", data, "--out", copy, "--input-size", 64, "--epochs", 3, "--max-images", 24,
        "--batch-size", 4, "--resume")
    before = json.loads((run_dir / "history.json").read_text())
    after = json.loads((copy / "history.json").read_text())
    assert [h["epoch"] for h in after] == [1, 2, 3]
    assert after[:2] == before


def test_export_eval_bench_predict(trained, tmp_path):
    data, run_dir, _ = trained
    arts = {}
    for target in ("tflite-fp32", "tflite-fp16", "tflite-int8"):
        extra = ["--skip-parity", "--num-calibration", 16] if target == "tflite-int8" else []
        r = run("export", run_dir, "--target", target, "--out", tmp_path / target, "--data", data, "--json", *extra)
        res = json.loads(r.stdout)
        arts[target] = res["artifact"]
        assert res["parity"]["n_images"] == 8 and "photos from" in res["parity"]["inputs"]
        if target != "tflite-int8":  # a 2-epoch model's int8 parity is judged on the built-in model instead
            assert res["parity"]["passed"]
    sizes = {t: (tmp_path / t / "model.tflite").stat().st_size for t in arts}
    assert sizes["tflite-int8"] < sizes["tflite-fp16"] < sizes["tflite-fp32"]

    keras_eval = json.loads(run("eval", run_dir, "--data", data, "--split", "val", "--json").stdout)
    fp32_eval = json.loads(run("eval", arts["tflite-fp32"], "--data", data, "--split", "val", "--json").stdout)
    assert keras_eval["n_images"] == fp32_eval["n_images"] > 0
    assert fp32_eval["person_iou"] == pytest.approx(keras_eval["person_iou"], abs=1e-3)

    b = json.loads(run("bench", arts["tflite-int8"], "--runs", 5, "--warmup", 1, "--data", data, "--split", "val",
                       "--json").stdout)["results"][0]
    assert b["latency_us"]["p50"] > 0 and b["accuracy"]["n_images"] == keras_eval["n_images"]

    photo = SHARED / "photos" / "portrait-tests" / "one.jpeg"
    p = json.loads(run("predict", arts["tflite-int8"], photo, "--effect", "blur", "--out", tmp_path / "pred",
                       "--json").stdout)
    import cv2

    out = cv2.imread(p[0]["output"])
    src = cv2.imread(str(photo))
    assert out.shape == src.shape


def test_qat_from_the_builtin_model_exports_fully_integer(tmp_path):
    data = need_shared()
    r = run("qat", "--data", data, "--out", tmp_path / "qat", "--epochs", 1, "--max-images", 12, "--batch-size", 4,
            "--json")
    d = json.loads(r.stdout)
    assert d["op_report"]["fully_integer"], d["op_report"]["float_ops"]
    assert (tmp_path / "qat" / "model.h5").is_file() and (tmp_path / "qat" / "tflite-int8" / "model.tflite").is_file()
    meta = json.loads((tmp_path / "qat" / "tflite-int8" / "metadata.json").read_text())
    assert meta["quantization"]["input"]["dtype"] == "int8" and meta["parity"]["passed"]
    assert d["val_metrics_int8"]["n_images"] > 0
