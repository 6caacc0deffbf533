"""What a ``.tflite`` contains: operators and the dtypes they compute in."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

#: Ops that only convert between float and integer at the graph edges.
BOUNDARY_OPS = ("QUANTIZE", "DEQUANTIZE")


def plain_interpreter(path: str | Path):
    """A LiteRT interpreter without the default XNNPACK delegate, so op details show the model's own ops."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    return it


def tflite_ops(path: str | Path) -> list[dict]:
    """Operators in execution order: ``{"op", "inputs": [dtype...], "outputs": [dtype...]}``.

    Uses the LiteRT interpreter's op details (``_get_ops_details``).
    """
    it = plain_interpreter(path)
    tensors = {t["index"]: np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    out = []
    for op in it._get_ops_details():
        out.append({
            "op": op["op_name"],
            "inputs": [tensors.get(i, "?") for i in op["inputs"] if i >= 0],
            "outputs": [tensors.get(i, "?") for i in op["outputs"] if i >= 0],
        })
    return out


def op_report(path: str | Path) -> dict:
    """Op counts and the ops that compute in float between the input quantize and output dequantize.

    Returns
    -------
    dict
        ``op_counts`` (name -> count), ``float_ops`` (names of non-boundary ops
        with a float32/float16 output), ``fully_integer`` (bool).
    """
    ops = tflite_ops(path)
    counts = Counter(o["op"] for o in ops)
    float_ops = [o["op"] for o in ops
                 if o["op"] not in BOUNDARY_OPS and any(d.startswith("float") for d in o["outputs"])]
    return {"op_counts": dict(sorted(counts.items())), "float_ops": float_ops, "fully_integer": not float_ops,
            "n_ops": len(ops)}
