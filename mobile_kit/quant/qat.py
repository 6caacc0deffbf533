"""Quantization-aware training with tensorflow-model-optimization.

The model is folded first (ACNet branches and BatchNorm become plain
convolutions, :func:`mobile_kit.reparam.fold_model`), wrapped with
``tfmot.quantization.keras.quantize_model`` (default 8-bit scheme: per-channel
symmetric int8 weights, per-tensor asymmetric int8 activations; see
https://www.tensorflow.org/model_optimization/guide/quantization/training),
fine-tuned with the training loop of :mod:`mobile_kit.training`, and exported
to full-integer int8 TFLite through :func:`mobile_kit.export.export_model`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mobile_kit.errors import MobileKitError, ModelError
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import METADATA_FILENAME, ModelMetadata

#: tfmot's quantization wrappers round-trip through HDF5, not the native .keras format.
QAT_MODEL_FILENAME = "model.h5"


@dataclass
class QATResult:
    run_dir: Path
    model_path: Path
    int8_artifact: Path
    val_metrics: dict
    int8_val_metrics: dict
    op_report: dict
    fold: dict
    seconds: float

    def to_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "model": str(self.model_path), "int8_artifact": str(self.int8_artifact),
                "val_metrics_qat_keras": self.val_metrics, "val_metrics_int8": self.int8_val_metrics,
                "op_report": self.op_report, "fold": self.fold, "seconds": self.seconds}


def _noop_config_class():
    import tensorflow_model_optimization as tfmot

    class NoOpQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Leave a weightless layer without fake quantization during QAT.

        The TFLite converter still quantizes its output from the representative
        dataset's ranges, so the int8 graph stays fully integer.
        """

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    return NoOpQuantizeConfig


def unsupported_layers(model) -> list[tuple[str, str]]:
    """Layers the default 8-bit scheme cannot quantize: ``[(name, class name)]``."""
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry as reg,
    )
    from tf_keras import layers

    registry = reg.Default8BitQuantizeRegistry()
    return [(l.name, type(l).__name__) for l in model.layers
            if not isinstance(l, layers.InputLayer) and not registry.supports(l)]


def quantize_aware(model):
    """Fold ``model`` and wrap it for QAT.

    Layers the default 8-bit scheme does not know are handled by kind:
    weightless ones (``Rescaling``, ``Resizing``, ``Multiply``, ...) are
    annotated to stay float during fine-tuning -- the converter quantizes them
    from the representative dataset -- and reported in
    ``fold_report.warnings``; ones with weights (``LayerNormalization``,
    ``PReLU``, custom layers) cannot be fake-quantized and are an error.

    Returns
    -------
    (qat_model, fold_report)

    Raises
    ------
    ModelError
        Naming each layer with weights that tfmot cannot quantize.
    """
    import tensorflow_model_optimization as tfmot
    import tf_keras as keras
    from tf_keras import layers

    from mobile_kit.reparam.fold import fold_model

    qk = tfmot.quantization.keras
    folded, rep = fold_model(model)
    bad = unsupported_layers(folded)
    weighted = [(n, c) for n, c in bad if folded.get_layer(n).weights]
    if weighted:
        names = ", ".join(f"{n} ({c})" for n, c in weighted)
        raise ModelError(
            f"model {model.name!r}: tensorflow-model-optimization's default 8-bit scheme cannot quantize {names} "
            "(layers with weights); replace them or export with post-training quantization (export --target tflite-int8)"
        )
    if not bad:
        return qk.quantize_model(folded), rep
    noop = _noop_config_class()
    skip = {n for n, _ in bad}
    for n, c in bad:
        rep.warnings.append(f"layer {n!r} ({c}): not in tfmot's default 8-bit scheme; kept float during QAT "
                            "(no weights), quantized at export from the representative dataset")

    def annotate(layer):
        if isinstance(layer, layers.InputLayer):
            return layer.__class__.from_config(layer.get_config())
        clone = layer.__class__.from_config(layer.get_config())
        if layer.name in skip:
            return qk.quantize_annotate_layer(clone, quantize_config=noop())
        return qk.quantize_annotate_layer(clone)

    annotated = keras.models.clone_model(folded, clone_function=annotate)
    annotated.set_weights(folded.get_weights())
    with qk.quantize_scope({"NoOpQuantizeConfig": noop}):
        return qk.quantize_apply(annotated), rep


