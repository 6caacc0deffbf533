"""bench --device adb against a fake adb that records every command (no phone needed)."""
import json
import os
import shutil
from pathlib import Path

import pytest

from mobile_kit.bench.adb import Adb, REMOTE_DIR, bench_adb, binary_for_abi, parse_devices
from mobile_kit.errors import BenchmarkError, DeviceError

FIX = Path(__file__).resolve().parents[1] / "fixtures"
BM = FIX / "benchmark_model"

DEVICES = """List of devices attached
R58M123ABC             device usb:1-1 product:beyond1lteeea model:SM_G973F device:beyond1 transport_id:3
emulator-5554          unauthorized usb:1-2 transport_id:4
0123456789             offline transport_id:5
PIX7                   device usb:1-3 product:panther model:Pixel_7 device:panther transport_id:6

"""
PROPS = {
    "R58M123ABC": {"ro.product.model": "SM-G973F", "ro.product.manufacturer": "samsung", "ro.board.platform": "exynos5",
                   "ro.hardware": "exynos9820", "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "12",
                   "ro.build.version.sdk": "31"},
    "PIX7": {"ro.product.model": "Pixel 7", "ro.product.manufacturer": "Google", "ro.soc.model": "Tensor G2",
             "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "14", "ro.build.version.sdk": "34"},
}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy(FIX / "fake_adb" / "adb", bindir / "adb")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "adb.log"
    monkeypatch.setenv("FAKE_ADB_LOG", str(log))
    scenario = tmp_path / "scenario.json"
    monkeypatch.setenv("FAKE_ADB_SCENARIO", str(scenario))
    model = tmp_path / "model.tflite"
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(100))
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake")

    class F:
        def __init__(self):
            self.model, self.binary, self.tmp = model, binary, tmp_path

        def scenario(self, **kw):
            base = {"devices": DEVICES, "props": PROPS,
                    "bench": {s: {"cpu": str(BM / "new_format_cpu.txt"), "gpu": str(BM / "gpu_full_delegation_2.txt"),
                                  "nnapi": str(BM / "crash.txt")} for s in PROPS}}
            base.update(kw)
            scenario.write_text(json.dumps(base))

        def calls(self, serial=None):
            rows = [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
            return [r[2:] for r in rows if r[:2] == ["-s", serial]] if serial else rows

    return F()


def test_parse_devices_states():
    devs = parse_devices(DEVICES)
    assert [(d.serial, d.state) for d in devs] == [("R58M123ABC", "device"), ("emulator-5554", "unauthorized"),
                                                   ("0123456789", "offline"), ("PIX7", "device")]
    assert devs[0].details["model"] == "SM_G973F"
    assert parse_devices("List of devices attached\n\n") == []


def test_runs_on_every_ready_device_with_exact_commands_and_cleanup(fake):
    fake.scenario()
    r = bench_adb([fake.model], delegates=["cpu", "gpu"], threads=4, runs=50, warmup=5, binary=fake.binary)
    ok = [x for x in r["results"] if "error" not in x]
    assert {(x["device"]["serial"], x["delegate"]) for x in ok} == {("R58M123ABC", "cpu"), ("R58M123ABC", "gpu"),
                                                                    ("PIX7", "cpu"), ("PIX7", "gpu")}
    assert {s["serial"]: s["state"] for s in r["skipped_devices"]} == {"emulator-5554": "unauthorized",
                                                                        "0123456789": "offline"}
    assert "USB debugging" in [s for s in r["skipped_devices"] if s["serial"] == "emulator-5554"][0]["reason"]
    calls = fake.calls("R58M123ABC")
    graph = f"{REMOTE_DIR}/model.tflite"
    assert calls == [
        ["shell", "getprop"],
        ["shell", f"mkdir -p {REMOTE_DIR}"],
        ["push", str(fake.binary), f"{REMOTE_DIR}/benchmark_model"],
        ["shell", f"chmod 755 {REMOTE_DIR}/benchmark_model"],
        ["push", str(fake.model), graph],
        ["shell", f"{REMOTE_DIR}/benchmark_model --graph={graph} --num_threads=4 --warmup_runs=5 --num_runs=50 "
                  "--use_xnnpack=true --enable_op_profiling=false --report_peak_memory_footprint=true"],
        ["shell", f"{REMOTE_DIR}/benchmark_model --graph={graph} --num_threads=4 --warmup_runs=5 --num_runs=50 "
                  "--use_gpu=true --enable_op_profiling=false --report_peak_memory_footprint=true"],
        ["shell", f"rm -rf {REMOTE_DIR}"],
    ]
    s7 = [x for x in ok if x["device"]["serial"] == "R58M123ABC" and x["delegate"] == "cpu"][0]
    assert s7["device"]["model"] == "SM-G973F" and s7["device"]["soc"] == "exynos5" and s7["device"]["android"] == "12"
    assert s7["latency_us"]["p50"] == 1239807 and s7["latency_us"]["mean"] == pytest.approx(1.24027e6)
    assert s7["memory_mb"]["overall"] == pytest.approx(109.832)
    gpu = [x for x in ok if x["device"]["serial"] == "PIX7" and x["delegate"] == "gpu"][0]
    assert gpu["delegation"][0]["coverage"] == "full" and gpu["device"]["soc"] == "Tensor G2"
    from mobile_kit.bench.report import validate_result

    for x in ok:
        validate_result(x)


def test_serial_selection_and_unknown_serial(fake):
    fake.scenario()
    r = bench_adb([fake.model], serials=["PIX7", "NOPE"], binary=fake.binary)
    assert {x["device"]["serial"] for x in r["results"]} == {"PIX7"}
    assert any(s["serial"] == "NOPE" and s["state"] == "absent" for s in r["skipped_devices"])
    assert fake.calls("R58M123ABC") == []


def test_no_ready_device(fake):
    fake.scenario(devices="List of devices attached\nemulator-5554\tunauthorized transport_id:4\n\n")
    with pytest.raises(DeviceError, match="found none.*emulator-5554: accept the USB debugging prompt"):
        bench_adb([fake.model], binary=fake.binary)
    fake.scenario(devices="List of devices attached\n\n")
    with pytest.raises(DeviceError, match="lists none"):
        bench_adb([fake.model], binary=fake.binary)


def test_adb_missing_and_binary_missing(fake, tmp_path):
    fake.scenario()
    with pytest.raises(DeviceError, match="adb not found"):
        bench_adb([fake.model], binary=fake.binary, adb=Adb(str(tmp_path / "no" / "adb")))
    with pytest.raises(BenchmarkError, match="benchmark_model binary not found"):
        bench_adb([fake.model], binary=tmp_path / "missing_benchmark_model")
    assert fake.calls() == []  # nothing was sent to any device


def test_failed_run_is_reported_and_cleaned_up_while_other_devices_succeed(fake):
    fake.scenario(bench={"R58M123ABC": {"cpu": str(BM / "crash.txt")}, "PIX7": {"cpu": str(BM / "old_format_cpu.txt")}},
                  bench_rc={"R58M123ABC": 1})
    r = bench_adb([fake.model], binary=fake.binary)
    bad = [x for x in r["results"] if "error" in x]
    good = [x for x in r["results"] if "error" not in x]
    assert len(bad) == 1 and bad[0]["device"]["serial"] == "R58M123ABC"
    assert "exit status 1" in bad[0]["error"] and "Benchmarking failed." in bad[0]["error"]
    assert "Failed to apply NNAPI delegate." in bad[0]["error"]
    assert fake.calls("R58M123ABC")[-1] == ["shell", f"rm -rf {REMOTE_DIR}"]
    assert len(good) == 1 and good[0]["latency_us"]["mean"] == pytest.approx(47440.3)
    assert "p50" not in good[0]["latency_us"]  # the older format has no median


def test_timeout_is_an_error_naming_the_command_and_cleans_up(fake):
    fake.scenario(sleep={"R58M123ABC": 5})
    r = bench_adb([fake.model], binary=fake.binary, timeout_s=1.5)
    bad = [x for x in r["results"] if "error" in x]
    assert len(bad) == 1 and bad[0]["device"]["serial"] == "R58M123ABC"
    assert "timed out after 1.5 s" in bad[0]["error"] and "benchmark_model" in bad[0]["error"]
    assert fake.calls("R58M123ABC")[-1] == ["shell", f"rm -rf {REMOTE_DIR}"]
    assert any("error" not in x and x["device"]["serial"] == "PIX7" for x in r["results"])


def test_push_failure_names_the_device_error(fake):
    fake.scenario(push_fail=["PIX7"])
    r = bench_adb([fake.model], binary=fake.binary)
    bad = [x for x in r["results"] if "error" in x]
    assert len(bad) == 1 and "Read-only file system" in bad[0]["error"] and "exit status 1" in bad[0]["error"]
    assert fake.calls("PIX7")[-1] == ["shell", f"rm -rf {REMOTE_DIR}"]


def test_partial_delegation_is_flagged(fake):
    fake.scenario(bench={s: {"gpu": str(BM / "xnnpack_partial_delegation.txt")} for s in PROPS})
    r = bench_adb([fake.model], delegates=["gpu"], binary=fake.binary, serials=["PIX7"])
    res = r["results"][0]
    assert any("partially delegated" in f for f in res["flags"])
    assert any("no line confirms the gpu delegate" in f for f in res["flags"])


def test_softmax_drift_on_gpu_recommends_the_sigmoid_head(fake, tmp_path):
    from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec

    ModelMetadata(input=InputSpec(32, 32), output=OutputSpec(kind="softmax")).save(tmp_path / "metadata.json")
    diff_ok = BM / "inference_diff.txt"
    drift = tmp_path / "drift.txt"  # the real example with its error raised past tolerance
    drift.write_text(diff_ok.read_text().replace("avg_error=1.96277e-05", "avg_error=0.0412"))
    tool = tmp_path / "inference_diff"
    tool.write_bytes(b"\x7fELF fake")
    fake.scenario(diff={"PIX7": str(drift), "R58M123ABC": str(diff_ok)})
    r = bench_adb([fake.model], delegates=["cpu", "gpu"], binary=fake.binary, inference_diff=tool)
    checks = {x["device"]["serial"]: x["delegate_check"] for x in r["results"] if x["delegate"] == "gpu"}
    assert checks["R58M123ABC"]["drift"] is False and "recommendation" not in checks["R58M123ABC"]
    assert checks["PIX7"]["drift"] is True and "--head sigmoid" in checks["PIX7"]["recommendation"]
    assert not any("delegate_check" in x for x in r["results"] if x["delegate"] == "cpu")
    assert ["shell", f"{REMOTE_DIR}/inference_diff --model_file={REMOTE_DIR}/model.tflite --delegate=gpu "
            f"--num_runs=50 --output_file_path={REMOTE_DIR}/inference_diff.txt"] in fake.calls("PIX7")


def test_binary_download_is_cached_and_checksum_verified(tmp_path):
    import hashlib

    src = tmp_path / "served_benchmark_model"
    src.write_bytes(b"\x7fELF pretend binary")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    url = src.as_uri()  # file:// keeps the real urllib code path without a network
    cache = tmp_path / "cache"
    p = binary_for_abi("arm64-v8a", cache_dir=cache, url=url)
    assert p.read_bytes() == src.read_bytes() and os.access(p, os.X_OK)
    assert json.loads((p.parent / "manifest.json").read_text())["sha256"] == digest
    assert binary_for_abi("arm64-v8a", cache_dir=cache, url=url) == p  # from the cache
    p.write_bytes(b"tampered")
    with pytest.raises(BenchmarkError, match="cached benchmark_model has SHA-256"):
        binary_for_abi("arm64-v8a", cache_dir=cache, url=url)
    with pytest.raises(BenchmarkError, match="expected SHA-256 0000"):
        binary_for_abi("x86_64", cache_dir=cache, url=url, sha256="0" * 64)
    assert not (cache / "benchmark_model" / "x86_64" / "benchmark_model").exists()
    with pytest.raises(BenchmarkError, match="download of benchmark_model failed"):
        binary_for_abi("x86", cache_dir=cache, url=(tmp_path / "absent").as_uri())
    with pytest.raises(Exception, match="arm64-v8a"):
        binary_for_abi("mips", cache_dir=cache)


def test_a_device_with_an_unknown_abi_does_not_lose_the_others(fake, tmp_path):
    props = json.loads(json.dumps(PROPS))
    props["PIX7"]["ro.product.cpu.abi"] = "riscv64"
    fake.scenario(props=props)
    served = tmp_path / "served"
    served.write_bytes(b"\x7fELF")
    # no --benchmark-binary: each device needs a download for its ABI; riscv64 has none
    import mobile_kit.bench.adb as adbmod

    real = adbmod.binary_for_abi

    def fake_binary(abi, binary=None, **kw):
        return real(abi, binary, url=served.as_uri() if abi in adbmod.BINARY_URLS else None, **kw)

    adbmod_binary = adbmod.binary_for_abi
    adbmod.binary_for_abi = fake_binary
    try:
        r = bench_adb([fake.model], binary_cache=tmp_path / "cache")
    finally:
        adbmod.binary_for_abi = adbmod_binary
    by = {x["device"]["serial"]: x for x in r["results"]}
    assert "riscv64" in by["PIX7"]["error"] and "arm64-v8a" in by["PIX7"]["error"]
    assert "error" not in by["R58M123ABC"]
