import numpy as np
import pytest
import tf_keras as keras
from tf_keras import layers

from mobile_kit.errors import ModelError
from mobile_kit.export.ops import op_report
from mobile_kit.models import build_model
from mobile_kit.quant.qat import quantize_aware
from mobile_kit.specs import InputSpec


def test_qat_wraps_a_folded_model_and_exports_fully_integer_per_channel(tmp_path):
    import tensorflow as tf

    from mobile_kit.quant.calibration import calibration_images, representative_dataset

    spec = InputSpec(32, 32, 3)
    m = build_model("likeunet", spec, acnet=True)
    q, rep = quantize_aware(m)
    assert len(rep.acblocks) == 10 and not any("BatchNormalization" == type(l).__name__ for l in q.layers)
    assert any(type(l).__name__ == "QuantizeWrapperV2" for l in q.layers)
    conv = tf.lite.TFLiteConverter.from_keras_model(q)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset(calibration_images(None, 4)[0], spec)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path = tmp_path / "q.tflite"
    path.write_bytes(conv.convert())
    r = op_report(path)
    assert r["fully_integer"], r["float_ops"]
    assert "CONV_2D" in r["op_counts"] and "SOFTMAX" in r["op_counts"]
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    kernels = [t for t in it.get_tensor_details()
               if t["dtype"] == np.int8 and len(t["shape"]) == 4 and t["shape"][0] == 16 and t["shape"][1] == 3]
    assert kernels, "a 16-filter 3x3 conv kernel"
    assert len(kernels[0]["quantization_parameters"]["scales"]) == 16  # per output channel


def test_float_op_detection_flags_a_float_model(tiny_run, tmp_path):
    from mobile_kit.export import export_model

    r = op_report(export_model(tiny_run, "tflite-fp32", tmp_path).artifact)
    assert not r["fully_integer"] and "CONV_2D" in r["float_ops"]


def test_unsupported_layers_with_weights_are_named():
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3)(inp)
    x = layers.LayerNormalization(name="ln")(x)
    x = layers.PReLU(name="prelu")(x)
    with pytest.raises(ModelError, match=r"ln \(LayerNormalization\), prelu \(PReLU\)"):
        quantize_aware(keras.Model(inp, x))


def test_weightless_unsupported_layers_stay_float_in_qat_and_int8_after_export(tmp_path):
    import tensorflow as tf

    inp = keras.Input((16, 16, 3))
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(inp)
    a = layers.Conv2D(4, 3, padding="same")(x)
    b = layers.Conv2D(4, 3, padding="same")(x)
    x = layers.Multiply(name="gate")([a, b])
    m = keras.Model(inp, layers.Conv2D(2, 1, activation="softmax")(x))
    q, rep = quantize_aware(m)
    warned = " ".join(rep.warnings)
    assert "'to_pm1' (Rescaling)" in warned and "'gate' (Multiply)" in warned
    noop = [l for l in q.layers if type(getattr(l, "quantize_config", None)).__name__ == "NoOpQuantizeConfig"]
    assert sorted(l.layer.name for l in noop) == ["gate", "to_pm1"]
    x0 = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    conv = tf.lite.TFLiteConverter.from_keras_model(q)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x0[i : i + 1]] for i in range(2))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    (tmp_path / "g.tflite").write_bytes(conv.convert())
    r = op_report(tmp_path / "g.tflite")
    assert r["fully_integer"], r["float_ops"]
    assert "MUL" in r["op_counts"]
