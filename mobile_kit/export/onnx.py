"""ONNX target through tf2onnx (https://github.com/onnx/tensorflow-onnx), checked with onnxruntime.

Opset 17 by default; the input is NHWC like the Keras model, or NCHW on
request (``--layout NCHW``, tf2onnx's ``inputs_as_nchw``); the output stays
NHWC. Parity against Keras uses the fp32 tolerance.
"""
from __future__ import annotations

from pathlib import Path

from mobile_kit.errors import ExportError, UnknownNameError
from mobile_kit.export.parity import FP32_MAX_ABS, max_abs_check
from mobile_kit.export.registry import Target, register_target

DEFAULT_OPSET = 17
LAYOUTS = ("NHWC", "NCHW")
INPUT_NAME = "image"


def convert_onnx(model, spec, calibration, options, dest: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    layout = options.get("layout", "NHWC")
    if layout not in LAYOUTS:
        raise UnknownNameError("layout", layout, LAYOUTS)
    sig = (tf.TensorSpec((1, spec.height, spec.width, spec.channels), tf.float32, name=INPUT_NAME),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=sig, opset=int(options.get("opset") or DEFAULT_OPSET),
                                              inputs_as_nchw=[INPUT_NAME] if layout == "NCHW" else None)
    except Exception as e:  # tf2onnx raises assorted errors with the unsupported op named
        raise ExportError(f"ONNX conversion of model {model.name!r} failed: {e}") from None
    dest.write_bytes(proto.SerializeToString())


def onnx_io_details(path: Path) -> dict:
    import onnx

    m = onnx.load(str(path))
    inits = {i.name for i in m.graph.initializer}
    dtype = {1: "float32", 10: "float16", 3: "int8", 2: "uint8", 7: "int64"}

    def desc(v):
        t = v.type.tensor_type
        return {"name": v.name, "shape": [d.dim_value if d.dim_value else (d.dim_param or -1) for d in t.shape.dim],
                "dtype": dtype.get(t.elem_type, str(t.elem_type))}

    ins = [v for v in m.graph.input if v.name not in inits]
    return {"input": desc(ins[0]), "output": desc(m.graph.output[0]),
            "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))}


register_target(Target("onnx", "model.onnx", "float32", convert_onnx, max_abs_check(FP32_MAX_ABS), onnx_io_details,
                       description="ONNX (tf2onnx, opset 17), checked with onnxruntime",
                       requires=("tf2onnx", "onnx", "onnxruntime"), extra="onnx"))
