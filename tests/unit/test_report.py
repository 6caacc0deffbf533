import json

import pytest

from mobile_kit.bench.report import report, validate_result
from mobile_kit.errors import BenchmarkError


def _result(name, device, p50_us, iou, size):
    return {"schema_version": 1, "artifact": f"/x/{name}/model.tflite", "model_sha256": "a" * 64, "size_bytes": size,
            "device": device, "runtime": {"name": "litert-python"}, "delegate": "cpu", "threads": 2,
            "latency_us": {"min": p50_us * 0.9, "p50": p50_us, "mean": p50_us}, "memory_mb": {"model_delta": 12.0},
            "accuracy": {"person_iou": iou, "miou": iou}, "toolkit_version": "0.1.0", "date": "2026-11-27"}


def test_report_merges_local_and_adb_results_into_table_and_plot(tmp_path, tiny_run):
    from mobile_kit.bench import bench_local
    from mobile_kit.export import export_model

    art = export_model(tiny_run, "tflite-fp32", tmp_path / "fp32").artifact
    local = bench_local(art, threads=1, runs=3, warmup=1).to_dict()
    validate_result(local)
    (tmp_path / "local.json").write_text(json.dumps(local))
    adb = {"results": [_result("int8", {"kind": "adb", "model": "Pixel 7", "manufacturer": "Google", "soc": "Tensor G2"},
                               2500.0, 0.85, 250_000),
                       {"artifact": "/x/int8/model.tflite", "device": {"serial": "R58"}, "delegate": "gpu",
                        "error": "exit status 1: benchmark_model produced no timings"}]}
    (tmp_path / "adb.json").write_text(json.dumps(adb))
    r = report([tmp_path / "local.json", tmp_path / "adb.json"], tmp_path / "rep")
    assert r["results"] == 2 and r["failed"] == 1
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "Google Pixel 7 (Tensor G2)" in md and "| 2.50 |" in md and "0.8500" in md and "failed" in md
    assert "int8/model.tflite" in md and "fp32/model.tflite" in md
    png = (tmp_path / "rep" / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_schema_violations_name_the_file_and_field(tmp_path):
    bad = _result("a", {"kind": "local"}, 100.0, 0.5, 10)
    bad["latency_us"] = {"p50": 1.0}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(BenchmarkError, match=r"bad.json \[0\].*latency_us.*'min' is a required property"):
        report([tmp_path / "bad.json"], tmp_path / "o")
    (tmp_path / "nojson.json").write_text("{")
    with pytest.raises(BenchmarkError, match="expected JSON"):
        report([tmp_path / "nojson.json"], tmp_path / "o")
    assert not (tmp_path / "o").exists()
