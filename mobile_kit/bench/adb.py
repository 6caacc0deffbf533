"""Benchmark artifacts on Android phones over adb with TFLite's ``benchmark_model``.

Every adb call is an argument list with a timeout and a checked exit code;
stderr goes into the raised :class:`~mobile_kit.errors.DeviceError`. Files go
to ``/data/local/tmp/mobilekit`` on the device and are removed afterwards,
also when a run fails. Devices run in parallel, and one failing device does
not lose the others' results.

benchmark_model flags follow
https://ai.google.dev/edge/litert/models/measurement (``--graph``,
``--num_threads``, ``--warmup_runs``, ``--num_runs``, ``--use_xnnpack``,
``--use_gpu``, ``--use_nnapi``, ``--enable_op_profiling``,
``--report_peak_memory_footprint``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mobile_kit.bench.benchmark_model import BenchmarkOutputError, parse_benchmark_output, parse_inference_diff
from mobile_kit.errors import BenchmarkError, DeviceError, MobileKitError, UnknownNameError, lookup
from mobile_kit.fileio import sha256_file

REMOTE_DIR = "/data/local/tmp/mobilekit"
DELEGATE_FLAGS = {
    "cpu": ["--use_xnnpack=true"],
    "gpu": ["--use_gpu=true"],
    "nnapi": ["--use_nnapi=true"],
}
#: Official prebuilt nightly binaries, by Android ABI
#: (https://ai.google.dev/edge/litert/models/measurement#download_or_build_the_binary).
BINARY_URLS = {
    "arm64-v8a": "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/android_aarch64_benchmark_model",
    "armeabi-v7a": "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/android_arm_benchmark_model",
    "x86_64": "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/android_x86_64_benchmark_model",
    "x86": "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest/android_x86_benchmark_model",
}
PROPS = {
    "model": "ro.product.model",
    "manufacturer": "ro.product.manufacturer",
    "soc": "ro.soc.model",
    "board": "ro.board.platform",
    "hardware": "ro.hardware",
    "abi": "ro.product.cpu.abi",
    "android": "ro.build.version.release",
    "sdk": "ro.build.version.sdk",
}
#: A softmax model whose delegate outputs differ from the CPU by more than this
#: (mean absolute error of probabilities) is flagged as drifting.
DELEGATE_DRIFT_AVG_ERROR = 1e-2


@dataclass
class Device:
    """One line of ``adb devices -l``: serial, state (device | unauthorized | offline | ...) and details."""

    serial: str
    state: str
    details: dict = field(default_factory=dict)
    props: dict = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.state == "device"


def parse_devices(text: str) -> list[Device]:
    """Parse ``adb devices -l`` output."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("List of devices", "*")):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        serial, rest = parts[0], parts[1:]
        # states may be two words: "no permissions (...)"
        state_words = []
        details = {}
        for w in rest:
            if ":" in w and not state_words[-1:] == ["no"]:
                k, v = w.split(":", 1)
                details[k] = v
            elif not details:
                state_words.append(w)
        out.append(Device(serial, " ".join(state_words) if state_words else "unknown", details))
    return out


