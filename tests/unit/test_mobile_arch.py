"""The mobile architecture goes through the whole pipeline: build, fold, QAT, int8 export, head swap, inspect."""
import numpy as np
import pytest
import tf_keras as keras
from tf_keras import layers

from mobile_kit.models import ARCHITECTURES, build_model
from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec

MOBILE = "mbv2_lraspp"


@pytest.mark.parametrize("hw", [(64, 64), (64, 96), (96, 160)])
def test_builds_square_and_non_square_softmax(hw):
    m = build_model(MOBILE, InputSpec(*hw, 3))
    assert m.output_shape == (None, *hw, 2)
    y = m(np.random.default_rng(0).random((1, *hw, 3)).astype("float32")).numpy()
    assert np.allclose(y.sum(-1), 1.0, atol=1e-5)
    kinds = {type(l).__name__ for l in m.layers}
    # only ops tfmot 0.8.1 quantizes: no Multiply, no hard-swish activations
    assert "Multiply" not in kinds and "DepthwiseConv2D" in kinds and "GlobalAveragePooling2D" in kinds


def test_width_multiplier_scales_and_budget_at_256(tmp_path):
    from mobile_kit.inspect import inspect_model

    m = build_model(MOBILE, InputSpec(256, 256, 3))
    small = build_model(MOBILE, InputSpec(256, 256, 3), width_multiplier=0.5)
    assert small.count_params() < 0.5 * m.count_params()
    assert m.count_params() < 120_000  # int8 weights must fit in 150 KB with the graph
    m.save(str(tmp_path / "m.keras"))
    r = inspect_model(tmp_path / "m.keras")
    assert 30e6 < r["macs"] < 100e6, r["macs"]  # MediaPipe selfie: about 59 M at 256x256


def test_mobile_arch_rejects_sizes_not_multiple_of_32():
    from mobile_kit.errors import MobileKitError

    with pytest.raises(MobileKitError, match="multiples of 32, found 100x96"):
        build_model(MOBILE, InputSpec(100, 96, 3))


def test_fold_removes_batchnorm_and_keeps_outputs():
    from mobile_kit.reparam.fold import fold_model

    keras.utils.set_random_seed(1)
    m = build_model(MOBILE, InputSpec(64, 96, 3))
    rng = np.random.default_rng(0)
    for l in m.layers:  # random BN statistics: identity BN would hide folding bugs
        if isinstance(l, layers.BatchNormalization):
            g, b, mu, var = l.get_weights()
            l.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.2, b.shape),
                           rng.normal(0, 0.2, mu.shape), rng.uniform(0.5, 2.0, var.shape)])
    folded, rep = fold_model(m)
    assert not any(isinstance(l, layers.BatchNormalization) for l in folded.layers)
    x = rng.random((2, 64, 96, 3)).astype("float32")
    assert np.max(np.abs(m(x, training=False).numpy() - folded(x).numpy())) < 1e-4


@pytest.mark.slow
def test_qat_exports_fully_integer_int8(tmp_path):
    from mobile_kit.export.ops import op_report
    from mobile_kit.export.tflite import convert_int8
    from mobile_kit.quant.calibration import calibration_images
    from mobile_kit.quant.qat import quantize_aware

    spec = InputSpec(64, 64, 3)
    q, rep = quantize_aware(build_model(MOBILE, spec))
    assert not rep.warnings, rep.warnings  # every layer has a tfmot quantize config
    path = tmp_path / "q.tflite"  # the exporter's own int8 conversion (batch-1 trace, int8 I/O)
    path.write_bytes(convert_int8(q, spec, calibration_images(None, 4)[0], {"int8_io": "int8"}))
    r = op_report(path)
    assert r["fully_integer"], r["float_ops"]
    for op in ("DEPTHWISE_CONV_2D", "MEAN", "ADD", "SOFTMAX"):
        assert op in r["op_counts"], r["op_counts"]


