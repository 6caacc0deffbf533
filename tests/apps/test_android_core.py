"""android_demo :core (pure Java 8) built with javac, its JUnit 4 tests, and GoldenCheck against real exports.

Done-when of issue 9: GoldenCheck passes on bundles of three exports of the built-in model (fp32 softmax,
fp32 sigmoid, int8 with uint8 I/O), fails on a wrong normalisation, and follows a contract with another
size, normalisation and labels.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.apps.conftest import ANDROID, CORE, golden_check


def test_core_has_no_android_imports_and_no_dependencies():
    for p in (CORE / "main" / "java").rglob("*.java"):
        imports = re.findall(r"^import\s+(?:static\s+)?([\w.]+)", p.read_text(), re.M)
        assert all(i.startswith("java.") for i in imports), (p.name, imports)
    gradle = (ANDROID / "core" / "build.gradle.kts").read_text()
    assert not re.search(r"^\s*(implementation|api)\(", gradle, re.M) and "JavaVersion.VERSION_1_8" in gradle


def test_junit_suite_passes(java_core):
    if java_core["junit_cp"] is None:
        pytest.skip("JUnit 4 not installed (apt-get install junit4): /usr/share/java/junit4.jar missing")
    classes = sorted(p.relative_to(CORE / "test" / "java").with_suffix("").as_posix().replace("/", ".")
                     for p in (CORE / "test" / "java").rglob("*Test.java"))
    assert len(classes) >= 5
    import os

    cp = os.pathsep.join([str(java_core["classes"]), java_core["junit_cp"]])
    r = subprocess.run([java_core["java"], "-cp", cp, "org.junit.runner.JUnitCore", *classes],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:]
    n = int(re.search(r"OK \((\d+) tests\)", r.stdout).group(1))
    assert n >= 20


@pytest.mark.slow
def test_golden_check_passes_on_three_builtin_exports(java_core, builtin_bundles):
    for name, b in builtin_bundles.items():
        m = json.loads((b / "golden" / "manifest.json").read_text())
        assert m["artifact_sha256"] and len(m["cases"]) == 4
        assert {c["rotation_degrees"] for c in m["cases"]} >= {0, 90, 270} and any(c["mirror"] for c in m["cases"])
        assert {c["resize"] for c in m["cases"]} == {"area", "bilinear"}
        assert all((c["height"], c["width"]) != (256, 256) for c in m["cases"])
    assert json.loads((builtin_bundles["int8-uint8"] / "golden" / "manifest.json").read_text())["input_tensor"]["dtype"] == "uint8"
    assert json.loads((builtin_bundles["fp32-sigmoid"] / "golden" / "manifest.json").read_text())["output_tensor"]["shape"][-1] == 1
    rc, rep = golden_check(java_core, *builtin_bundles.values())
    assert rc == 0 and rep["ok"], rep
    assert [b["cases"] for b in rep["bundles"]] == [4, 4, 4]
    for b in rep["bundles"]:
        w = b["worst"]
        assert w["input_mismatch_fraction"] <= 1e-3 and w["prob_model_max_abs"] <= 1e-5
        assert w["mask_mismatch_fraction"] == 0 and w["composite_max_abs"] <= 1


def _tampered(src, tmp_path, edit):
    dst = tmp_path / "tampered"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.tflite"))
    meta = json.loads((dst / "metadata.json").read_text())
    edit(meta)
    (dst / "metadata.json").write_text(json.dumps(meta))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("bundle", ["fp32", "int8-uint8"])
def test_golden_check_fails_on_a_wrong_normalisation(java_core, builtin_bundles, tmp_path, bundle):
    def wrong_scale(meta):  # 0..1 read as -1..1, the classic app bug
        meta["input"]["scale"], meta["input"]["offset"] = 2.0 / 255.0, -1.0

    rc, rep = golden_check(java_core, _tampered(builtin_bundles[bundle], tmp_path, wrong_scale))
    assert rc == 1 and not rep["ok"]
    fails = rep["bundles"][0]["failures"]
    assert any("input_max_abs" in f for f in fails), fails


@pytest.mark.slow
def test_golden_check_fails_on_wrong_person_channel(java_core, builtin_bundles, tmp_path):
    rc, rep = golden_check(java_core, _tampered(builtin_bundles["fp32"], tmp_path,
                                                lambda m: m["output"].update(foreground_index=0)))
    assert rc == 1 and any("prob_model_max_abs" in f for f in rep["bundles"][0]["failures"])


@pytest.mark.slow
def test_golden_check_fails_when_the_model_is_not_the_one_golden_was_written_for(java_core, builtin_bundles, tmp_path):
    dst = tmp_path / "mixed"
    shutil.copytree(builtin_bundles["fp32"], dst)
    shutil.copyfile(builtin_bundles["fp32-sigmoid"] / "model.tflite", dst / "model.tflite")
    # the softmax metadata.json disagrees with the sigmoid contract embedded in the swapped model
    rc, rep = golden_check(java_core, dst)
    assert rc == 2 and "disagrees with the contract embedded in model.tflite" in rep["bundles"][0]["error"]
    assert "output.labels" in rep["bundles"][0]["error"]
    # without metadata.json the embedded contract is used, and the golden SHA-256 catches the swap
    (dst / "metadata.json").unlink()
    rc, rep = golden_check(java_core, dst)
    assert rc == 1 and any("SHA-256" in f for f in rep["bundles"][0]["failures"])


def test_golden_check_reports_unreadable_bundles(java_core, tmp_path):
    rc, rep = golden_check(java_core, tmp_path)
    assert rc == 2 and not rep["ok"] and "manifest.json" in rep["bundles"][0]["error"]


def _synthetic_bundle(root, name, spec, out_spec, num_classes, target, **kw):
    import tf_keras as keras

    from mobile_kit.export import export_model
    from mobile_kit.models import build_model
    from mobile_kit.specs import ModelMetadata

    keras.utils.set_random_seed(1)
    run = root / f"{name}-run"
    run.mkdir()
    build_model("likeunet", spec, num_classes).save(str(run / "model.keras"))
    ModelMetadata(input=spec, output=out_spec, name=name, arch="likeunet").save(run / "metadata.json")
    export_model(run, target, root / name, bundle=True, **kw)
    return root / name


@pytest.mark.slow
def test_core_follows_another_contract(java_core, tmp_path):
    """Another size, per-channel mean/std normalisation in BGR, 3 labels (argmax class map); and a grayscale
    -1..1 model at 96x64 exported to int8 with int8 I/O: nothing about the built-in model is assumed."""
    from mobile_kit.export.golden import read_array
    from mobile_kit.specs import InputSpec, OutputSpec

    mean, std = np.array([123.7, 116.3, 103.5]), np.array([58.4, 57.1, 57.4])
    bgr = _synthetic_bundle(tmp_path, "bgr3", InputSpec(64, 96, 3, scale=tuple(1 / std), offset=tuple(-mean / std),
                                                        channel_order="BGR"),
                            OutputSpec("softmax", ("background", "person", "hair"), foreground_index=1, threshold=0.4),
                            3, "tflite-fp32")
    gray = _synthetic_bundle(tmp_path, "gray", InputSpec(96, 64, 1, scale=2 / 255, offset=-1.0),
                             OutputSpec("softmax", ("background", "person"), foreground_index=1), 2, "tflite-int8",
                             int8_io="int8", skip_parity=True)
    m = json.loads((bgr / "golden" / "manifest.json").read_text())
    case = m["cases"][0]
    assert m["input_tensor"]["shape"] == [1, 64, 96, 3] and "class_map" in case["files"]
    cm = read_array(bgr / "golden", case["files"]["class_map"])
    assert cm.shape == (64, 96) and cm.max() <= 2
    assert json.loads((gray / "golden" / "manifest.json").read_text())["input_tensor"]["dtype"] == "int8"
    rc, rep = golden_check(java_core, bgr, gray)
    assert rc == 0 and rep["ok"], rep
    assert "class_map_mismatch_fraction" in rep["bundles"][0]["worst"]
    # the core really reads the contract: the same bundle read as RGB fails
    rc, rep = golden_check(java_core, _tampered(bgr, tmp_path, lambda d: d["input"].update(channel_order="RGB")))
    assert rc == 1 and any("input_max_abs" in f for f in rep["bundles"][0]["failures"])


def _without_sidecar(src, dst):
    """A copy of bundle ``src`` with no metadata.json and no contract copy in golden/manifest.json: the only
    contract left is the one embedded in model.tflite."""
    shutil.copytree(src, dst)
    (dst / "metadata.json").unlink()
    man = json.loads((dst / "golden" / "manifest.json").read_text())
    man.pop("contract", None)
    (dst / "golden" / "manifest.json").write_text(json.dumps(man))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("bundle", ["fp32", "int8-uint8"])
def test_golden_check_reads_the_contract_embedded_in_the_tflite(java_core, builtin_bundles, tmp_path, bundle):
    from mobile_kit.export.tflite_metadata import read_tflite_contract

    src = builtin_bundles[bundle]
    assert read_tflite_contract(src / "model.tflite")["input"] == json.loads((src / "metadata.json").read_text())["input"]
    rc, rep = golden_check(java_core, _without_sidecar(src, tmp_path / "embedded"))
    assert rc == 0 and rep["ok"], rep
    assert rep["bundles"][0]["cases"] == 4 and rep["bundles"][0]["worst"]["mask_mismatch_fraction"] == 0


@pytest.mark.slow
def test_golden_check_refuses_a_metadata_json_that_disagrees_with_the_embedded_contract(java_core, builtin_bundles, tmp_path):
    dst = tmp_path / "stale"
    shutil.copytree(builtin_bundles["fp32"], dst)
    meta = json.loads((dst / "metadata.json").read_text())
    meta["input"]["scale"], meta["input"]["offset"] = 2.0 / 255.0, -1.0
    meta["output"]["threshold"] = 0.7
    (dst / "metadata.json").write_text(json.dumps(meta))
    rc, rep = golden_check(java_core, dst)
    assert rc == 2 and not rep["ok"]
    err = rep["bundles"][0]["error"]
    assert "disagrees with the contract embedded in model.tflite" in err
    assert "input.scale" in err and "input.offset" in err and "output.threshold" in err and "input.height" not in err
    # a provenance-only difference is not a disagreement
    meta = json.loads((builtin_bundles["fp32"] / "metadata.json").read_text())
    meta["notes"] = "edited by hand"
    (dst / "metadata.json").write_text(json.dumps(meta))
    rc, rep = golden_check(java_core, dst)
    assert rc == 0 and rep["ok"], rep