class Adb:
    """A thin, checked wrapper around the ``adb`` executable.

    Parameters
    ----------
    executable : str
        ``adb`` on PATH by default.
    timeout_s : float
        Default timeout of each call, in seconds.
    """

    def __init__(self, executable: str = "adb", timeout_s: float = 60.0):
        self.executable = executable
        self.timeout_s = timeout_s

    def _argv(self, args: list[str], serial: str | None) -> list[str]:
        return [self.executable] + (["-s", serial] if serial else []) + list(args)

    def run(self, args: list[str], serial: str | None = None, timeout_s: float | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run ``adb [-s serial] args...``.

        Raises
        ------
        DeviceError
            adb missing, timeout, or a non-zero exit (with its stderr) when ``check``.
        """
        argv = self._argv(args, serial)
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        try:
            # errors="replace": device output is not always UTF-8 (vendor getprop values, binary logcat).
            r = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", errors="replace",
                               timeout=timeout_s, check=False)
        except FileNotFoundError:
            raise DeviceError(f"{self.executable}: adb not found; install Android platform-tools and put adb on PATH "
                              "(or pass --adb PATH)") from None
        except OSError as e:  # not executable, not a program
            raise DeviceError(f"{self.executable}: expected an adb executable, found one that cannot be run "
                              f"({e.strerror or e})") from None
        except subprocess.TimeoutExpired as e:
            err = (e.stderr or b"") if isinstance(e.stderr, bytes) else (e.stderr or "")
            err = err.decode(errors="replace") if isinstance(err, bytes) else err
            raise DeviceError(f"{' '.join(argv)}: timed out after {timeout_s:g} s{': ' + err.strip() if err else ''}") from None
        if check and r.returncode != 0:
            msg = (r.stderr or r.stdout).strip()
            raise DeviceError(f"{' '.join(argv)}: exit status {r.returncode}: {msg or 'no output'}")
        return r

    def devices(self) -> list[Device]:
        return parse_devices(self.run(["devices", "-l"]).stdout)

    def getprops(self, serial: str) -> dict:
        """Selected ``getprop`` values (see :data:`PROPS`)."""
        text = self.run(["shell", "getprop"], serial=serial).stdout
        allp = {}
        for line in text.splitlines():
            if line.startswith("[") and "]: [" in line:
                k, v = line[1:].split("]: [", 1)
                allp[k] = v.rstrip("]").rstrip()
        return {name: allp.get(key) or None for name, key in PROPS.items()}

    def shell(self, serial: str, argv: list[str], timeout_s: float | None = None, check: bool = True):
        """``adb -s serial shell`` with each argument shell-quoted."""
        return self.run(["shell", " ".join(shlex.quote(a) for a in argv)], serial=serial, timeout_s=timeout_s, check=check)

    def push(self, serial: str, local: str | Path, remote: str, timeout_s: float | None = None):
        return self.run(["push", str(local), remote], serial=serial, timeout_s=timeout_s)


def select_devices(adb: Adb, serials: list[str] | None) -> tuple[list[Device], list[dict]]:
    """Ready devices to use and a report of those skipped (unauthorized, offline, not attached).

    Raises
    ------
    DeviceError
        If no device is ready.
    """
    devs = adb.devices()
    skipped = [{"serial": d.serial, "state": d.state,
                "reason": "accept the USB debugging prompt on the phone" if d.state == "unauthorized" else
                f"device is {d.state}"} for d in devs if not d.ready and (not serials or d.serial in serials)]
    ready = [d for d in devs if d.ready and (not serials or d.serial in serials)]
    for s in serials or []:
        if s not in {d.serial for d in devs}:
            skipped.append({"serial": s, "state": "absent", "reason": "not in `adb devices -l`"})
    if not ready:
        detail = "; ".join(f"{s['serial']}: {s['reason']}" for s in skipped) or "`adb devices -l` lists none"
        raise DeviceError(f"expected at least one ready Android device, found none ({detail})")
    return ready, skipped


def binary_for_abi(abi: str | None, binary: str | Path | None = None, cache_dir: str | Path | None = None,
                   sha256: str | None = None, url: str | None = None, timeout_s: float = 120.0) -> Path:
    """The benchmark_model binary to push: ``binary`` if given, else a cached download for ``abi``.

    The download is verified: against ``sha256`` when given, otherwise the
    SHA-256 recorded at the first download (``manifest.json`` beside the
    cached file) must still match; a mismatch deletes nothing and raises.

    Raises
    ------
    BenchmarkError
        Missing file, unknown ABI, failed download or checksum mismatch.
    """
    if binary is not None:
        p = Path(binary)
        if not p.is_file():
            raise BenchmarkError(f"{p}: benchmark_model binary not found")
        if sha256 and sha256_file(p) != sha256:
            raise BenchmarkError(f"{p}: expected SHA-256 {sha256}, found {sha256_file(p)}")
        return p
    if url is None:
        url = lookup(BINARY_URLS, "Android ABI", str(abi))
    cache = Path(cache_dir or os.environ.get("MOBILEKIT_CACHE", Path.home() / ".cache" / "mobilekit")) / "benchmark_model" / str(abi)
    path, manifest = cache / "benchmark_model", cache / "manifest.json"
    if path.is_file() and manifest.is_file():
        rec = json.loads(manifest.read_text())
        digest = sha256_file(path)
        want = sha256 or rec.get("sha256")
        if digest != want:
            raise BenchmarkError(f"{path}: cached benchmark_model has SHA-256 {digest}, expected {want}; delete "
                                 f"{cache} to download again")
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / "benchmark_model.download"
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r, open(tmp, "wb") as f:
            for chunk in iter(lambda: r.read(1 << 20), b""):
                h.update(chunk)
                f.write(chunk)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"{url}: download of benchmark_model failed ({e}); pass --benchmark-binary PATH") from None
    digest = h.hexdigest()
    if sha256 and digest != sha256:
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"{url}: expected SHA-256 {sha256}, downloaded {digest}")
    os.replace(tmp, path)
    path.chmod(0o755)
    manifest.write_text(json.dumps({"url": url, "sha256": digest, "abi": abi}, indent=1))
    return path


def benchmark_argv(remote_model: str, delegate: str, threads: int, runs: int, warmup: int,
                   op_profiling: bool) -> list[str]:
    """The benchmark_model command line for one run."""
    if delegate not in DELEGATE_FLAGS:
        raise UnknownNameError("delegate", delegate, DELEGATE_FLAGS)
    return [f"{REMOTE_DIR}/benchmark_model", f"--graph={remote_model}", f"--num_threads={threads}",
            f"--warmup_runs={warmup}", f"--num_runs={runs}", *DELEGATE_FLAGS[delegate],
            f"--enable_op_profiling={'true' if op_profiling else 'false'}", "--report_peak_memory_footprint=true"]


def _device_dict(dev: Device) -> dict:
    p = dev.props
    return {"kind": "adb", "serial": dev.serial, "model": p.get("model"), "manufacturer": p.get("manufacturer"),
            "soc": p.get("soc") or p.get("board") or p.get("hardware"), "abi": p.get("abi"),
            "android": p.get("android"), "sdk": p.get("sdk")}


def _result(artifact: Path, dev: Device, delegate: str, threads: int, runs: int, warmup: int, parsed, raw: str,
            accuracy: dict | None) -> dict:
    from mobile_kit import __version__
    from mobile_kit.bench.local import RESULT_SCHEMA_VERSION, git_commit
    import datetime as _dt

    s = parsed.steady
    lat = {"min": s.min, "p50": s.median, "p95": s.p95, "mean": s.avg if s.avg is not None else parsed.inference_avg_us,
           "max": s.max, "std": s.std}
    flags = []
    if parsed.partially_delegated:
        flags.append("partially delegated: CPU/delegate hand-offs often make this slower than the CPU alone")
    if delegate != "cpu" and not any(d.delegate.lower() == delegate for d in parsed.delegates):
        flags.append(f"no line confirms the {delegate} delegate took the graph")
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "artifact": str(artifact),
        "model_sha256": sha256_file(artifact),
        "size_bytes": artifact.stat().st_size,
        "device": _device_dict(dev),
        "runtime": {"name": "benchmark_model", "version": None, "format": parsed.format},
        "delegate": delegate,
        "threads": threads,
        "runs": runs,
        "warmup": warmup,
        "init_us": parsed.init_us,
        "first_inference_us": parsed.first_inference_us,
        "latency_us": {k: v for k, v in lat.items() if v is not None},
        "memory_mb": {"init": parsed.memory_init_mb, "overall": parsed.memory_overall_mb, "kind": parsed.memory_kind,
                      "peak_periodic": parsed.peak_memory_periodic_mb},
        "delegation": [d.__dict__ for d in parsed.delegates],
        "op_profile": parsed.op_profile,
        "flags": flags,
        "accuracy": accuracy,
        "toolkit_version": __version__,
        "git_commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _run_device(adb: Adb, dev: Device, artifacts: list[Path], delegates: list[str], threads: int, runs: int,
                warmup: int, bin_path: Path, op_profiling: bool, timeout_s: float,
                inference_diff: Path | None, accuracy: dict | None) -> list[dict]:
    results = []
    try:
        adb.shell(dev.serial, ["mkdir", "-p", REMOTE_DIR])
        adb.push(dev.serial, bin_path, f"{REMOTE_DIR}/benchmark_model", timeout_s=timeout_s)
        adb.shell(dev.serial, ["chmod", "755", f"{REMOTE_DIR}/benchmark_model"])
        if inference_diff is not None:
            adb.push(dev.serial, inference_diff, f"{REMOTE_DIR}/inference_diff", timeout_s=timeout_s)
            adb.shell(dev.serial, ["chmod", "755", f"{REMOTE_DIR}/inference_diff"])
        for art in artifacts:
            remote = f"{REMOTE_DIR}/{art.name}"
            adb.push(dev.serial, art, remote, timeout_s=timeout_s)
            for dl in delegates:
                argv = benchmark_argv(remote, dl, threads, runs, warmup, op_profiling)
                try:
                    r = adb.shell(dev.serial, argv, timeout_s=timeout_s, check=False)
                except DeviceError as e:  # a hung run: keep this device's other rows, stop the remote tool
                    results.append({"artifact": str(art), "device": _device_dict(dev), "delegate": dl, "error": str(e)})
                    adb.shell(dev.serial, ["pkill", "-f", f"{REMOTE_DIR}/benchmark_model"], timeout_s=30, check=False)
                    continue
                text = (r.stdout or "") + (r.stderr or "")
                try:
                    parsed = parse_benchmark_output(text)
                except BenchmarkOutputError as e:
                    results.append({"artifact": str(art), "device": _device_dict(dev), "delegate": dl,
                                    "error": f"exit status {r.returncode}: {e}"})
                    continue
                res = _result(art, dev, dl, threads, runs, warmup, parsed, text, accuracy)
                if inference_diff is not None and dl != "cpu":
                    res["delegate_check"] = _delegate_check(adb, dev, remote, dl, art, timeout_s)
                results.append(res)
    finally:
        adb.shell(dev.serial, ["rm", "-rf", REMOTE_DIR], check=False)
    return results


def _delegate_check(adb: Adb, dev: Device, remote_model: str, delegate: str, artifact: Path, timeout_s: float) -> dict:
    """Compare delegate outputs with the CPU reference using TFLite's inference_diff tool."""
    from mobile_kit.runtime import load_metadata_for

    r = adb.shell(dev.serial, [f"{REMOTE_DIR}/inference_diff", f"--model_file={remote_model}",
                               f"--delegate={delegate}", "--num_runs=50",
                               f"--output_file_path={REMOTE_DIR}/inference_diff.txt"], timeout_s=timeout_s, check=False)
    try:
        diff = parse_inference_diff((r.stdout or "") + (r.stderr or ""))
    except BenchmarkOutputError as e:
        return {"error": str(e)}
    worst = max(diff.output_avg_error)
    meta = load_metadata_for(artifact)
    out = dict(diff.to_dict(), max_avg_error=worst, drift=worst > DELEGATE_DRIFT_AVG_ERROR,
               tolerance=DELEGATE_DRIFT_AVG_ERROR)
    if out["drift"] and meta is not None and meta.output.kind == "softmax":
        out["recommendation"] = (f"the {delegate} delegate drifts from the CPU on this softmax head (mean |error| "
                                 f"{worst:.3g}); export with `mobilekit export --head sigmoid` and benchmark again")
    return out


def bench_adb(artifacts: list[str | Path], serials: list[str] | None = None, delegates: list[str] = ("cpu",),
              threads: int = 4, runs: int = 50, warmup: int = 5, binary: str | Path | None = None,
              adb: Adb | None = None, op_profiling: bool = False, timeout_s: float = 600.0,
              binary_sha256: str | None = None, binary_cache: str | Path | None = None,
              inference_diff: str | Path | None = None, accuracy: dict | None = None) -> dict:
    """Run benchmark_model for each artifact x delegate on each ready device, devices in parallel.

    Parameters
    ----------
    artifacts : list of path
        ``.tflite`` files.
    serials : list of str, optional
        Devices to use (default: every ready device).
    delegates : sequence of {"cpu", "gpu", "nnapi"}
        One run per delegate (``cpu`` = XNNPACK).
    binary : path, optional
        A benchmark_model for the devices' ABI; default: a cached, checksum-
        verified download of the official prebuilt binary.
    inference_diff : path, optional
        TFLite's inference_diff binary: compares each non-CPU delegate's
        outputs with the CPU reference.

    Returns
    -------
    dict
        ``results`` (schema v1 rows, or ``{"error": ...}`` rows for failed
        runs) and ``skipped_devices`` (unauthorized/offline/absent).

    Raises
    ------
    DeviceError
        adb missing or no ready device.
    """
    adb = adb or Adb()
    arts = [Path(a) for a in artifacts]
    for a in arts:
        if a.suffix != ".tflite" or not a.is_file():
            raise BenchmarkError(f"{a}: expected a .tflite file to benchmark")
    for d in delegates:
        if d not in DELEGATE_FLAGS:
            raise UnknownNameError("delegate", d, DELEGATE_FLAGS)
    for name, p in (("benchmark_model", binary), ("inference_diff", inference_diff)):
        if p is not None and not Path(p).is_file():
            raise BenchmarkError(f"{p}: {name} binary not found")
    ready, skipped = select_devices(adb, serials)
    diff_bin = Path(inference_diff) if inference_diff else None
    # Properties and binaries first, one device at a time: devices sharing an ABI share one cached download.
    binaries: dict[str, Path | MobileKitError] = {}
    for dev in ready:
        try:
            dev.props = adb.getprops(dev.serial)
            binaries[dev.serial] = binary_for_abi(dev.props.get("abi"), binary, sha256=binary_sha256,
                                                  cache_dir=binary_cache)
        except MobileKitError as e:
            binaries[dev.serial] = e

    def one(dev):
        b = binaries[dev.serial]
        if isinstance(b, MobileKitError):
            return [{"device": _device_dict(dev), "error": str(b)}]
        try:
            return _run_device(adb, dev, arts, list(delegates), threads, runs, warmup, b, op_profiling, timeout_s,
                               diff_bin, accuracy)
        except MobileKitError as e:
            return [{"device": _device_dict(dev), "error": str(e)}]

    with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
        per_device = list(pool.map(one, ready))
    return {"results": [r for rs in per_device for r in rs], "skipped_devices": skipped}


__all__ = ["Adb", "Device", "bench_adb", "binary_for_abi", "parse_devices", "select_devices", "benchmark_argv"]
