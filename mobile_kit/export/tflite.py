"""TFLite targets: fp32, fp16 (float16 weights) and int8 (full-integer).

Follows https://ai.google.dev/edge/litert/models/post_training_quantization :
fp16 = ``optimizations=[DEFAULT]`` + ``supported_types=[float16]``; int8 =
``optimizations=[DEFAULT]`` + a representative dataset +
``TFLITE_BUILTINS_INT8`` only, with int8 or uint8 input/output tensors.
Convolution weights are quantized per output channel (the converter's default).
"""
from __future__ import annotations

from mobile_kit.errors import ExportError
from mobile_kit.export.parity import (
    FP16_MIN_MASK_IOU,
    FP16_MEAN_ABS,
    FP32_MAX_ABS,
    INT8_MIN_MASK_IOU,
    mask_iou_check,
    max_abs_check,
    mean_and_mask_check,
)
from mobile_kit.export.registry import Target, register_target
from mobile_kit.quant.calibration import representative_dataset

INT8_IO_TYPES = ("int8", "uint8")


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
        return conv.convert()
    except Exception as e:  # the converter raises ConverterError / ValueError with MLIR text
        raise ExportError(f"TFLite {what} conversion failed: {str(e).strip().splitlines()[-1] if str(e).strip() else e}") from None


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

    io = options.get("int8_io", "int8")
    if io not in INT8_IO_TYPES:
        from mobile_kit.errors import UnknownNameError

        raise UnknownNameError("int8 input/output type", io, INT8_IO_TYPES)
    if not calibration:
        raise ExportError("tflite-int8 needs a representative dataset; none was given")
    conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset(calibration, spec)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = getattr(tf, io)
    conv.inference_output_type = getattr(tf, io)
    return _convert(conv, "int8")


register_target(Target("tflite-fp32", "model.tflite", "float32", _writer(convert_fp32), max_abs_check(FP32_MAX_ABS),
                       tflite_io_details, description="float32 TFLite"))
register_target(Target("tflite-fp16", "model.tflite", "float16", _writer(convert_fp16),
                       mean_and_mask_check(FP16_MEAN_ABS, FP16_MIN_MASK_IOU),
                       tflite_io_details,
                       description="float16 weights, float32 compute on CPU (GPU delegates run fp16)"))
register_target(Target("tflite-int8", "model.tflite", "int8", _writer(convert_int8), mask_iou_check(INT8_MIN_MASK_IOU),
                       tflite_io_details, needs_calibration=True,
                       description="full-integer int8 (per-channel weights)"))
