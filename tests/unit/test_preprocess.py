import numpy as np
import pytest

from mobile_kit.preprocess import foreground_probability, to_model_input, upsample_probability
from mobile_kit.specs import InputSpec, OutputSpec


def test_to_model_input_normalises_and_resizes():
    img = np.full((10, 20, 3), 255, np.uint8)
    x = to_model_input(img, InputSpec(32, 64, 3, scale=2 / 255, offset=-1))
    assert x.shape == (32, 64, 3) and x.dtype == np.float32
    assert np.allclose(x, 1.0)
    g = to_model_input(np.full((4, 4, 3), 51, np.uint8), InputSpec(32, 32, 1))
    assert g.shape == (32, 32, 1) and np.allclose(g, 0.2)


def test_foreground_probability_kinds():
    logits = np.stack([np.zeros((2, 2)), np.full((2, 2), np.log(3.0))], -1).astype(np.float32)
    p = foreground_probability(logits, OutputSpec(kind="logits"), (2, 2))
    assert np.allclose(p, 0.75)
    soft = np.stack([np.full((2, 2), 0.2), np.full((2, 2), 0.8)], -1)
    assert np.allclose(foreground_probability(soft, OutputSpec(kind="softmax"), (2, 2)), 0.8)
    sig = np.full((2, 2, 1), 0.3, np.float32)
    assert np.allclose(foreground_probability(sig, OutputSpec(kind="sigmoid", foreground_index=0), (2, 2)), 0.3)
    one_logit = np.zeros((2, 2, 1), np.float32)
    assert np.allclose(foreground_probability(one_logit, OutputSpec(kind="logits"), (2, 2)), 0.5)


def test_flat_output_is_unflattened_row_major():
    flat = np.arange(6, dtype=np.float32) / 10
    p = foreground_probability(flat, OutputSpec(kind="sigmoid"), (2, 3))
    assert p.shape == (2, 3) and p[1, 0] == pytest.approx(0.3)
    with pytest.raises(ValueError):
        foreground_probability(np.zeros(7), OutputSpec(kind="sigmoid"), (2, 3))


def test_upsample_probability_to_photo_size():
    p = np.zeros((4, 4), np.float32)
    p[:, 2:] = 1
    up = upsample_probability(p, (8, 16))
    assert up.shape == (8, 16) and up[:, :6].max() < 0.5 and up[:, 10:].min() > 0.5


def test_quantize_pins_floor_x_plus_half_on_exact_ties():
    from mobile_kit.preprocess import quantize

    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 200.0, -200.0])
    q = quantize(x, 1.0, 0, np.int8)
    assert q.dtype == np.int8 and q.tolist() == [1, 2, 3, 0, -1, -2, 127, 127, -128]
    # with a zero point and a scale: ties of x / scale land on .5 exactly (scale a power of two)
    q = quantize(np.array([0.125, 0.375, -0.125]), 0.25, 128, np.uint8)
    assert q.dtype == np.uint8 and q.tolist() == [129, 130, 128]


def test_litert_runner_quantizes_inputs_with_the_pinned_rule():
    """Segmenter runs a quantized .tflite through LiteRTRunner: its uint8 input must be floor(x/s + 0.5) + zp."""
    from mobile_kit.export.tflite import LiteRTRunner

    class FakeInterpreter:
        def set_tensor(self, index, value):
            self.fed = value

        def invoke(self):
            pass

        def get_tensor(self, index):
            return np.zeros((1, 1, 1, 1), np.float32)

    r = LiteRTRunner.__new__(LiteRTRunner)
    r.interpreter = FakeInterpreter()
    r._in = {"dtype": np.uint8, "quantization": (0.5, 10), "index": 0, "shape": [1, 1, 4, 1]}
    r._out = {"dtype": np.float32, "quantization": (0.0, 0), "index": 1}
    r.run(np.array([0.25, 0.75, 1.25, -0.25], np.float32).reshape(1, 4, 1))  # x/s = 0.5, 1.5, 2.5, -0.5
    assert r.interpreter.fed.ravel().tolist() == [11, 12, 13, 10]  # np.round would give 10, 12, 12, 10
