import pytest

from mobile_kit.bench import bench_local
from mobile_kit.errors import BenchmarkError
from mobile_kit.export import export_model


def test_bench_local_reports_latency_size_and_provenance(tiny_run, tmp_path):
    art = export_model(tiny_run, "tflite-fp32", tmp_path).artifact
    r = bench_local(art, threads=1, runs=7, warmup=2).to_dict()
    lat = r["latency_us"]
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["max"] and lat["min"] > 0
    assert r["size_bytes"] == art.stat().st_size and len(r["model_sha256"]) == 64
    assert r["runs"] == 7 and r["threads"] == 1 and r["device"]["kind"] == "local"
    assert r["runtime"]["name"] == "litert-python" and r["date"]


def test_bench_rejects_non_tflite(tiny_run):
    with pytest.raises(BenchmarkError, match="expected a .tflite"):
        bench_local(tiny_run / "model.keras")
