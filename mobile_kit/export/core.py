"""``export_model``: fold, swap the head, convert, check parity, write the artifact and its metadata."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.errors import ExportError, ModelError, ParityError
from mobile_kit.export.registry import check_requirements, get_target
from mobile_kit.fileio import sha256_file, stage_outputs
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import METADATA_FILENAME, ModelMetadata

#: Number of fixed real photos both models run on for the parity check.
PARITY_IMAGES = 8


@dataclass
class ExportResult:
    """What an export wrote and how it compared with the source."""

    target: str
    artifact: Path
    metadata_path: Path
    size_bytes: int
    sha256: str | None
    parity: dict
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "artifact": str(self.artifact),
            "metadata": str(self.metadata_path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "parity": self.parity,
            "warnings": list(self.warnings),
        }


def parity_images(data: str | Path | None, n: int = PARITY_IMAGES, split: str = "all") -> tuple[list[np.ndarray], str]:
    """Fixed real inputs: ``n`` evenly spaced photos of ``data``, else scikit-image's bundled photos."""
    from mobile_kit.quant.calibration import calibration_images

    if data is None:
        from mobile_kit.data.samples import SAMPLE_PHOTOS, sample_photos

        return sample_photos(), f"scikit-image photos ({', '.join(SAMPLE_PHOTOS)})"
    return calibration_images(data, n, split=split)


