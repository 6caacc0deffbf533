import numpy as np
import pytest
import tf_keras as keras
from tf_keras import layers

from mobile_kit.errors import ModelError, UnknownNameError
from mobile_kit.models import build_model
from mobile_kit.reparam.head import swap_head
from mobile_kit.specs import InputSpec, OutputSpec


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_sigmoid_head_is_exact_for_two_classes():
    keras.utils.set_random_seed(1)
    m = build_model("likeunet", InputSpec(32, 32, 3))
    m.get_layer("head_logits").bias.assign([0.3, -0.7])
    x = _x((2, 32, 32, 3))
    p = m(x).numpy()[..., 1]
    s, spec = swap_head(m, "sigmoid", OutputSpec())
    assert s.output_shape == (None, 32, 32, 1)
    assert spec.kind == "sigmoid" and spec.labels == ("person",) and spec.foreground_index == 0
    assert np.abs(s(x).numpy()[..., 0] - p).max() < 1e-6
    # the input model keeps its softmax head
    assert m.output_shape == (None, 32, 32, 2)


def test_sigmoid_head_respects_the_person_channel():
    inp = keras.Input((4, 4, 3))
    m = keras.Model(inp, layers.Conv2D(2, 1, activation="softmax")(inp))  # seed-style head: softmax in the conv
    x = _x((1, 4, 4, 3))
    s, spec = swap_head(m, "sigmoid", OutputSpec(labels=("person", "background"), foreground_index=0))
    assert spec.labels == ("person",)
    assert np.abs(s(x).numpy()[..., 0] - m(x).numpy()[..., 0]).max() < 1e-6


def test_logits_head_gives_the_softmax_back():
    m = build_model("likeunet", InputSpec(32, 32, 3))
    x = _x((1, 32, 32, 3))
    lg, spec = swap_head(m, "logits", OutputSpec())
    z = lg(x).numpy()
    e = np.exp(z - z.max(-1, keepdims=True))
    assert spec.kind == "logits" and np.abs(e / e.sum(-1, keepdims=True) - m(x).numpy()).max() < 1e-6


def test_sigmoid_refused_for_more_than_two_classes():
    m = build_model("likeunet", InputSpec(32, 32, 3), num_classes=3)
    with pytest.raises(ModelError, match="needs a 2-class softmax, found 3 classes.*--head logits"):
        swap_head(m, "sigmoid", OutputSpec(labels=("bg", "person", "hair")))
    lg, spec = swap_head(m, "logits", OutputSpec(labels=("bg", "person", "hair")))
    assert lg.output_shape[-1] == 3


def test_no_softmax_head_and_unknown_head():
    inp = keras.Input((4, 4, 3))
    m = keras.Model(inp, layers.Conv2D(2, 1)(inp))
    with pytest.raises(ModelError, match="expected a head"):
        swap_head(m, "sigmoid", OutputSpec())
    with pytest.raises(UnknownNameError, match="logits, sigmoid, softmax"):
        swap_head(m, "tanh", OutputSpec())
