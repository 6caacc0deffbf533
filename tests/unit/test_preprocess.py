import numpy as np
import pytest

from mobile_kit.preprocess import person_probability, to_model_input, upsample_probability
from mobile_kit.specs import InputSpec, OutputSpec


def test_to_model_input_normalises_and_resizes():
    img = np.full((10, 20, 3), 255, np.uint8)
    x = to_model_input(img, InputSpec(32, 64, 3, scale=2 / 255, offset=-1))
    assert x.shape == (32, 64, 3) and x.dtype == np.float32
    assert np.allclose(x, 1.0)
    g = to_model_input(np.full((4, 4, 3), 51, np.uint8), InputSpec(32, 32, 1))
    assert g.shape == (32, 32, 1) and np.allclose(g, 0.2)


def test_person_probability_kinds():
    logits = np.stack([np.zeros((2, 2)), np.full((2, 2), np.log(3.0))], -1).astype(np.float32)
    p = person_probability(logits, OutputSpec(kind="logits"), (2, 2))
    assert np.allclose(p, 0.75)
    soft = np.stack([np.full((2, 2), 0.2), np.full((2, 2), 0.8)], -1)
    assert np.allclose(person_probability(soft, OutputSpec(kind="softmax"), (2, 2)), 0.8)
    sig = np.full((2, 2, 1), 0.3, np.float32)
    assert np.allclose(person_probability(sig, OutputSpec(kind="sigmoid", person_index=0), (2, 2)), 0.3)
    one_logit = np.zeros((2, 2, 1), np.float32)
    assert np.allclose(person_probability(one_logit, OutputSpec(kind="logits"), (2, 2)), 0.5)


def test_flat_output_is_unflattened_row_major():
    flat = np.arange(6, dtype=np.float32) / 10
    p = person_probability(flat, OutputSpec(kind="sigmoid"), (2, 3))
    assert p.shape == (2, 3) and p[1, 0] == pytest.approx(0.3)
    with pytest.raises(ValueError):
        person_probability(np.zeros(7), OutputSpec(kind="sigmoid"), (2, 3))


def test_upsample_probability_to_photo_size():
    p = np.zeros((4, 4), np.float32)
    p[:, 2:] = 1
    up = upsample_probability(p, (8, 16))
    assert up.shape == (8, 16) and up[:, :6].max() < 0.5 and up[:, 10:].min() > 0.5