def is_quantization_aware(model) -> bool:
    """True if ``model`` holds tensorflow-model-optimization quantization wrappers (a QAT model)."""
    return any(type(l).__name__ in ("QuantizeWrapper", "QuantizeWrapperV2", "QuantizeLayer") for l in model.layers)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def export_model(
    source: str | Path | None,
    target: str,
    out_dir: str | Path,
    data: str | Path | None = None,
    int8_io: str | None = None,
    num_calibration: int | None = None,
    skip_parity: bool = False,
    split: str = "all",
    head: str = "softmax",
    layout: str | None = None,
    opset: int | None = None,
    precision: str | None = None,
    compress: str | None = None,
    bundle: bool = False,
    progress: Progress = NullProgress(),
) -> ExportResult:
    """Export a Keras model to ``target`` and write ``out_dir/{artifact, metadata.json}``.

    The model is folded first (ACNet branches, BatchNorm; a QAT model is used
    as is), its head swapped if asked, converted, and the artifact run against
    the source Keras model on fixed real photos (:mod:`mobile_kit.verify`).
    The target then embeds the contract in the artifact (TFLite: standard
    metadata + ``mobilekit_metadata.json``; ONNX: ``metadata_props``; Core ML:
    user-defined metadata), and the artifact is checked to run bit-identically
    after embedding.

    Parameters
    ----------
    source : path or None
        Run folder, ``.keras`` or ``.h5`` with ``metadata.json`` beside it;
        ``None`` = the built-in model.
    target : str
        A registered target (:func:`mobile_kit.export.registry.target_names`):
        ``tflite-fp32``, ``tflite-fp16``, ``tflite-int8``, ``onnx``, ``coreml``.
    out_dir : path
        Folder for the artifact and its ``metadata.json``.
    data : path, optional
        Dataset (or folder of photos) for calibration and the parity inputs;
        default: photos bundled with scikit-image.
    int8_io, num_calibration : optional
        ``tflite-int8`` only: I/O tensor type ``int8`` (default) | ``uint8``;
        representative-dataset size (default 64).
    layout, opset : optional
        ``onnx`` only: input layout ``NHWC`` (default) | ``NCHW``; opset (default 17).
    precision, compress : optional
        ``coreml`` only: compute precision ``fp16`` (default) | ``fp32``; weight
        compression ``none`` | ``palettize-6bit`` | ``int8-weights``.
    skip_parity : bool
        Write the artifact even if parity fails (the report says so).
    split : {"all", "train", "val"}
        When ``data`` is a dataset: the part calibration and parity photos
        come from (``train`` keeps validation photos unseen).
    head : {"softmax", "sigmoid", "logits"}
        Output head (:func:`mobile_kit.reparam.head.swap_head`).
    bundle : bool
        Also write ``labels.txt`` and the metadata JSON Schema: everything an
        app needs in ``out_dir``.

    Returns
    -------
    ExportResult
        With ``warnings``: runtimes that will refuse the artifact and the flag that fixes it.

    Raises
    ------
    ExportError
        An option that the target does not take (e.g. ``layout`` for ``tflite-int8``); the converter
        failed; the target's optional dependency is missing (the message gives the install command).
    UnknownNameError
        Unknown target, head, or an option value outside its choices.
    ModelError
        Source is not a Keras model with metadata; a head that cannot be swapped.
    ParityError
        The artifact disagrees with the source beyond the target's tolerance
        (nothing is written unless ``skip_parity``).
    """
    from mobile_kit.reparam.head import HEADS, swap_head
    from mobile_kit.runtime import Segmenter, check_contract, keras_source, load_keras_model
    from mobile_kit.verify import parity_report

    tgt = get_target(target)
    opts = tgt.resolve_options({"int8_io": int8_io, "num_calibration": num_calibration, "layout": layout,
                                "opset": opset, "precision": precision, "compress": compress})
    check_requirements(tgt)
    src, meta = keras_source(source, "export")
    if Path(out_dir).resolve() == src.parent.resolve():
        raise ModelError(f"{out_dir}: expected an output folder other than the source model's own "
                         f"(its {METADATA_FILENAME} would be overwritten)")
    from mobile_kit.tasks import task_of

    task = task_of(meta)
    if head in HEADS and head not in task.heads:  # refused before any work; an unknown head is refused by swap_head
        raise ModelError(f"--head {head} (--target {target}): a {task.description} model with {task.num_classes} "
                         f"classes takes {' | '.join(task.heads)}; with more than two classes each probability "
                         "depends on all logits, so no per-class sigmoid reproduces the softmax (use --head logits, "
                         "argmax on device)")
    model = load_keras_model(src)
    check_contract(src, meta, model.input_shape, model.output_shape)
    spec = meta.input
    fold_info = None
    convert_model = model
    if not is_quantization_aware(model):
        from mobile_kit.reparam.fold import fold_model

        convert_model, fold_rep = fold_model(model, (spec.height, spec.width, spec.channels))  # ACNet + BN -> convs
        fold_info = fold_rep.to_dict()
    elif head != "softmax":
        raise ModelError(f"{src}: --head {head} is not supported on a QAT model; swap the head before QAT")
    convert_model, out_spec = swap_head(convert_model, head, meta.output)

    art_meta = ModelMetadata.from_dict(meta.to_dict())
    art_meta.target, art_meta.precision = target, tgt.precision_for(opts)
    art_meta.output = out_spec
    art_meta.source_sha256 = sha256_file(src)
    art_meta.input = tgt.contract_input(spec, opts)
    calib, calib_src = [], None
    if tgt.needs_calibration:
        from mobile_kit.quant.calibration import calibration_images

        with progress.task("calibration images", 1) as t:
            calib, calib_src = calibration_images(data, opts["num_calibration"], split=split)
            t.advance()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_artifact = Path(tmp) / tgt.filename
        with progress.task(f"converting to {target}", 1) as t:
            tgt.convert(convert_model, spec, calib, opts, tmp_artifact)
            t.advance()
        runs, why = tgt.format.runs_here()
        probe = None
        with progress.task("parity check", 1) as t:
            if runs:
                seg = Segmenter(tmp_artifact, art_meta, num_threads=2)
                imgs, img_src = parity_images(data, split=split)
                rep = parity_report(model, seg, imgs, spec, meta.output, img_src)
                from mobile_kit.preprocess import to_model_input

                probe = to_model_input(imgs[0], spec)
                probe_out = seg.run(probe)
                del seg
            else:
                rep = dict(tgt.verify(tmp_artifact, convert_model, opts), reason=why)
            t.advance()
        ok, reason = tgt.parity(rep)
        rep.update({"target": target, "passed": ok, "criterion": reason,
                    "skipped_enforcement": bool(skip_parity and not ok)})
        if head != "softmax":
            rep["head"] = f"{head} (swapped from softmax before conversion; compared on class probabilities)"
        if not ok and not skip_parity:
            raise ParityError(f"{target} artifact fails parity: {reason} (nothing written; --skip-parity to keep it)", rep)
        art_meta.parity = rep
        if fold_info is not None:
            art_meta.training = dict(art_meta.training, fold=fold_info)
        art_meta.io = tgt.format.io_details(tmp_artifact)
        art_meta.quantization = tgt.quantization(art_meta.io, calib_src)
        from mobile_kit.specs import validate_metadata

        validate_metadata(art_meta.to_dict(), str(out_dir / METADATA_FILENAME))  # before anything is moved
        with progress.task("embedding the contract", 1) as t:
            tgt.embed(tmp_artifact, art_meta)
            if probe is not None:
                _check_embedding_changed_nothing(tmp_artifact, art_meta, probe, probe_out)
            t.advance()
        warnings = list(tgt.warnings(art_meta.io, opts))
        # artifact + metadata (+ bundle extras) appear together or not at all, replacing any earlier export's
        with stage_outputs(out_dir, replaces=unit_files()) as stage:
            shutil.move(str(tmp_artifact), str(stage / tgt.filename))
            art_meta.save(stage / METADATA_FILENAME)
            if bundle:
                write_bundle_extras(stage, art_meta)
    artifact = out_dir / tgt.filename
    meta_path = out_dir / METADATA_FILENAME
    return ExportResult(target, artifact, meta_path, _size(artifact),
                        sha256_file(artifact) if artifact.is_file() else None, rep, warnings)


