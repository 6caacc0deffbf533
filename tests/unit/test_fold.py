"""ACNet and BatchNorm folding: exact, pure, and honest about what it leaves alone."""
import numpy as np
import pytest
import tf_keras as keras
from tf_keras import layers

from mobile_kit.errors import ModelError
from mobile_kit.models import build_model
from mobile_kit.reparam import ACBlock, fold_model
from mobile_kit.specs import InputSpec

TOL = 1e-5


def randomize(model, seed=0):
    """Random BatchNorm statistics and biases: identity BatchNorm would hide folding bugs."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        name = w.name.split("/")[-1]
        if "moving_variance" in name or "gamma" in name:
            w.assign(rng.uniform(0.3, 2.0, w.shape).astype("float32"))
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            w.assign(rng.normal(0, 0.7, w.shape).astype("float32"))


def max_diff(a, b, shape, seed=1):
    x = np.random.default_rng(seed).normal(size=shape).astype("float32")
    return float(np.abs(a(x, training=False).numpy() - b(x, training=False).numpy()).max())


@pytest.mark.parametrize("mode", ["branch_bn", "add_bn"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("size", [15, 16])
def test_acblock_folds_exactly(mode, stride, padding, size):
    inp = keras.Input((size, size, 3))
    x = ACBlock(5, stride, padding, mode)(inp)
    m = keras.Model(inp, layers.ReLU()(x))
    randomize(m)
    f, rep = fold_model(m)
    assert [type(l).__name__ for l in f.layers] == ["InputLayer", "Conv2D", "ReLU"]
    assert f.output_shape == m.output_shape
    assert max_diff(m, f, (2, size, size, 3)) < TOL


def stock_acnet(size, stride, bn=True, dilation=1):
    inp = keras.Input((size, size, 3))
    b = [layers.Conv2D(4, k, strides=stride, padding="same", dilation_rate=dilation if k == (3, 3) else 1,
                       name=f"c{i}")(inp) for i, k in enumerate([(3, 3), (1, 3), (3, 1)])]
    x = layers.Add(name="acadd")(b)
    if bn:
        x = layers.BatchNormalization(name="acbn")(x)
    return keras.Model(inp, layers.ReLU()(x))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [15, 16])
def test_stock_layer_acnet_pattern_folds_exactly(stride, size):
    m = stock_acnet(size, stride)
    randomize(m)
    f, rep = fold_model(m)
    assert rep.acnet_patterns == ["acadd"] and rep.batchnorms == ["acbn"] and not rep.warnings
    assert sum(isinstance(l, layers.Conv2D) for l in f.layers) == 1
    assert max_diff(m, f, (2, size, size, 3)) < TOL


def test_stride2_same_with_unknown_size_is_left_with_a_warning():
    inp = keras.Input((None, None, 3))
    b = [layers.Conv2D(4, k, strides=2, padding="same")(inp) for k in [(3, 3), (1, 3), (3, 1)]]
    m = keras.Model(inp, layers.Add(name="maybe_acnet")(b))
    f, rep = fold_model(m)
    assert rep.acnet_patterns == [] and any("maybe_acnet" in w and "alignment" in w for w in rep.warnings)
    assert max_diff(m, f, (1, 16, 16, 3)) == 0.0
    # with a fixed input shape the alignment is known and it folds
    f2, rep2 = fold_model(m, input_shape=(16, 16, 3))
    assert rep2.acnet_patterns == ["maybe_acnet"] and max_diff(m, f2, (1, 16, 16, 3)) < TOL


def test_dilated_lookalike_is_left_as_is_with_a_warning():
    m = stock_acnet(16, 1, dilation=2)
    randomize(m)
    f, rep = fold_model(m)
    assert rep.acnet_patterns == [] and any("acadd" in w and "dilated" in w for w in rep.warnings)
    assert max_diff(m, f, (1, 16, 16, 3)) == 0.0


@pytest.mark.parametrize("conv", ["depthwise", "transpose"])
def test_batchnorm_folds_into_depthwise_and_transposed_conv(conv):
    inp = keras.Input((12, 12, 4))
    if conv == "depthwise":
        x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(inp)
    else:
        x = layers.Conv2DTranspose(6, 3, strides=2, padding="same")(inp)
    m = keras.Model(inp, layers.BatchNormalization()(x))
    randomize(m)
    f, rep = fold_model(m)
    assert len(rep.batchnorms) == 1 and not any(isinstance(l, layers.BatchNormalization) for l in f.layers)
    assert max_diff(m, f, (2, 12, 12, 4)) < TOL


def test_fold_does_not_touch_its_input_and_nothing_to_fold_is_identity():
    m = stock_acnet(16, 1)
    randomize(m)
    before = [w.copy() for w in m.get_weights()]
    names = [l.name for l in m.layers]
    fold_model(m)
    assert [l.name for l in m.layers] == names
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    inp = keras.Input((8, 8, 3))
    plain = keras.Model(inp, layers.Conv2D(2, 3, activation="relu")(inp))
    f, rep = fold_model(plain)
    assert not rep.changed and max_diff(plain, f, (1, 8, 8, 3)) == 0.0


def test_conv_with_activation_before_bn_is_not_folded():
    inp = keras.Input((8, 8, 3))
    m = keras.Model(inp, layers.BatchNormalization()(layers.Conv2D(2, 3, activation="relu")(inp)))
    randomize(m)
    f, rep = fold_model(m)
    assert rep.batchnorms == [] and max_diff(m, f, (1, 8, 8, 3)) == 0.0


def test_acnet_likeunet_folds_to_the_plain_parameter_count():
    keras.utils.set_random_seed(0)
    spec = InputSpec(64, 64, 3)
    acnet = build_model("likeunet", spec, acnet=True)
    plain = build_model("likeunet", spec)
    randomize(acnet)
    fa, ra = fold_model(acnet)
    fp, _ = fold_model(plain)
    assert len(ra.acblocks) == 10
    assert acnet.count_params() > plain.count_params()
    assert fa.count_params() == fp.count_params()
    # 15 stacked layers with random BatchNorm gains (up to 2/sqrt(0.3) = 3.7x per layer) amplify float32
    # reordering error; each block alone is within 1e-5 (tests above)
    assert max_diff(acnet, fa, (1, 64, 64, 3)) < 10 * TOL


def test_shared_layers_are_refused():
    inp = keras.Input((8, 8, 3))
    conv = layers.Conv2D(3, 3, padding="same")
    m = keras.Model(inp, conv(conv(inp)))
    with pytest.raises(ModelError, match="used once"):
        fold_model(m)


def test_sequential_models_fold():
    m = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization()])
    randomize(m)
    f, rep = fold_model(m)
    assert len(rep.batchnorms) == 1 and max_diff(m, f, (1, 8, 8, 3)) < TOL


def test_conv_that_is_also_a_model_output_keeps_its_batchnorm():
    inp = keras.Input((8, 8, 3))
    c = layers.Conv2D(4, 3, name="c")(inp)
    m = keras.Model(inp, [c, layers.BatchNormalization(name="bn")(c)])
    randomize(m)
    f, rep = fold_model(m)
    assert rep.batchnorms == []
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype("float32")
    for a, b in zip(m(x), f(x)):
        assert np.abs(a.numpy() - b.numpy()).max() == 0.0


def test_batchnorm_called_in_training_mode_is_not_folded():
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3)(inp)
    m = keras.Model(inp, layers.BatchNormalization()(x, training=True))
    randomize(m)
    f, rep = fold_model(m)
    assert rep.batchnorms == [] and max_diff(m, f, (2, 8, 8, 3)) < TOL
