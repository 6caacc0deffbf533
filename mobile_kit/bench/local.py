"""Local latency/memory/size benchmark with the LiteRT Python interpreter.

Mirrors what TFLite's ``benchmark_model`` measures on a phone
(https://ai.google.dev/edge/litert/models/measurement): initialisation time,
first inference, warm-up runs, then ``runs`` timed ``invoke()`` calls on a
fixed input. Latencies are in microseconds, memory in MB (resident set size).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.errors import BenchmarkError
from mobile_kit.fileio import sha256_file
from mobile_kit.progress import NullProgress, Progress

RESULT_SCHEMA_VERSION = 1


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def cpu_name() -> str:
    """CPU model name (``/proc/cpuinfo``), else :func:`platform.processor`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(path: Path | None = None) -> str | None:
    """The toolkit checkout's commit, or ``None`` outside a git checkout."""
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path or Path(__file__).parent, capture_output=True,
                           text=True, timeout=5, check=False)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def local_device() -> dict:
    """Description of this machine for result files."""
    return {
        "kind": "local",
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
    }


@dataclass
class BenchResult:
    """One benchmark of one artifact on one device with one delegate (result schema v1)."""

    artifact: str
    model_sha256: str
    size_bytes: int
    device: dict
    runtime: dict
    delegate: str
    threads: int
    runs: int
    warmup: int
    init_us: float
    first_inference_us: float
    latency_us: dict
    memory_mb: dict
    accuracy: dict | None = None
    toolkit_version: str = ""
    git_commit: str | None = None
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        return {
            "schema_version": RESULT_SCHEMA_VERSION,
            "artifact": self.artifact,
            "model_sha256": self.model_sha256,
            "size_bytes": self.size_bytes,
            "device": self.device,
            "runtime": self.runtime,
            "delegate": self.delegate,
            "threads": self.threads,
            "runs": self.runs,
            "warmup": self.warmup,
            "init_us": self.init_us,
            "first_inference_us": self.first_inference_us,
            "latency_us": self.latency_us,
            "memory_mb": self.memory_mb,
            "accuracy": self.accuracy,
            "toolkit_version": self.toolkit_version,
            "git_commit": self.git_commit,
            "date": self.date,
        }


def latency_stats(samples_us: list[float]) -> dict:
    """``min``, ``p50``, ``p90``, ``mean``, ``max``, ``std`` of latencies in microseconds."""
    a = np.asarray(samples_us, dtype=np.float64)
    return {
        "min": float(a.min()),
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "mean": float(a.mean()),
        "max": float(a.max()),
        "std": float(a.std()),
    }


def _check_args(runs: int, threads: int, warmup: int) -> None:
    if runs < 1 or threads < 1 or warmup < 0:
        raise BenchmarkError(f"expected --runs >= 1, --threads >= 1, --warmup >= 0; found {runs}, {threads}, {warmup}")


