"""ONNX target through tf2onnx (https://github.com/onnx/tensorflow-onnx), checked with onnxruntime.

Opset 17 by default; the input is NHWC like the Keras model, or NCHW on
request (``--layout NCHW``, tf2onnx's ``inputs_as_nchw``); the output stays
NHWC. Parity against Keras uses the fp32 tolerance. The contract
(``metadata.json`` content) travels in the model's ``metadata_props`` under
``mobilekit_metadata``, beside ``labels``, ``author``, ``version`` and
``description`` entries that generic ONNX viewers show.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from mobile_kit.errors import ExportError, ModelError
from mobile_kit.export.registry import ArtifactFormat, Option, Target, artifact_text, register_target
from mobile_kit.verify import FP32_MAX_ABS, max_abs_check

DEFAULT_OPSET = 17
LAYOUTS = ("NHWC", "NCHW")
INPUT_NAME = "image"
#: ``metadata_props`` key of the embedded contract.
CONTRACT_KEY = "mobilekit_metadata"


def convert_onnx(model, spec, calibration, options, dest: Path) -> None:
    import tensorflow as tf
    import tf2onnx

    layout = options["layout"]
    sig = (tf.TensorSpec((1, spec.height, spec.width, spec.channels), tf.float32, name=INPUT_NAME),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=sig, opset=int(options["opset"]),
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


class OnnxRunner:
    """An ONNX model in onnxruntime (CPU); takes NHWC inputs and transposes them for an NCHW model."""

    def __init__(self, path: Path, input_spec=None, num_threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError(f"{path}: running ONNX models needs onnxruntime: pip install \"mobilekit[onnx]\"") from None
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise ModelError(f"{path}: expected an ONNX model, found one onnxruntime cannot load ({e})") from None
        self.nchw = input_spec is not None and input_spec.layout == "NCHW"
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        xin = x[None].astype(np.float32)
        if self.nchw:
            xin = np.ascontiguousarray(xin.transpose(0, 3, 1, 2))
        return np.asarray(self.session.run(None, {self.input_name: xin})[0])[0].astype(np.float32)


def embed_onnx(artifact: Path, meta) -> None:
    """Write the contract and the readable model text into ``metadata_props`` (rewrites ``artifact``)."""
    import onnx

    m = onnx.load(str(artifact))
    text = artifact_text(meta)
    props = {"author": text["author"], "version": text["version"], "description": text["description"],
             "license": text["license"], "labels": ",".join(text["labels"]),
             CONTRACT_KEY: json.dumps(meta.to_dict())}
    keep = [p for p in m.metadata_props if p.key not in props]
    del m.metadata_props[:]
    m.metadata_props.extend(keep)
    for k, v in props.items():
        m.metadata_props.add(key=k, value=v)
    m.doc_string = text["description"]
    onnx.save(m, str(artifact))


def read_onnx_contract(path: Path) -> dict | None:
    """The contract in ``metadata_props['mobilekit_metadata']``, or ``None``."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception:  # not our job to diagnose an unloadable model here: the runner will
        return None
    raw = next((p.value for p in m.metadata_props if p.key == CONTRACT_KEY), None)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ModelError(f"{path}: expected JSON in metadata_props[{CONTRACT_KEY!r}], found unreadable text ({e})") from None


ONNX = ArtifactFormat("onnx", (".onnx",), OnnxRunner, read_onnx_contract, onnx_io_details,
                      backend="onnxruntime")

register_target(Target("onnx", ONNX, "model.onnx", "float32", convert_onnx, max_abs_check(FP32_MAX_ABS), embed_onnx,
                       options=(Option("layout", "NHWC", LAYOUTS, help="onnx: input layout NHWC | NCHW"),
                                Option("opset", DEFAULT_OPSET, None, int, help="onnx: opset (default 17)")),
                       contract_input=lambda spec, options: replace(spec, layout=options["layout"]),
                       description="ONNX (tf2onnx, opset 17), checked with onnxruntime",
                       requires=("tf2onnx", "onnx", "onnxruntime"), extra="onnx"))
