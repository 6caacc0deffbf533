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
