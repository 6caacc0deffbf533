"""``export_model``: convert, check parity, write the artifact and its metadata."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobile_kit.errors import ModelError, ParityError
from mobile_kit.export.parity import parity_report
from mobile_kit.export.registry import get_target
from mobile_kit.fileio import atomic_write_bytes, sha256_file
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
    sha256: str
    parity: dict

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "artifact": str(self.artifact),
            "metadata": str(self.metadata_path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "parity": self.parity,
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


def _io_quantization(tflite_path: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(tflite_path))
    out = {}
    for key, d in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        scale, zp = d["quantization"]
        out[key] = {"name": d["name"], "shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                    "scale": float(scale), "zero_point": int(zp)}
    return out


def export_model(
    source: str | Path | None,
    target: str,
    out_dir: str | Path,
    data: str | Path | None = None,
    int8_io: str = "int8",
    num_calibration: int = 64,
    skip_parity: bool = False,
    split: str = "all",
    progress: Progress = NullProgress(),
) -> ExportResult:
    """Export a Keras model to ``target`` and write ``out_dir/{artifact, metadata.json}``.

    Parameters
    ----------
    source : path or None
        Run folder or ``.keras`` file with ``metadata.json`` beside it;
        ``None`` = the built-in model.
    target : str
        A registered target (``tflite-fp32``, ``tflite-fp16``, ``tflite-int8``).
    out_dir : path
        Folder for the artifact and its ``metadata.json``.
    data : path, optional
        Dataset (or folder of photos) for calibration and the parity inputs;
        default: photos bundled with scikit-image.
    int8_io : {"int8", "uint8"}
        Input/output tensor type of ``tflite-int8``.
    num_calibration : int
        Representative-dataset size for int8.
    skip_parity : bool
        Write the artifact even if parity fails (the report says so).
    split : {"all", "train", "val"}
        When ``data`` is a dataset: the part calibration and parity photos
        come from (``train`` keeps validation photos unseen).

    Returns
    -------
    ExportResult

    Raises
    ------
    UnknownNameError
        Unknown target.
    ModelError
        Source is not a Keras model with metadata.
    ExportError
        The converter failed.
    ParityError
        The artifact disagrees with the source beyond the target's tolerance
        (nothing is written unless ``skip_parity``).
    """
    from mobile_kit.runtime import KERAS_SUFFIXES, Segmenter, load_keras_model, load_metadata_for, resolve_model_path

    tgt = get_target(target)
    src = resolve_model_path(source)
    if src.suffix not in KERAS_SUFFIXES:
        raise ModelError(f"{src}: export expects a Keras model (.keras/.h5 or a run folder), found {src.suffix}")
    meta = load_metadata_for(src)
    if meta is None:
        raise ModelError(f"{src}: expected {METADATA_FILENAME} beside the model, found none")
    model = load_keras_model(src)
    spec = meta.input
    fold_info = None
    convert_model = model
    if not is_quantization_aware(model):
        from mobile_kit.reparam.fold import fold_model

        convert_model, fold_rep = fold_model(model, (spec.height, spec.width, spec.channels))  # ACNet + BN -> convs
        fold_info = fold_rep.to_dict()

    calib, calib_src = [], None
    if tgt.needs_calibration:
        from mobile_kit.quant.calibration import calibration_images

        with progress.task("calibration images", 1) as t:
            calib, calib_src = calibration_images(data, num_calibration, split=split)
            t.advance()
    with progress.task(f"converting to {target}", 1) as t:
        blob = tgt.convert(convert_model, spec, calib, {"int8_io": int8_io})
        t.advance()

    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_artifact = Path(tmp) / tgt.filename
        tmp_artifact.write_bytes(blob)
        art_meta = ModelMetadata.from_dict(meta.to_dict())
        art_meta.target, art_meta.precision = target, tgt.precision
        art_meta.source_sha256 = sha256_file(src)
        seg = Segmenter(tmp_artifact, art_meta, num_threads=2)
        imgs, img_src = parity_images(data, split=split)
        with progress.task("parity check", 1) as t:
            rep = parity_report(model, seg, imgs, spec, meta.output, img_src)
            t.advance()
        ok, reason = tgt.parity(rep)
        rep.update({"target": target, "passed": ok, "criterion": reason, "skipped_enforcement": bool(skip_parity and not ok)})
        if not ok and not skip_parity:
            raise ParityError(f"{target} artifact fails parity: {reason} (nothing written; --skip-parity to keep it)", rep)
        art_meta.parity = rep
        if fold_info is not None:
            art_meta.training = dict(art_meta.training, fold=fold_info)
        if target == "tflite-int8":
            art_meta.quantization = dict(_io_quantization(tmp_artifact), calibration=calib_src, weights="per-channel int8")
        artifact = atomic_write_bytes(out_dir / tgt.filename, blob)
    meta_path = art_meta.save(out_dir / METADATA_FILENAME)
    return ExportResult(target, artifact, meta_path, len(blob), sha256_file(artifact), rep)
