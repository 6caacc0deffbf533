"""The real ONNX case: SINet (NCHW, opset 12, initializers listed as graph inputs) -> TFLite -> eval."""
import json

import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.slow
SINET = SHARED / "peers" / "sinet" / "SINet.onnx"
# SINet (clovaai ext_portrait_segmentation) normalises ((pixel - mean) / std) / 255 per channel;
# as pixel * scale + offset: scale = 1 / (255 std), offset = -mean / (255 std).
MEAN = (107.304565, 115.69884, 132.35703)
STD = (63.97182, 65.1337, 68.29726)


def test_sinet_imports_with_parity_and_evaluates(tmp_path):
    need_shared(SINET)
    pytest.importorskip("onnx2tf", reason="onnx2tf is installed with --no-deps (see README)")
    scale = ",".join(f"{1 / (255 * s):.10g}" for s in STD)
    offset = ",".join(f"{-m / (255 * s):.10g}" for m, s in zip(MEAN, STD))
    r = CliRunner().invoke(app, ["import", str(SINET), "--out", str(tmp_path / "sinet"), "--scale", scale, "--offset",
                                 offset, "--output-kind", "logits", "--data", str(SHARED / "photos" / "p3m"),
                                 "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["parity"]["passed"] and d["parity"]["max_rel"] <= 1e-4 and d["input_shape_onnx"] == [1, 3, 320, 320]
    meta = json.loads((tmp_path / "sinet" / "metadata.json").read_text())
    assert meta["io"]["input"]["shape"] == [1, 320, 320, 3] and meta["output"]["kind"] == "logits"
    r = CliRunner().invoke(app, ["eval", str(tmp_path / "sinet" / "model.tflite"), "--data",
                                 str(SHARED / "data" / "portrait-248"), "--limit", "24", "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["person_iou"] > 0.45  # a working portrait model, not noise (~0.1 with wrong input)
