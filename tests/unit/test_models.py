import pytest

from mobile_kit.errors import MobileKitError, UnknownNameError
from mobile_kit.models import ARCHITECTURES, build_model
from mobile_kit.specs import InputSpec


def test_likeunet_matches_the_humanmatting_network():
    # The authors' folded dark-light.json (grayscale) has exactly 221,626 parameters.
    m = build_model("likeunet", InputSpec(64, 64, 1))
    assert m.count_params() == 221_626
    assert m.output_shape == (None, 64, 64, 2)
    convs = [l for l in m.layers if l.__class__.__name__ == "Conv2D"]
    assert [l.filters for l in convs][:6] == [8, 16, 32, 32, 32, 64]


def test_unet_is_configurable_and_softmax():
    import numpy as np

    m = build_model("unet", InputSpec(64, 96, 3), base_filters=4, depth=3)
    y = m(np.random.rand(2, 64, 96, 3).astype("float32")).numpy()
    assert y.shape == (2, 64, 96, 2)
    assert np.allclose(y.sum(-1), 1.0, atol=1e-5)
    small = build_model("unet", InputSpec(64, 64, 3), base_filters=4, depth=2).count_params()
    assert small < m.count_params()


def test_unknown_arch_lists_valid_names():
    with pytest.raises(UnknownNameError) as e:
        build_model("mobilenet", InputSpec(64, 64))
    for name in ARCHITECTURES:
        assert name in str(e.value)


def test_input_size_must_be_multiple_of_32():
    with pytest.raises(MobileKitError, match="multiples of 32, found 100x100"):
        build_model("likeunet", InputSpec(100, 100))
