"""Benchmarks of exported artifacts: local LiteRT runs and their result schema."""
from mobile_kit.bench.local import BenchResult, bench_local, interleaved_latency

__all__ = ["BenchResult", "bench_local", "interleaved_latency"]