def _check_embedding_changed_nothing(artifact: Path, meta: ModelMetadata, x: np.ndarray, before: np.ndarray) -> None:
    """The artifact with its embedded contract must compute exactly what it computed before embedding."""
    from mobile_kit.runtime import Segmenter
    from mobile_kit.verify import EMBED_MAX_ABS

    after = Segmenter(artifact, meta, num_threads=2).run(x)
    diff = float(np.abs(after - before).max())
    if diff > EMBED_MAX_ABS:
        raise ExportError(f"{artifact.name}: embedding the contract changed the model's output by {diff:.3g} "
                          f"(expected bit-identical); nothing written")


#: What ``--bundle`` adds beside the artifact and its metadata.
BUNDLE_EXTRAS = ("labels.txt", "metadata.schema.json", "golden")


def unit_files() -> list[str]:
    """Everything an export may leave in its folder: every registered target's artifact plus the bundle extras.

    One folder holds one export: an earlier export's files are replaced as a
    unit, so no other target's artifact and no stale bundle extras or golden
    vectors of an earlier model stay beside the new pair.
    """
    from mobile_kit.export.registry import target_names

    return sorted({get_target(n).filename for n in target_names()} | set(BUNDLE_EXTRAS))


def write_bundle_extras(out_dir: Path, meta: ModelMetadata) -> None:
    """``labels.txt`` (one class per line, channel order), ``metadata.schema.json`` and ``golden/`` beside the artifact."""
    import json

    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.schemas import load_schema

    atomic_write_text(out_dir / "labels.txt", "\n".join(meta.output.labels) + "\n")
    atomic_write_text(out_dir / "metadata.schema.json", json.dumps(load_schema("metadata"), indent=2) + "\n")
    from mobile_kit.export.golden import write_golden_if_runnable

    write_golden_if_runnable(out_dir, meta)  # golden/: test vectors for the app cores (android_demo/GOLDEN.md)
