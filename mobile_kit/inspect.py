"""What is inside a model: parameters, MACs, activation memory, ops, I/O, GPU-delegate compatibility."""
from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from mobile_kit.errors import ModelError


def _keras_report(path: Path) -> dict:
    from tf_keras import layers

    from mobile_kit.runtime import load_keras_model

    m = load_keras_model(path)
    macs, acts = 0, []
    for l in m.layers:
        try:
            out = l.output_shape
        except AttributeError:
            continue
        shapes = out if isinstance(out, list) else [out]
        for s in shapes:
            if s and all(d is not None for d in s[1:]):
                acts.append(int(np.prod(s[1:])) * 4)
        s = shapes[0]
        if not s or any(d is None for d in s[1:]):
            continue
        if isinstance(l, layers.Conv2DTranspose):
            i = l.input_shape
            macs += i[1] * i[2] * i[3] * l.kernel_size[0] * l.kernel_size[1] * l.filters
        elif isinstance(l, layers.DepthwiseConv2D):
            macs += s[1] * s[2] * s[3] * l.kernel_size[0] * l.kernel_size[1]
        elif isinstance(l, layers.Conv2D):
            macs += s[1] * s[2] * s[3] * l.kernel_size[0] * l.kernel_size[1] * l.input_shape[-1] // l.groups
        elif isinstance(l, layers.Dense):
            macs += int(np.prod(s[1:-1] or [1])) * l.input_shape[-1] * l.units
        elif type(l).__name__ == "ACBlock":
            k = 9 + 3 + 3
            macs += s[1] * s[2] * s[3] * k * l.input_shape[-1]
        elif type(l).__name__ == "DepthwiseACBlock":  # training-time: 3x3 + 1x3 + 3x1 per channel
            macs += s[1] * s[2] * s[3] * (9 + 3 + 3)
    trainable = int(sum(np.prod(w.shape) for w in m.trainable_weights))
    return {
        "format": "keras",
        "parameters": m.count_params(),
        "trainable_parameters": trainable,
        "macs": int(macs),
        "activation_memory_bytes": {"sum_of_layer_outputs_float32": int(sum(acts)),
                                    "largest_layer_output_float32": int(max(acts) if acts else 0)},
        "layers": dict(Counter(type(l).__name__ for l in m.layers)),
        "input": {"shape": list(m.input_shape), "dtype": "float32"},
        "output": {"shape": list(m.output_shape), "dtype": "float32"},
    }


def gpu_compatibility(model_content: bytes) -> dict:
    """TFLite's model analyzer with ``gpu_compatibility=True``.

    Returns
    -------
    dict
        ``compatible`` (bool), ``incompatible_ops`` (``[{"node", "op", "reason"}]``)
        and the analyzer's raw text (captured from Python's and the C-level stdout).
    """
    import sys

    import tensorflow as tf

    import contextlib
    import io

    buf = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as f:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(f.fileno(), 1)
        try:
            with contextlib.redirect_stdout(buf):  # the analyzer print()s its report from Python
                tf.lite.experimental.Analyzer.analyze(model_content=model_content, gpu_compatibility=True)
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        f.seek(0)
        text = buf.getvalue() + f.read().decode(errors="replace")  # and anything written at the C level
    return parse_analyzer_output(text)


def parse_analyzer_output(text: str) -> dict:
    """Read the GPU verdict of TFLite's model analyzer.

    The analyzer (tensorflow/lite/python/analyzer_wrapper/model_analyzer.cc)
    prints each op as ``  Op#N NAME(...)`` followed, for ops the GPU delegate
    rejects, by ``GPU COMPATIBILITY WARNING: <reason>``, then a
    ``GPU COMPATIBILITY WARNING: Subgraph#i has GPU delegate compatibility
    issues at nodes ...`` summary, or ``Your model looks compatible with GPU
    delegate`` when there is none.
    """
    bad, last_op = [], None
    for line in text.splitlines():
        m = re.match(r"\s*Op#(\d+) (\w+)", line)
        if m:
            last_op = (int(m.group(1)), m.group(2))
        elif line.startswith("GPU COMPATIBILITY WARNING: ") and not line.startswith("GPU COMPATIBILITY WARNING: Subgraph"):
            node, op = last_op or (None, "?")
            bad.append({"node": node, "op": op, "reason": line.split(": ", 1)[1].strip()})
    compatible = "looks compatible with GPU delegate" in text and not bad
    return {"compatible": compatible, "incompatible_ops": bad, "analyzer_output": text,
            "note": "TFLite's analyzer (2.21) accepted every op we tried, TOPK_V2 and GATHER_ND included: "
                    "'compatible' is necessary, not sufficient; confirm with `mobilekit bench --device adb --delegate gpu`"}


