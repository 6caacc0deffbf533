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


class _FakeInterpreter:
    """Records the order of invoke() calls across instances (stands in for LiteRT's Interpreter)."""

    calls: list = []

    def __init__(self, model_path, num_threads):
        import numpy as np
        self.name = model_path
        self._dtype = np.uint8 if "int8" in model_path else np.float32

    def allocate_tensors(self):
        pass

    def get_input_details(self):
        return [{"index": 0, "shape": (1, 4, 4, 3), "dtype": self._dtype}]

    def set_tensor(self, index, x):
        assert x.dtype == self._dtype and x.shape == (1, 4, 4, 3)

    def invoke(self):
        _FakeInterpreter.calls.append(self.name)


def test_interleaved_latency_alternates_models_round_by_round(tmp_path, monkeypatch):
    import ai_edge_litert.interpreter as litert

    from mobile_kit.bench import interleaved_latency

    a, b = tmp_path / "a_int8.tflite", tmp_path / "b.tflite"
    a.write_bytes(b"x"), b.write_bytes(b"y")
    monkeypatch.setattr(litert, "Interpreter", _FakeInterpreter)
    _FakeInterpreter.calls = []
    res = interleaved_latency({"a": a, "b": b}, threads=2, runs=5, warmup=2)
    assert _FakeInterpreter.calls == [str(a), str(b)] * 7  # one invoke per model per round, warm-up included
    assert set(res) == {"a", "b", "ratio_p50"}
    assert res["ratio_p50"]["a"] == 1.0
    assert res["ratio_p50"]["b"] == pytest.approx(res["b"]["p50"] / res["a"]["p50"])
    assert all(res[k]["min"] <= res[k]["p50"] <= res[k]["max"] for k in ("a", "b"))


def test_interleaved_latency_ranks_a_heavier_model_slower(tiny_run, tmp_path):
    """Real LiteRT: the same tiny model vs itself stacked 30 times deeper is slower in every statistic."""
    import tf_keras as keras

    from mobile_kit.bench import interleaved_latency

    light = export_model(tiny_run, "tflite-fp32", tmp_path / "light").artifact
    x = inp = keras.Input((64, 64, 3))
    for i in range(30):
        x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, x))
    heavy = tmp_path / "heavy.tflite"
    heavy.write_bytes(conv.convert())
    res = interleaved_latency({"light": light, "heavy": heavy}, threads=1, runs=5, warmup=1)
    assert res["heavy"]["p50"] > res["light"]["p50"]
    assert res["ratio_p50"]["heavy"] > 1.0


def test_interleaved_latency_refuses_bad_input(tmp_path):
    from mobile_kit.bench import interleaved_latency

    with pytest.raises(BenchmarkError, match="at least one"):
        interleaved_latency({})
    bad = tmp_path / "m.onnx"
    bad.write_bytes(b"0")
    with pytest.raises(BenchmarkError, match="expected a .tflite"):
        interleaved_latency({"m": bad})
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    with pytest.raises(BenchmarkError, match="LiteRT cannot load"):
        interleaved_latency({"m": junk})