def check_int8_io(int8_io: str) -> None:
    """Raise :class:`UnknownNameError` unless ``int8_io`` is a tflite-int8 input/output type (``int8``, ``uint8``)."""
    from mobile_kit.errors import UnknownNameError
    from mobile_kit.export.tflite import INT8_IO_TYPES

    if int8_io not in INT8_IO_TYPES:
        raise UnknownNameError("--int8-io type", int8_io, INT8_IO_TYPES)


def qat(
    model: str | Path | None,
    data: str | Path,
    out: str | Path,
    epochs: int = 5,
    batch_size: int = 8,
    learning_rate: float = 1e-4,
    loss: str | None = None,
    val_fraction: float | None = None,
    seed: int | None = None,
    int8_io: str = "int8",
    max_images: int | None = None,
    resume: bool = False,
    progress: Progress = NullProgress(),
) -> QATResult:
    """Fine-tune a trained model with fake quantization and export it to int8 TFLite.

    Parameters
    ----------
    model : path or None
        Run folder or ``.keras`` with ``metadata.json`` (``None`` = built-in).
    data : path
        Dataset folder; split with the model's own ``val_fraction``/``seed``
        unless given, so validation photos stay unseen.
    out : path
        QAT run folder: ``model.h5`` (QAT, float with fake-quant),
        ``metadata.json``, ``history.json`` and ``tflite-int8/``.
    epochs, learning_rate : int, float
        Fine-tuning budget (a small learning rate: the weights are trained).

    Returns
    -------
    QATResult
        With validation figures of the QAT Keras model and of its int8
        artifact, and the op report of the artifact.

    Raises
    ------
    ModelError
        Unsupported layers (named) or a model without metadata.
    DatasetError
        Bad dataset.
    """
    import tf_keras as keras

    from mobile_kit.export import export_model
    from mobile_kit.export.ops import op_report
    from mobile_kit.runtime import keras_source, load_keras_model
    from mobile_kit.training import STATE_FILENAME, fit, prepare_data, val_figures

    t0 = time.time()
    check_int8_io(int8_io)  # every option is checked before the fine-tuning starts
    src, meta = keras_source(model, "QAT")
    out = Path(out)
    if (out / STATE_FILENAME).exists() and not resume:
        raise MobileKitError(f"{out}: expected an empty run folder, found an earlier run; pass --resume or another --out")
    tr = meta.training or {}
    val_fraction = tr.get("val_fraction", 0.2) if val_fraction is None else val_fraction
    seed = tr.get("seed", 0) if seed is None else seed
    loss = loss or tr.get("loss", "ce+dice")
    keras.utils.set_random_seed(seed)
    qmodel, fold_rep = quantize_aware(load_keras_model(src))
    from mobile_kit.tasks import task_of

    prep = prepare_data(data, meta.input, val_fraction, seed, max_images, progress, task_of(meta))
    history, best = fit(qmodel, prep, out, epochs, batch_size, learning_rate, loss, seed, resume, True, progress,
                        "QAT fine-tuning", warmup=0, model_filename=QAT_MODEL_FILENAME)
    qmeta = ModelMetadata.from_dict(meta.to_dict())
    qmeta.name = f"{meta.name}-qat"
    qmeta.precision = "float32 with fake int8 quantization (QAT)"
    qmeta.training = dict(tr, qat={"source": str(src), "epochs": epochs, "learning_rate": learning_rate,
                                   "batch_size": batch_size, "loss": loss, "best_epoch": best["epoch"],
                                   "scheme": "tfmot default 8-bit", "fold": fold_rep.to_dict()})
    qmeta.save(out / METADATA_FILENAME)
    vm = val_figures(out / QAT_MODEL_FILENAME, qmeta, prep.val_pairs, progress) if prep.val_pairs else {}
    qmeta.metrics = {"val": vm}
    qmeta.save(out / METADATA_FILENAME)
    exp = export_model(out, "tflite-int8", out / "tflite-int8", data=data, int8_io=int8_io, split="train",
                       progress=progress)
    vm8 = (val_figures(exp.artifact, ModelMetadata.load(exp.metadata_path), prep.val_pairs, progress)
           if prep.val_pairs else {})
    return QATResult(out, out / QAT_MODEL_FILENAME, exp.artifact, vm, vm8, op_report(exp.artifact), fold_rep.to_dict(),
                     time.time() - t0)