def _tflite_report(path: Path, gpu: bool) -> dict:
    from mobile_kit.export.ops import op_report, plain_interpreter
    from mobile_kit.export.tflite import tflite_io_details

    it = plain_interpreter(path)
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    macs, params, act = 0, 0, 0
    ops = it._get_ops_details()
    produced = {i for op in ops for i in op["outputs"]} | {d["index"] for d in it.get_input_details()}
    weight_slots = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2), "TRANSPOSE_CONV": (1, 3)}
    const_idx = set()
    for op in ops:
        for slot in weight_slots.get(op["op_name"], ()):
            if slot < len(op["inputs"]) and op["inputs"][slot] >= 0 and op["inputs"][slot] not in produced:
                const_idx.add(op["inputs"][slot])
    for op in ops:
        ins = [tensors[i] for i in op["inputs"] if i >= 0]
        outs = [tensors[i] for i in op["outputs"] if i >= 0]
        name = op["op_name"]
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV") and outs:
            o = outs[0]["shape"]
            if name == "CONV_2D":
                w = ins[1]["shape"]
                macs += int(np.prod(o[1:])) * int(np.prod(w[1:]))
            elif name == "DEPTHWISE_CONV_2D":
                w = ins[1]["shape"]
                macs += int(np.prod(o[1:])) * int(w[1] * w[2])
            elif name == "TRANSPOSE_CONV":
                w, x = ins[1]["shape"], ins[2]["shape"]
                macs += int(np.prod(x[1:3])) * int(np.prod(w))
            else:
                w = ins[1]["shape"]
                macs += int(np.prod(o[:-1])) * int(np.prod(w))
    for i, t in tensors.items():
        nbytes = int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize if len(t["shape"]) else 0
        if i in const_idx:
            params += int(np.prod(t["shape"]))
        elif i in produced:  # op outputs and the input; not weights, not kernels' scratch buffers
            act += nbytes
    from mobile_kit.errors import ExportError
    from mobile_kit.export.tflite_metadata import read_tflite_metadata

    try:
        standard = read_tflite_metadata(path)
    except ExportError as e:  # tflite-support missing: say so instead of failing the whole report
        standard = {"unavailable": str(e)}
    rep = {
        "format": "tflite",
        "size_bytes": path.stat().st_size,
        "tflite_metadata": standard,
        "parameters": params,
        "macs": macs,
        "activation_memory_bytes": {"sum_of_op_outputs": act},
        "io": tflite_io_details(path),
        **op_report(path),
    }
    if gpu:
        rep["gpu_delegate"] = gpu_compatibility(path.read_bytes())
    return rep


def _onnx_report(path: Path) -> dict:
    import onnx

    from mobile_kit.export.onnx import onnx_io_details

    m = onnx.load(str(path))
    return {"format": "onnx", "size_bytes": path.stat().st_size,
            "parameters": int(sum(np.prod(i.dims) for i in m.graph.initializer)),
            "op_counts": dict(sorted(Counter(n.op_type for n in m.graph.node).items())), "io": onnx_io_details(path)}


def _coreml_report(path: Path) -> dict:
    """A Core ML package from its spec (no macOS needed): I/O, MIL op counts, stored weights, output description
    and the labels of the segmentation preview (:mod:`mobile_kit.export.coreml`)."""
    import json

    from mobile_kit.export.coreml import PREVIEW_PARAMS_KEY, _load, coreml_io_details, mil_ops, stored_weights

    ml = _load(path)
    spec = ml.get_spec()
    files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else [path]
    preview = ml.user_defined_metadata.get(PREVIEW_PARAMS_KEY)
    return {"format": "coreml", "size_bytes": sum(f.stat().st_size for f in files),
            "parameters": int(sum(w.size for w in stored_weights(path) if w.ndim > 0)),
            "op_counts": dict(sorted(Counter(mil_ops(path)).items())), "io": coreml_io_details(path),
            "output_description": spec.description.output[0].shortDescription,
            "preview_labels": json.loads(preview)["labels"] if preview else None}


def _check_loadable(p: Path) -> None:
    """Raise :class:`ModelError` if ``p`` (``.tflite``/``.onnx``) is not a file its runtime can read."""
    if p.suffix == ".tflite":
        from mobile_kit.runtime import _make_interpreter

        _make_interpreter(p, 1)
    elif p.suffix == ".onnx":
        try:
            import onnx

            onnx.checker.check_model(onnx.load(str(p)))
        except ImportError:
            raise ModelError(f"{p}: inspecting ONNX models needs onnx: pip install \"mobilekit[onnx]\"") from None
        except Exception as e:  # protobuf DecodeError, onnx ValidationError
            raise ModelError(f"{p}: expected an ONNX model, found one onnx cannot read "
                             f"({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None


def inspect_model(path: str | Path, gpu: bool = True) -> dict:
    """Report on a ``.keras``/``.h5``, ``.tflite``, ``.onnx``, ``.mlpackage`` (or a run folder).

    Returns
    -------
    dict
        Parameters, MACs (multiply-accumulates of conv/dense layers, one
        inference), activation memory estimate in bytes, op/layer counts,
        input/output details, for ``.tflite`` the GPU-delegate
        compatibility check (:func:`gpu_compatibility`) and the standard TFLite
        metadata (``tflite_metadata``); ``metadata`` (the contract in use and
        where it came from) and ``embedded_metadata`` (the contract inside the
        artifact, or ``None``).

    Raises
    ------
    ModelError
        Missing or unsupported file.
    """
    from mobile_kit.export.registry import format_for
    from mobile_kit.runtime import embedded_metadata, load_metadata_for, resolve_model_path

    p = resolve_model_path(path)
    _check_loadable(p)
    fmt = format_for(p)
    if fmt.name not in REPORTS:
        raise ModelError(f"{p}: expected {', '.join(sorted(REPORTS))} to inspect, found a {fmt.name} model")
    rep = REPORTS[fmt.name](p, gpu)
    inside = embedded_metadata(p)
    meta = load_metadata_for(p)
    rep["path"] = str(p)
    rep["metadata"] = {"input": meta.input.to_dict(), "output": meta.output.to_dict(), "target": meta.target,
                       "source": "metadata.json" if (p.parent / "metadata.json").is_file() else "embedded"} if meta else None
    rep["embedded_metadata"] = inside.to_dict() if inside else None
    return rep


#: Report builder per artifact format (:mod:`mobile_kit.export.registry`).
REPORTS = {"keras": lambda p, gpu: _keras_report(p), "tflite": _tflite_report, "onnx": lambda p, gpu: _onnx_report(p),
           "coreml": lambda p, gpu: _coreml_report(p)}
