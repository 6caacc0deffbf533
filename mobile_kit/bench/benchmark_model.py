"""Parse the text output of TFLite's ``benchmark_model`` and ``inference_diff`` tools.

Handles the older format (plain lines, ``Peak memory footprint (MB): init=..
overall=..``) and the current one (``INFO:``-prefixed lines, ``p5/median/p95``
on the statistics lines, ``Memory footprint delta from the start of the tool
(MB)`` and ``Overall peak memory footprint (MB) via periodic monitoring``),
delegate coverage ("completely" / "partially executed ... w/ N delegate
kernels" / "will not be executed"), and ``--enable_op_profiling`` tables.
Times stay in the tool's units: microseconds (``init_ms`` and profiler
``avg_ms`` excepted, as printed). Source of the formats:
tensorflow/lite/tools/benchmark/benchmark_model.cc, benchmark_tflite_model.cc
and tensorflow/lite/tools/evaluation/tasks/inference_diff.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from mobile_kit.errors import BenchmarkError

_PREFIX = re.compile(r"^(?:INFO|ERROR|WARNING|VERBOSE): ")
_NUM = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_STATS = re.compile(rf"^count=(\d+)((?:\s+\w+={_NUM})*)\s*$")
_KV = re.compile(rf"(\w+)=({_NUM})")
_TIMINGS = re.compile(
    rf"Inference timings in us: Init: ({_NUM}), First inference: ({_NUM}), Warmup \(avg\): ({_NUM}), "
    rf"Inference \(avg\): ({_NUM})"
)
_SIZE = re.compile(rf"The input model file size \(MB\): ({_NUM})")
_INIT = re.compile(rf"Initialized session in ({_NUM})ms")
_PEAK_OLD = re.compile(rf"Peak memory footprint \(MB\): init=({_NUM}) overall=({_NUM})")
_DELTA = re.compile(rf"Memory footprint delta from the start of the tool \(MB\): init=({_NUM}) overall=({_NUM})")
_PEAK_PERIODIC = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUM})")
_APPLIED = re.compile(
    r"(?:Explicitly applied|Applied) (\w+) delegate, and the model graph will be (completely|partially) executed "
    r"(?:by|w/) the delegate(?: w/ (\d+) delegate kernels)?"
)
_NOT_EXECUTED = re.compile(r"Though (\w+) delegate is explicitly applied, the model graph will not be executed")
_FAILED_APPLY = re.compile(r"Failed to apply (\w+) delegate")


class BenchmarkOutputError(BenchmarkError):
    """benchmark_model output without results (crash, failure, truncation); the message quotes the lines."""


@dataclass
class RunStats:
    """One ``count=... first=... min=... avg=... p5=... median=... p95=...`` line (microseconds)."""

    count: int
    first: float | None = None
    curr: float | None = None
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    std: float | None = None
    p5: float | None = None
    median: float | None = None
    p95: float | None = None


@dataclass
class DelegateCoverage:
    """How much of the graph a delegate took: ``full``, ``partial`` (with kernel count) or ``none``."""

    delegate: str
    coverage: str
    kernels: int | None
    line: str


@dataclass
class BenchmarkModelOutput:
    """Everything read from one ``benchmark_model`` run."""

    format: str  # "current" (INFO: prefixes or p5/median/p95) or "older"
    model_size_mb: float | None = None
    init_ms: float | None = None
    warmup: RunStats | None = None
    steady: RunStats | None = None
    init_us: float | None = None
    first_inference_us: float | None = None
    warmup_avg_us: float | None = None
    inference_avg_us: float | None = None
    memory_init_mb: float | None = None
    memory_overall_mb: float | None = None
    memory_kind: str | None = None  # "peak" (older) or "delta from tool start" (current)
    peak_memory_periodic_mb: float | None = None
    delegates: list[DelegateCoverage] = field(default_factory=list)
    delegate_failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    op_profile: list[dict] = field(default_factory=list)

    @property
    def partially_delegated(self) -> bool:
        return any(d.coverage == "partial" for d in self.delegates)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["partially_delegated"] = self.partially_delegated
        return d


def _lines(text: str) -> list[str]:
    return [_PREFIX.sub("", l.rstrip("\r\n")) for l in text.splitlines()]


def _stats(rest: str, count: int) -> RunStats:
    vals = {k: float(v) for k, v in _KV.findall(rest)}
    fields = {f for f in RunStats.__dataclass_fields__} - {"count"}
    return RunStats(count=count, **{k: v for k, v in vals.items() if k in fields})


def parse_op_profile(text: str) -> list[dict]:
    """Rows of the "Summary by node type" table of ``--enable_op_profiling=true`` regular runs.

    Each row: ``node_type``, ``count``, ``avg_ms``, ``avg_pct``, ``cdf_pct``,
    ``mem_kb``, ``times_called`` (columns are read by header name, so older
    and newer layouts both parse).
    """
    return _profile_summary(_lines(text))


def _delegates_from_profile(profile: list[dict], known: list[DelegateCoverage]) -> list[DelegateCoverage]:
    """Delegate kernels seen in the profiler (``TfLiteGpuDelegateV2``, ``TfLiteNnapiDelegate``...).

    A delegate node next to ordinary CPU ops means partial delegation.
    """
    seen = {d.delegate.lower() for d in known}
    out = []
    for row in profile:
        nt = str(row.get("node_type", ""))
        m = re.match(r"TfLite(\w+?)Delegate", nt)
        if not m or m.group(1).lower() in seen:
            continue
        others = [r for r in profile if "Delegate" not in str(r.get("node_type", ""))]
        out.append(DelegateCoverage(m.group(1).upper(), "partial" if others else "full", int(row.get("count", 0)),
                                    f"profiler: {row.get('count')} {nt} node(s)"
                                    + (f" beside {sum(int(r.get('count', 0)) for r in others)} CPU node(s)" if others else "")))
    return out


def _profile_summary(lines: list[str]) -> list[dict]:
    """The "Summary by node type" table of the regular-runs profiling section."""
    starts = [i for i, l in enumerate(lines) if l.startswith("Operator-wise Profiling Info for Regular")]
    if not starts:
        return []
    start = starts[0]
    rows: list[dict] = []
    header: list[str] | None = None
    in_summary = False
    for l in lines[start:]:
        if "Summary by node type" in l:
            in_summary = True
            continue
        if not in_summary:
            continue
        cells = [c.strip() for c in l.split("\t") if c.strip()]
        if not cells:
            if rows:
                break
            continue
        if cells[0].startswith("["):
            header = [c.strip("[]").lower().replace(" ", "_").replace("%", "pct") for c in cells]
            continue
        if header is None or l.startswith("Timings") or len(cells) != len(header):
            break
        row: dict = {}
        for k, v in zip(header, cells):
            v = v.rstrip("%")
            try:
                row[k] = float(v) if ("." in v or "e" in v) else int(v)
            except ValueError:
                row[k] = v
        rows.append(row)
    return rows


def parse_benchmark_output(text: str) -> BenchmarkModelOutput:
    """Parse one ``benchmark_model`` transcript (stdout + stderr).

    Returns
    -------
    BenchmarkModelOutput

    Raises
    ------
    BenchmarkOutputError
        When no ``Inference timings`` line is present (the run failed,
        crashed or the output was cut); the message quotes the error lines and
        the last lines of output.
    """
    raw = text.splitlines()
    lines = _lines(text)
    current = any(_PREFIX.match(l) for l in raw) or " p5=" in text
    out = BenchmarkModelOutput(format="current" if current else "older")
    stats: list[RunStats] = []
    for raw_line, l in zip(raw, lines):
        if raw_line.startswith("ERROR:"):
            out.errors.append(l)
        if m := _SIZE.search(l):
            out.model_size_mb = float(m.group(1))
        elif m := _INIT.search(l):
            out.init_ms = float(m.group(1))
        elif m := _STATS.match(l.strip()):
            stats.append(_stats(m.group(2), int(m.group(1))))
        elif m := _TIMINGS.search(l):
            out.init_us, out.first_inference_us, out.warmup_avg_us, out.inference_avg_us = map(float, m.groups())
        elif m := _PEAK_OLD.search(l):
            out.memory_init_mb, out.memory_overall_mb, out.memory_kind = float(m.group(1)), float(m.group(2)), "peak"
        elif m := _DELTA.search(l):
            out.memory_init_mb, out.memory_overall_mb = float(m.group(1)), float(m.group(2))
            out.memory_kind = "delta from tool start"
        elif m := _PEAK_PERIODIC.search(l):
            out.peak_memory_periodic_mb = float(m.group(1))
        elif m := _APPLIED.search(l):
            cov = "full" if m.group(2) == "completely" else "partial"
            out.delegates.append(DelegateCoverage(m.group(1), cov, int(m.group(3)) if m.group(3) else None, l.strip()))
        elif m := _NOT_EXECUTED.search(l):
            out.delegates.append(DelegateCoverage(m.group(1), "none", 0, l.strip()))
        elif m := _FAILED_APPLY.search(l):
            out.delegate_failures.append(l.strip())
    # The first statistics line is the warm-up, the last the steady state; the profiler's
    # "Timings (microseconds): count=..." lines do not start with count= and are not matched.
    if stats:
        out.steady = stats[-1]
        out.warmup = stats[0] if len(stats) > 1 else None
    out.op_profile = _profile_summary(lines)
    out.delegates += _delegates_from_profile(out.op_profile, out.delegates)
    if out.inference_avg_us is None:
        shown = [l for l in lines if l.startswith(("ERROR", "Failed", "Benchmarking failed"))] or []
        shown += [l for l in out.errors if l not in shown]
        tail = [l for l in lines if l.strip()][-6:]
        quoted = "\n  ".join(dict.fromkeys(shown + tail)) or "(no output)"
        raise BenchmarkOutputError(f"benchmark_model produced no timings; its output ends with:\n  {quoted}")
    return out


@dataclass
class InferenceDiff:
    """``inference_diff`` results: latency of reference (CPU) and test (delegate) runs, per-output error."""

    runs: int
    reference_latency_us: float
    test_latency_us: float
    output_avg_error: list[float]
    output_std_dev: list[float]

    def to_dict(self) -> dict:
        return asdict(self)


_DIFF_RUNS = re.compile(r"Num evaluation runs: (\d+)")
_DIFF_LAT = re.compile(rf"(Reference|Test) run latency: avg=({_NUM})\(us\)")
_DIFF_OUT = re.compile(rf"OutputDiff\[(\d+)\]: avg_error=({_NUM}), std_dev=({_NUM})")


def parse_inference_diff(text: str) -> InferenceDiff:
    """Parse the stdout of TFLite's ``inference_diff`` evaluation tool (``run_eval``).

    Raises
    ------
    BenchmarkOutputError
        If the run count, latencies or output differences are missing.
    """
    lines = _lines(text)
    runs, lat, errs = None, {}, {}
    for l in lines:
        if m := _DIFF_RUNS.search(l):
            runs = int(m.group(1))
        elif m := _DIFF_LAT.search(l):
            lat[m.group(1)] = float(m.group(2))
        elif m := _DIFF_OUT.search(l):
            errs[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    if runs is None or len(lat) != 2 or not errs:
        tail = "\n  ".join([l for l in lines if l.strip()][-6:]) or "(no output)"
        raise BenchmarkOutputError(f"inference_diff output has no results; it ends with:\n  {tail}")
    order = sorted(errs)
    return InferenceDiff(runs, lat["Reference"], lat["Test"], [errs[i][0] for i in order], [errs[i][1] for i in order])
