"""TFLite targets: fp32, fp16 (float16 weights) and int8 (full-integer).

Follows https://ai.google.dev/edge/litert/models/post_training_quantization :
fp16 = ``optimizations=[DEFAULT]`` + ``supported_types=[float16]``; int8 =
``optimizations=[DEFAULT]`` + a representative dataset +
``TFLITE_BUILTINS_INT8`` only, with int8 or uint8 input/output tensors.
Convolution weights are quantized per output channel (the converter's default).

Every ``.tflite`` gets standard TFLite metadata and our contract
(:mod:`mobile_kit.export.tflite_metadata`), so MediaPipe Tasks and the LiteRT
Support library load it as is and a lone ``.tflite`` keeps its contract.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobile_kit.errors import ExportError, ModelError
from mobile_kit.export.registry import ArtifactFormat, Option, Target, register_target
from mobile_kit.export.tflite_metadata import read_tflite_contract, write_tflite_metadata
from mobile_kit.preprocess import quantize
from mobile_kit.quant.calibration import representative_dataset
from mobile_kit.verify import (
    FP16_MEAN_ABS,
    FP16_MIN_MASK_IOU,
    FP32_MAX_ABS,
    INT8_MIN_MASK_IOU,
    mask_iou_check,
    max_abs_check,
    mean_and_mask_check,
)

INT8_IO_TYPES = ("int8", "uint8")
#: Input tensor types MediaPipe Tasks' ImageSegmenter accepts (measured with mediapipe 1.2.2:
#: float32 with NormalizationOptions, uint8; an int8 input is refused when the task is created).
MEDIAPIPE_INPUT_TYPES = ("float32", "uint8")


def _converter(model):
    """A converter for ``model`` traced at batch size 1.

    A Keras model's batch dimension is ``None``; converted as is, TFLite keeps
    SHAPE/STRIDED_SLICE ops to compute resize and transposed-conv output shapes
    at run time, which mobile GPU delegates reject. Tracing with a static
    ``(1, H, W, C)`` input removes them.
    """
    import tensorflow as tf

    shape = (1,) + tuple(model.input_shape[1:])
    if any(d is None for d in shape):
        return tf.lite.TFLiteConverter.from_keras_model(model)
    fn = tf.function(lambda image: model(image, training=False),
                     input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
    return tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], model)


def _convert(conv, what: str) -> bytes:
    try:
        flatbuffer = conv.convert()
    except Exception as e:  # the converter raises ConverterError / ValueError with MLIR text
        raise ExportError(f"TFLite {what} conversion failed: {str(e).strip().splitlines()[-1] if str(e).strip() else e}") from None
    return shorten_fused_tensor_names(flatbuffer)


def shorten_fused_tensor_names(flatbuffer: bytes) -> bytes:
    """Keep only the first of the ``;``-joined names the converter gives a fused tensor.

    When the TFLite converter fuses ops (conv + bias + BatchNorm + ReLU6, and
    tfmot's fake-quant nodes), the output tensor's name is every fused TF op's
    name joined by ``;``, e.g. ``m/quant_x_relu/Relu6;m/quant_x_conv/BiasAdd;
    m/quant_x_conv/Conv2D;m/quant_x_conv/BiasAdd/ReadVariableOp``. The names
    are debug strings (LiteRT, XNNPACK and the GPU delegate look tensors up by
    index); they were 13,070 of the 152,874 bytes of the mbv2_lraspp QAT int8
    file (measured). The first component (the last op of the fused chain) is
    kept, so per-op profiles stay readable, and the model's input and output
    tensor names (``io`` in the contract, the signature) are left untouched.
    Weights, quantization parameters, signatures and metadata buffers are
    unchanged: a plain round trip through ``flatbuffer_utils`` reproduced the
    converter's bytes exactly (measured on that QAT file), and export's parity
    check runs on the result.

    Parameters
    ----------
    flatbuffer : bytes
        A ``.tflite`` flatbuffer as the converter returned it (no appended metadata zip).

    Returns
    -------
    bytes
        The same model with shorter intermediate tensor names.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    changed = False
    for sg in model.subgraphs or []:
        keep = set(np.asarray(sg.inputs).tolist()) | set(np.asarray(sg.outputs).tolist())
        for i, t in enumerate(sg.tensors or []):
            if i not in keep and t.name and b";" in t.name:
                t.name = t.name.split(b";", 1)[0]
                changed = True
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)) if changed else flatbuffer


