"""Parsing real benchmark_model / inference_diff transcripts (tests/fixtures/benchmark_model/SOURCES.md)."""
from pathlib import Path

import pytest

from mobile_kit.bench.benchmark_model import (
    BenchmarkOutputError,
    parse_benchmark_output,
    parse_inference_diff,
    parse_op_profile,
)

BM = Path(__file__).resolve().parents[1] / "fixtures" / "benchmark_model"


def load(name):
    return (BM / name).read_text()


def test_older_format():
    r = parse_benchmark_output(load("old_format_cpu.txt"))
    assert r.format == "older"
    assert r.model_size_mb == pytest.approx(13.9926) and r.init_ms == pytest.approx(0.847)
    assert (r.warmup.count, r.warmup.avg) == (30, pytest.approx(47674.1))
    s = r.steady
    assert (s.count, s.first, s.curr, s.min, s.max, s.avg, s.std) == (30, 47632, 49309, 44914, 49309, 47440.3, 1087)
    assert s.median is None and s.p95 is None
    assert (r.init_us, r.first_inference_us, r.warmup_avg_us, r.inference_avg_us) == (847, 57338, 47674.1, 47440.3)
    assert (r.memory_init_mb, r.memory_overall_mb, r.memory_kind) == (1.26562, 26.6641, "peak")
    assert r.delegates == [] and r.errors == []


def test_current_format_with_percentiles_and_scientific_notation():
    r = parse_benchmark_output(load("new_format_cpu.txt"))
    assert r.format == "current"
    assert r.warmup.count == 1 and r.warmup.median == 1357602
    s = r.steady
    assert (s.count, s.p5, s.median, s.p95) == (50, 1238753, 1239807, 1247415)
    assert s.avg == pytest.approx(1.24027e6) and r.inference_avg_us == pytest.approx(1.24027e6)
    assert r.memory_kind == "delta from tool start" and r.memory_overall_mb == pytest.approx(109.832)


def test_short_old_transcript_has_no_warmup_line():
    r = parse_benchmark_output(load("old_format_cpu_2.txt"))
    assert r.warmup is None and r.steady.count == 50 and r.memory_overall_mb == pytest.approx(138.809)


def test_delegate_coverage_wordings():
    old = parse_benchmark_output(load("gpu_full_delegation.txt"))
    assert [(d.delegate, d.coverage) for d in old.delegates] == [("GPU", "full")]
    assert old.op_profile[0]["node_type"] == "TfLiteGpuDelegateV2"
    new = parse_benchmark_output(load("gpu_full_delegation_2.txt"))
    assert [(d.delegate, d.coverage) for d in new.delegates] == [("GPU", "full")] and not new.partially_delegated
    part = parse_benchmark_output(load("xnnpack_partial_delegation.txt"))
    assert [(d.delegate, d.coverage, d.kernels) for d in part.delegates] == [("XNNPACK", "partial", 1)]
    assert part.partially_delegated


def test_op_profiling_summary_by_node_type():
    r = parse_benchmark_output(load("op_profiling.txt"))
    rows = {x["node_type"]: x for x in r.op_profile}
    assert rows["CONV_2D"]["count"] == 15 and rows["CONV_2D"]["avg_ms"] == pytest.approx(2651.853)
    assert sum(x["count"] for x in r.op_profile) == 31
    assert r.op_profile[-1]["cdf_pct"] == pytest.approx(100.0, abs=0.01)
    assert r.steady.count == 50  # the profiler's "Timings (microseconds): count=" lines are not run statistics


def test_partial_delegation_seen_in_the_profiler():
    rows = parse_op_profile(load("op_profiling_2_nnapi_partial.txt"))
    assert rows[0]["node_type"] == "TfLiteNnapiDelegate" and rows[0]["count"] == 3
    from mobile_kit.bench.benchmark_model import _delegates_from_profile

    (d,) = _delegates_from_profile(rows, [])
    assert (d.delegate, d.coverage, d.kernels) == ("NNAPI", "partial", 3)


@pytest.mark.parametrize("name, quoted", [
    ("crash.txt", "Node number 248 (TfLiteNnapiDelegate) failed to prepare."),
    ("crash_2.txt", "Failed to apply NNAPI delegate."),
    ("gpu_delegate_failure.txt", "Failed to build program executable"),
])
def test_failures_raise_quoting_the_lines(name, quoted):
    with pytest.raises(BenchmarkOutputError, match="no timings") as e:
        parse_benchmark_output(load(name))
    assert quoted in str(e.value)


def test_truncated_output_raises():
    text = load("new_format_cpu.txt")
    cut = text[: text.index("INFO: Inference timings")]
    with pytest.raises(BenchmarkOutputError) as e:
        parse_benchmark_output(cut)
    assert "count=50" in str(e.value)
    with pytest.raises(BenchmarkOutputError, match="no output"):
        parse_benchmark_output("")


def test_inference_diff():
    d = parse_inference_diff(load("inference_diff.txt"))
    assert (d.runs, d.reference_latency_us, d.test_latency_us) == (50, 84364.2, 7281.64)
    assert d.output_avg_error == [pytest.approx(1.96277e-05)] and d.output_std_dev == [pytest.approx(6.95767e-06)]
    prefixed = "\n".join("INFO: " + l for l in load("inference_diff.txt").splitlines())
    assert parse_inference_diff(prefixed).runs == 50
    with pytest.raises(BenchmarkOutputError):
        parse_inference_diff("Num evaluation runs: 50\n")