@pytest.mark.slow
def test_int8_export_and_sigmoid_head_swap(tmp_path):
    from mobile_kit.export import export_model
    from mobile_kit.export.ops import op_report

    keras.utils.set_random_seed(0)
    spec = InputSpec(64, 96, 3)
    run = tmp_path / "run"
    run.mkdir()
    build_model(MOBILE, spec).save(str(run / "model.keras"))
    ModelMetadata(input=spec, output=OutputSpec(), name="m", arch=MOBILE).save(run / "metadata.json")
    r = export_model(run, "tflite-int8", tmp_path / "int8", head="sigmoid", skip_parity=True, num_calibration=4)
    assert op_report(r.artifact)["fully_integer"]
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(r.artifact))
    assert list(it.get_output_details()[0]["shape"]) == [1, 64, 96, 1]
    assert r.artifact.stat().st_size < 150_000


# --- ACNet on the 3x3 depthwise branches (Ding et al., ACNet, ICCV 2019) ---------------------------------------


def _random_bn_statistics(model, seed=0):
    """Non-trivial BatchNorm statistics everywhere (identity BN would hide folding bugs)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        name = w.name.split("/")[-1]
        if "moving_variance" in name or "gamma" in name:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        elif "moving_mean" in name or "beta" in name:
            w.assign(rng.normal(0, 0.2, w.shape).astype("float32"))


def _logits_model(m):
    """The same model up to the softmax's input: probabilities near 0/1 would hide differences."""
    return keras.Model(m.input, m.get_layer("head_logits").output)


def test_acnet_depthwise_folds_to_the_plain_architecture(tmp_path):
    from mobile_kit.reparam import DepthwiseACBlock
    from mobile_kit.reparam.fold import fold_model

    keras.utils.set_random_seed(0)
    spec = InputSpec(64, 96, 3)
    m = build_model(MOBILE, spec, acnet=True)
    blocks = [l for l in m.layers if isinstance(l, DepthwiseACBlock)]
    # every 3x3 depthwise: s1b1, s2b1 (stride 2), s2b2, s4b1, and the two decoder refinements; not the 5x5s
    assert sorted(l.name for l in blocks) == sorted(["s1b1_dwacb", "s2b1_dwacb", "s2b2_dwacb", "s4b1_dwacb",
                                                     "dec1_refine_dwacb", "dec2_refine_dwacb"])
    assert {l.strides for l in blocks} == {(1, 1), (2, 2)}
    _random_bn_statistics(m)
    folded, rep = fold_model(m)
    assert sorted(rep.acblocks) == sorted(l.name for l in blocks) and not rep.warnings
    assert not any(isinstance(l, (DepthwiseACBlock, layers.BatchNormalization)) for l in folded.layers)
    kernels = {tuple(l.kernel_size) for l in folded.layers if isinstance(l, layers.DepthwiseConv2D)}
    assert kernels == {(3, 3), (5, 5)}  # no 1x3 / 3x1 left anywhere
    assert not any(tuple(getattr(l, "kernel_size", (1, 1))) in ((1, 3), (3, 1)) for l in folded.layers)
    plain, _ = fold_model(build_model(MOBILE, spec))
    assert folded.count_params() == plain.count_params() < m.count_params()
    from mobile_kit.inspect import _keras_report

    def macs(model, name):
        model.save(str(tmp_path / name))
        return _keras_report(tmp_path / name)["macs"]

    # the folded model costs what the plain one does; training-time ACNet adds 6 of 9 taps per depthwise 3x3
    dw3 = sum(np.prod(l.output_shape[1:]) for l in blocks)
    assert macs(folded, "f.keras") == macs(plain, "p.keras") == macs(m, "a.keras") - 6 * dw3
    x = np.random.default_rng(1).random((2, 64, 96, 3)).astype("float32")
    ref = _logits_model(m)(x, training=False).numpy()
    got = _logits_model(folded)(x).numpy()
    assert np.abs(ref).max() > 0.1  # the comparison is on real signal
    assert np.abs(ref - got).max() < 1e-5 * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("mode", ["branch_bn", "add_bn"])