class LiteRTRunner:
    """A ``.tflite`` in LiteRT's interpreter (XNNPACK); quantized input/output are (de)quantized here."""

    def __init__(self, path: Path, input_spec=None, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except Exception as e:
            raise ModelError(f"{path}: expected a TFLite flatbuffer, found one LiteRT cannot load ({e})") from None
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]

    def run(self, x: np.ndarray) -> np.ndarray:
        d = self._in
        if d["dtype"] in (np.int8, np.uint8):
            scale, zp = d["quantization"]
            xq = quantize(x, scale, zp, d["dtype"])  # floor(x/s + 0.5) + zp, as GOLDEN.md pins
        else:
            xq = x.astype(d["dtype"])
        self.interpreter.set_tensor(d["index"], xq.reshape(d["shape"]))
        self.interpreter.invoke()
        o = self._out
        y = self.interpreter.get_tensor(o["index"])
        if o["dtype"] in (np.int8, np.uint8):
            scale, zp = o["quantization"]
            y = (y.astype(np.float32) - zp) * scale
        return y[0].astype(np.float32)


def tflite_io_details(path) -> dict:
    """Input/output tensor names, shapes, dtypes and quantization of a ``.tflite``."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    out = {}
    for key, d in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        scale, zp = d["quantization"]
        row = {"name": d["name"], "shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
               "layout": "NHWC"}
        if scale:
            row.update(scale=float(scale), zero_point=int(zp))
        out[key] = row
    return out


def _writer(fn):
    def convert(model, spec, calibration, options, dest):
        dest.write_bytes(fn(model, spec, calibration, options))

    return convert


def convert_fp32(model, spec, calibration, options) -> bytes:
    return _convert(_converter(model), "fp32")


def convert_fp16(model, spec, calibration, options) -> bytes:
    import tensorflow as tf

    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return _convert(conv, "fp16")


def convert_int8(model, spec, calibration, options) -> bytes:
    import tensorflow as tf

    io = options["int8_io"]
    if not calibration:
        raise ExportError("tflite-int8 needs a representative dataset; none was given")
    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset(calibration, spec)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = getattr(tf, io)
    conv.inference_output_type = getattr(tf, io)
    return _convert(conv, "int8")


def embed_tflite(artifact: Path, meta) -> None:
    write_tflite_metadata(artifact, meta)


def mediapipe_warnings(io: dict, options: dict) -> list[str]:
    """Warn when MediaPipe Tasks will refuse the input tensor type, naming the flag that fixes it."""
    dtype = io["input"]["dtype"]
    if dtype in MEDIAPIPE_INPUT_TYPES:
        return []
    return [f"input tensor type {dtype}: MediaPipe Tasks' ImageSegmenter accepts only "
            f"{' or '.join(MEDIAPIPE_INPUT_TYPES)} inputs and will refuse this model; "
            "export with --int8-io uint8 to run it there (LiteRT itself runs it)"]


def int8_quantization(io: dict, calibration_source: str | None) -> dict:
    return {"input": io["input"], "output": io["output"], "calibration": calibration_source,
            "weights": "per-channel int8"}


TFLITE = ArtifactFormat("tflite", (".tflite",), LiteRTRunner, read_tflite_contract, tflite_io_details,
                        backend="litert")
_TFLITE_REQUIRES = ("tensorflow_lite_support",)
_TFLITE_INSTALL = "pip install --no-deps tflite-support==0.4.4 (and apt-get install libusb-1.0-0)"

register_target(Target("tflite-fp32", TFLITE, "model.tflite", "float32", _writer(convert_fp32),
                       max_abs_check(FP32_MAX_ABS), embed_tflite, description="float32 TFLite",
                       warnings=mediapipe_warnings, requires=_TFLITE_REQUIRES, install=_TFLITE_INSTALL))
register_target(Target("tflite-fp16", TFLITE, "model.tflite", "float16", _writer(convert_fp16),
                       mean_and_mask_check(FP16_MEAN_ABS, FP16_MIN_MASK_IOU), embed_tflite,
                       description="float16 weights, float32 compute on CPU (GPU delegates run fp16)",
                       warnings=mediapipe_warnings, requires=_TFLITE_REQUIRES, install=_TFLITE_INSTALL))
register_target(Target("tflite-int8", TFLITE, "model.tflite", "int8", _writer(convert_int8),
                       mask_iou_check(INT8_MIN_MASK_IOU), embed_tflite,
                       options=(Option("int8_io", "int8", INT8_IO_TYPES,
                                       help="tflite-int8: input/output tensor type int8 | uint8 (uint8 loads in "
                                            "MediaPipe Tasks)"),
                                Option("num_calibration", 64, None, int,
                                       help="tflite-int8: representative-dataset size (default 64)")),
                       needs_calibration=True, description="full-integer int8 (per-channel weights)",
                       quantization=int8_quantization, warnings=mediapipe_warnings, requires=_TFLITE_REQUIRES,
                       install=_TFLITE_INSTALL))
