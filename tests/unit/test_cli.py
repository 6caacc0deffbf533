"""CLI: thin commands, clear errors (exit 2, no traceback), JSON output."""
import json

from typer.testing import CliRunner

from mobile_kit.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _assert_user_error(r, *fragments):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for f in fragments:
        assert f in r.output, r.output


def test_help_lists_commands():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("train", "export", "eval", "bench", "predict", "quickstart", "validate"):
        assert cmd in r.output


def test_nonexistent_paths(tmp_path):
    _assert_user_error(run("eval", tmp_path / "nope.tflite", "--data", tmp_path), "nope.tflite", "not found")
    _assert_user_error(run("validate", tmp_path / "nods"), "nods", "not found")


def test_empty_dataset(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    _assert_user_error(run("validate", tmp_path), "empty dataset")
    _assert_user_error(run("train", "--data", tmp_path, "--out", tmp_path / "run"), "empty dataset")
    assert not (tmp_path / "run").exists()


def test_corrupt_jpeg_and_non_binary_mask_fail_training_with_nothing_written(make_dataset, tmp_path):
    import numpy as np

    from tests.conftest import write_png

    root = make_dataset(n=3)
    p = root / "images" / "img0.jpg"
    p.write_bytes(p.read_bytes()[:200])
    write_png(root / "masks" / "img1.png", np.full((48, 64), 7, np.uint8))
    r = run("train", "--data", root, "--out", tmp_path / "run", "--input-size", 32, "--epochs", 1)
    _assert_user_error(r, "img0.jpg", "truncated", "img1.png", "binary mask")
    assert not (tmp_path / "run").exists()
    r = run("validate", root, "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["pairs"] == 1


def test_unknown_names_list_valid_ones(tiny_run, tmp_path, make_dataset):
    _assert_user_error(run("export", tiny_run, "--target", "tflite-int4", "--out", tmp_path / "o"),
                       "tflite-fp16, tflite-fp32, tflite-int8")
    _assert_user_error(run("train", "--data", make_dataset(), "--out", tmp_path / "r", "--arch", "resnet"),
                       "likeunet, mbv2_lraspp, unet")
    _assert_user_error(run("train", "--data", make_dataset(), "--out", tmp_path / "r", "--input-size", 100),
                       "multiples of 32")
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()


def test_third_party_tflite_needs_its_contract(tiny_run, tmp_path, make_dataset):
    import tensorflow as tf

    from mobile_kit.runtime import load_keras_model

    # a plain converter output: no metadata.json beside it and no contract inside (mobilekit exports embed theirs)
    art = tmp_path / "a" / "model.tflite"
    art.parent.mkdir()
    art.write_bytes(tf.lite.TFLiteConverter.from_keras_model(load_keras_model(tiny_run / "model.keras")).convert())
    _assert_user_error(run("eval", art, "--data", make_dataset()), "--input-norm", "--output-kind")
    r = run("eval", art, "--data", make_dataset(), "--input-norm", "0..1", "--output-kind", "softmax", "--json",
            "--quiet")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["n_images"] == 3 and 0 <= d["person_iou"] <= 1


def test_export_bench_predict_json(tiny_run, tmp_path):
    r = run("export", tiny_run, "--target", "tflite-fp16", "--out", tmp_path / "fp16", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    art = json.loads(r.stdout)["artifact"]
    r = run("bench", art, "--runs", 3, "--warmup", 1, "--json", "--quiet", "--out", tmp_path / "b.json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["results"][0]["latency_us"]["p50"] > 0
    assert json.loads((tmp_path / "b.json").read_text())["results"][0]["model_sha256"]
    r = run("predict", art, "--sample", "astronaut", "--effect", "overlay", "--out", tmp_path / "p", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)[0]
    assert (out["width"], out["height"]) == (512, 512) and (tmp_path / "p" / "astronaut_overlay.png").is_file()
    _assert_user_error(run("predict", art, "--effect", "sepia", "--sample", "astronaut", "--out", tmp_path / "q"),
                       "blur, mask, overlay")
    _assert_user_error(run("bench", art, "--device", "ios"), "'local' or 'adb'")


def test_quickstart_runs_the_main_job(tmp_path):
    r = run("quickstart", "--out", tmp_path / "qs", "--runs", 3, "--json", "--quiet")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert (tmp_path / "qs" / "tflite-int8" / "model.tflite").is_file()
    assert (tmp_path / "qs" / "tflite-int8" / "metadata.json").is_file()
    assert json.loads((tmp_path / "qs" / "bench.json").read_text())["latency_us"]["p50"] > 0
    assert (tmp_path / "qs" / "astronaut_blur.png").is_file() and (tmp_path / "qs" / "astronaut_mask.png").is_file()
    assert d["export"]["parity"]["passed"] and d["summary"]["size_bytes"] == d["export"]["size_bytes"]


def test_inspect_fold_and_import_errors(tiny_run, tmp_path):
    r = run("inspect", tiny_run, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["format"] == "keras" and d["macs"] > 0 and d["layers"]["BatchNormalization"] == 15
    r = run("fold", tiny_run, "--out", tmp_path / "folded", "--json")
    assert r.exit_code == 0, r.output
    f = json.loads(r.stdout)
    assert len(f["batchnorms"]) == 15 and f["max_abs_diff"] < 1e-4
    assert (tmp_path / "folded" / "model.keras").is_file() and (tmp_path / "folded" / "metadata.json").is_file()
    r = run("inspect", tmp_path / "folded", "--json")
    assert "BatchNormalization" not in json.loads(r.stdout)["layers"]
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage")
    _assert_user_error(run("import", tmp_path / "bad.onnx", "--out", tmp_path / "imp"), "bad.onnx")
    assert not (tmp_path / "imp").exists()
    _assert_user_error(run("export", tiny_run, "--target", "onnx"), "exactly one of --out DIR or --bundle DIR")
    _assert_user_error(run("export", tiny_run, "--target", "tflite-fp32", "--head", "tanh", "--out", tmp_path / "h"),
                       "logits, sigmoid, softmax")