@pytest.mark.parametrize("branch", ["square", "hor", "ver"])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_acblock_fold_uses_every_branch(branch, stride, mode):
    """Only ``branch`` carries signal (the others have zero kernels): a fold that drops it fails here."""
    from mobile_kit.reparam import DepthwiseACBlock
    from mobile_kit.reparam.fold import fold_model

    inp = keras.Input((15, 16, 4))
    blk = DepthwiseACBlock(stride, "same", mode=mode)
    m = keras.Model(inp, blk(inp))
    rng = np.random.default_rng(2)
    for w in m.weights:  # random BN statistics and biases
        name = w.name.split("/")[-1]
        if "moving_variance" in name or "gamma" in name:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        elif "moving_mean" in name or "beta" in name or "bias" in name:
            w.assign(rng.normal(0, 0.3, w.shape).astype("float32"))
    x = rng.normal(size=(2, 15, 16, 4)).astype("float32")
    for name in ("square", "hor", "ver"):
        k = getattr(blk, name).depthwise_kernel
        k.assign(np.zeros(k.shape, "float32"))
    without_any_kernel = m(x, training=False).numpy()  # BN shifts and biases only
    k = getattr(blk, branch).depthwise_kernel
    k.assign(rng.normal(0, 1, k.shape).astype("float32"))
    folded, rep = fold_model(m)
    assert [type(l).__name__ for l in folded.layers] == ["InputLayer", "DepthwiseConv2D"]
    assert tuple(folded.layers[1].kernel_size) == (3, 3) and folded.output_shape == m.output_shape
    ref = m(x, training=False).numpy()
    assert np.abs(ref - without_any_kernel).max() > 0.5  # the branch's convolution really contributes
    assert np.abs(ref - folded(x).numpy()).max() < 1e-5


def test_acnet_flag_reaches_mbv2_lraspp_through_train_options():
    from mobile_kit.reparam import DepthwiseACBlock

    m = build_model(MOBILE, InputSpec(64, 64, 3), acnet=True)
    # the blocks keep the architecture's BatchNorm momentum (0.99 lags depthwise statistics; see mbv2_lraspp)
    from mobile_kit.models.mbv2_lraspp import BN_MOMENTUM

    blk = next(l for l in m.layers if isinstance(l, DepthwiseACBlock))
    assert blk.square_bn.momentum == blk.hor_bn.momentum == blk.ver_bn.momentum == BN_MOMENTUM
    clone = DepthwiseACBlock.from_config(blk.get_config())
    assert clone.bn_momentum == BN_MOMENTUM and clone.strides == blk.strides


@pytest.mark.slow
def test_acnet_folded_model_qats_to_fully_integer_int8(tmp_path):
    from mobile_kit.export.ops import op_report
    from mobile_kit.export.tflite import convert_int8
    from mobile_kit.quant.calibration import calibration_images
    from mobile_kit.quant.qat import quantize_aware

    keras.utils.set_random_seed(0)
    spec = InputSpec(64, 64, 3)
    m = build_model(MOBILE, spec, acnet=True)
    _random_bn_statistics(m)
    q, qrep = quantize_aware(m)  # folds first: the QAT model holds plain depthwise 3x3s
    assert len(qrep.acblocks) == 6 and not qrep.warnings, qrep.warnings
    path = tmp_path / "q.tflite"
    path.write_bytes(convert_int8(q, spec, calibration_images(None, 4)[0], {"int8_io": "int8"}))
    r = op_report(path)
    assert r["fully_integer"], r["float_ops"]
    assert r["op_counts"]["DEPTHWISE_CONV_2D"] == 9  # 6 folded ACNet blocks + 3 plain 5x5
