"""Where a .tflite's bytes go: shortened fused tensor names and a compact, stored embedded contract."""
import json
import zipfile

import numpy as np
import pytest


def _names(flatbuffer: bytes):
    from tensorflow.lite.tools import flatbuffer_utils

    m = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    sg = m.subgraphs[0]
    io = set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
    return [(i in io, t.name.decode()) for i, t in enumerate(sg.tensors)]


def _run(flatbuffer: bytes, x: np.ndarray):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=bytes(flatbuffer))
    it.allocate_tensors()
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    it.set_tensor(d["index"], x)
    it.invoke()
    return it.get_tensor(o["index"]), d["name"], o["name"], it.get_signature_list()


def test_fused_tensor_names_are_shortened_and_nothing_else_changes(tiny_run, monkeypatch):
    import mobile_kit.export.tflite as tfl
    from mobile_kit.runtime import load_keras_model
    from mobile_kit.specs import InputSpec

    model = load_keras_model(tiny_run / "model.keras")
    monkeypatch.setattr(tfl, "shorten_fused_tensor_names", lambda fb: fb)  # the converter's own bytes
    raw = tfl.convert_fp32(model, InputSpec(32, 32, 3), None, {})
    monkeypatch.undo()
    short = tfl.shorten_fused_tensor_names(raw)
    before, after = _names(raw), _names(short)
    assert any(";" in n for _, n in before)  # conv + BN + ReLU fused: the case this exists for
    assert not any(";" in n for io, n in after if not io)
    assert [n for io, n in after if io] == [n for io, n in before if io]  # input/output names untouched
    assert [n.split(";")[0] for _, n in before] == [n for _, n in after]
    assert len(short) < len(raw) - sum(len(n) - len(n.split(";")[0]) for _, n in before) + 64
    x = np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32")
    (y0, *meta0), (y1, *meta1) = _run(raw, x), _run(short, x)
    assert np.array_equal(y0, y1) and meta0 == meta1  # same output, I/O names and signature
    assert tfl.shorten_fused_tensor_names(short) == short


@pytest.fixture(scope="module")
def fp32_export(tiny_run, tmp_path_factory):
    from mobile_kit.export import export_model

    return export_model(tiny_run, "tflite-fp32", tmp_path_factory.mktemp("fp32_size"))


def test_embedded_contract_is_compact_and_stored(fp32_export):
    """Compact JSON saves a third; the entry stays STORED because MediaPipe Tasks refuses compressed entries."""
    meta = json.loads(fp32_export.metadata_path.read_text())
    with zipfile.ZipFile(fp32_export.artifact) as z:
        infos = {i.filename: i for i in z.infolist()}
        raw = z.read("mobilekit_metadata.json")
    assert {i.compress_type for i in infos.values()} == {zipfile.ZIP_STORED}
    assert json.loads(raw) == meta
    assert len(raw) == len(json.dumps(meta, separators=(",", ":"))) + 1  # no indentation
    assert len(raw) < 0.8 * len(json.dumps(meta, indent=2))
