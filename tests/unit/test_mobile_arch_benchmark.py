"""benchmarks/mobile_arch.py's Pareto front and plot, on hand-made rows (no models run)."""
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mobile_arch.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mobile_arch_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(name, iou, p50_us, size=150_000):
    return {"model": name, "portrait_val_iou": iou, "latency_p50_us": p50_us, "size_bytes": size}


def test_pareto_front_keeps_only_non_dominated_rows_sorted_by_latency(bench):
    rows = [_row("slow accurate", 0.90, 5000), _row("fast weak", 0.75, 1000), _row("dominated", 0.74, 2000),
            _row("middle", 0.85, 3000), _row("tie on latency, worse", 0.84, 3000), _row("slowest worse", 0.80, 9000)]
    assert [r["model"] for r in bench.pareto_front(rows)] == ["fast weak", "middle", "slow accurate"]


def test_pareto_plot_writes_a_png(bench, tmp_path):
    rows = [_row("mbv2 int8", 0.77, 1300), _row("MediaPipe", 0.90, 2200, 249_505),
            _row(bench.PLOT_EXCLUDE[0], 0.87, 9000, 900_000)]
    out = tmp_path / "p.png"
    bench.pareto_plot(rows, out, "subtitle")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