def _load_interpreter(artifact, threads: int):
    """A LiteRT interpreter with allocated tensors and one fixed random input set (seed 0), or BenchmarkError."""
    from ai_edge_litert.interpreter import Interpreter

    path = Path(artifact)
    if path.suffix != ".tflite" or not path.is_file():
        raise BenchmarkError(f"{path}: expected a .tflite file to benchmark (export a Keras model first)")
    try:
        interp = Interpreter(model_path=str(path), num_threads=threads)
        interp.allocate_tensors()
    except Exception as e:  # LiteRT raises ValueError/RuntimeError on a bad or truncated flatbuffer
        raise BenchmarkError(f"{path}: expected a TFLite flatbuffer, found one LiteRT cannot load "
                             f"({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None
    d = interp.get_input_details()[0]
    rng = np.random.default_rng(0)
    if np.issubdtype(d["dtype"], np.integer):
        info = np.iinfo(d["dtype"])
        x = rng.integers(info.min, info.max + 1, size=d["shape"]).astype(d["dtype"])
    else:
        x = rng.random(size=d["shape"]).astype(d["dtype"])
    interp.set_tensor(d["index"], x)
    return interp


def bench_local(
    artifact: str | Path,
    threads: int = 2,
    runs: int = 50,
    warmup: int = 5,
    segmenter=None,
    accuracy: dict | None = None,
    progress: Progress = NullProgress(),
) -> BenchResult:
    """Time a ``.tflite`` artifact with the LiteRT interpreter (XNNPACK on CPU).

    Parameters
    ----------
    artifact : path
        A ``.tflite`` file.
    threads : int
        Interpreter threads (``num_threads``).
    runs, warmup : int
        Timed and untimed ``invoke()`` calls on one fixed random input.
    accuracy : dict, optional
        An :class:`~mobile_kit.eval.EvalResult` summary to attach.

    Returns
    -------
    BenchResult
        Latencies in microseconds; ``memory_mb`` holds the resident set size
        before loading, after the warm-up, and their difference.

    Raises
    ------
    BenchmarkError
        Not a ``.tflite`` file, or bad ``runs``/``threads``.
    """
    from ai_edge_litert import __version__ as litert_version

    from mobile_kit import __version__

    path = Path(artifact)
    _check_args(runs, threads, warmup)
    rss0 = _rss_mb()
    t0 = time.perf_counter_ns()
    interp = _load_interpreter(path, threads)
    init_us = (time.perf_counter_ns() - t0) / 1e3
    t0 = time.perf_counter_ns()
    interp.invoke()
    first_us = (time.perf_counter_ns() - t0) / 1e3
    samples = []
    with progress.task(f"benchmark {path.name}", warmup + runs) as t:
        for i in range(warmup + runs):
            t0 = time.perf_counter_ns()
            interp.invoke()
            dt = (time.perf_counter_ns() - t0) / 1e3
            if i >= warmup:
                samples.append(dt)
            t.advance()
    rss1 = _rss_mb()
    return BenchResult(
        artifact=str(path),
        model_sha256=sha256_file(path),
        size_bytes=path.stat().st_size,
        device=local_device(),
        runtime={"name": "litert-python", "version": litert_version},
        delegate="cpu (xnnpack)",
        threads=threads,
        runs=runs,
        warmup=warmup,
        init_us=init_us,
        first_inference_us=first_us,
        latency_us=latency_stats(samples),
        memory_mb={"rss_before_load": rss0, "rss_after_warmup": rss1,
                   "model_delta": (rss1 - rss0) if rss0 is not None and rss1 is not None else None},
        accuracy=accuracy,
        toolkit_version=__version__,
        git_commit=git_commit(),
    )


def interleaved_latency(artifacts: dict, threads: int = 2, runs: int = 100, warmup: int = 10,
                        progress: Progress = NullProgress()) -> dict:
    """Latency of several ``.tflite`` models compared in one process, with interleaved runs.

    Every model gets its own LiteRT interpreter (default XNNPACK CPU delegate,
    ``threads`` threads) fed one fixed random input of its own input dtype and
    shape. Each round invokes every model once, in the order given, so that
    background load, thermal state and frequency changes affect all models
    alike; ``warmup`` rounds are not timed.

    Parameters
    ----------
    artifacts : dict
        ``name -> path`` of ``.tflite`` files (at least one).
    threads : int
        Interpreter threads (``num_threads``), >= 1.
    runs, warmup : int
        Timed rounds (>= 1) and untimed rounds (>= 0).

    Returns
    -------
    dict
        ``name -> latency_stats`` (``min``, ``p50``, ``p90``, ``mean``, ``max``,
        ``std``; microseconds of one ``invoke()``), plus ``"ratio_p50"``:
        ``name -> p50 / p50 of the first model``.

    Raises
    ------
    BenchmarkError
        No artifact, an artifact that is not a loadable ``.tflite`` file, or
        bad ``runs``/``threads``/``warmup``.
    """
    if not artifacts:
        raise BenchmarkError("expected at least one .tflite artifact to compare, found none")
    _check_args(runs, threads, warmup)
    its = {name: _load_interpreter(artifact, threads) for name, artifact in artifacts.items()}
    samples = {k: [] for k in its}
    with progress.task("interleaved benchmark", warmup + runs) as t:
        for r in range(warmup + runs):
            for k, it in its.items():
                t0 = time.perf_counter_ns()
                it.invoke()
                if r >= warmup:
                    samples[k].append((time.perf_counter_ns() - t0) / 1e3)
            t.advance()
    out = {k: latency_stats(v) for k, v in samples.items()}
    first = next(iter(out.values()))["p50"]
    out["ratio_p50"] = {k: v["p50"] / first for k, v in out.items()}
    return out
