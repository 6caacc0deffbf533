"""ONNX -> TensorFlow SavedModel + TFLite with onnx2tf (https://github.com/PINTO0309/onnx2tf).

onnx-tf is unmaintained and does not import with current onnx, so onnx2tf is
used. It transposes NCHW graphs to NHWC, so the TFLite artifact takes NHWC
input like every mobilekit model. onnx2tf pins an older TensorFlow; install
it without its dependencies beside the toolkit's TensorFlow (see
:data:`INSTALL_HINT`). The converted model is checked against onnxruntime on
real photos (relative max difference of the raw outputs within 1e-4).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.errors import ExportError, ModelError, ParityError
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import METADATA_FILENAME, InputSpec, ModelMetadata, OutputSpec

INSTALL_HINT = ('pip install "mobilekit[onnx]" && pip install --no-deps onnx2tf==1.29.24 onnx_graphsurgeon==0.6.1 '
                "sng4onnx==2.0.1 onnxsim==0.8.1 psutil==7.2.2")
from mobile_kit.verify import IMPORT_MAX_REL  # noqa: E402  (tolerances live in mobile_kit.verify)
#: onnx2tf reads this calibration file from its working directory (and downloads one otherwise).
CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"


@dataclass
class ImportResult:
    tflite: Path
    saved_model: Path
    metadata_path: Path
    parity: dict
    input_shape_onnx: list
    seconds: float

    def to_dict(self) -> dict:
        return {"tflite": str(self.tflite), "saved_model": str(self.saved_model), "metadata": str(self.metadata_path),
                "parity": self.parity, "input_shape_onnx": self.input_shape_onnx, "seconds": self.seconds}


def _require():
    missing = [m for m in ("onnx", "onnxruntime", "onnx2tf", "onnx_graphsurgeon", "sng4onnx")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"`mobilekit import` needs {', '.join(missing)}, not installed; install with: {INSTALL_HINT}")


def load_onnx(path: Path):
    """Load and check an ONNX model; initializers listed as graph inputs are dropped from the inputs.

    Raises
    ------
    ModelError
        Missing file, or a file onnx cannot parse or that fails ``onnx.checker``.
    """
    import onnx

    if not path.is_file():
        raise ModelError(f"{path}: ONNX model not found")
    try:
        m = onnx.load(str(path))
        onnx.checker.check_model(m)
    except Exception as e:
        raise ModelError(f"{path}: expected a valid ONNX model, found one onnx cannot read or check ({e})") from None
    inits = {i.name for i in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name not in inits]
    if len(keep) != 1:
        raise ModelError(f"{path}: expected one image input, found {len(keep)} ({', '.join(i.name for i in keep)})")
    del m.graph.input[:]
    m.graph.input.extend(keep)
    return m


def _input_shape(m) -> list[int]:
    return [d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim]


def import_onnx(
    model: str | Path,
    out_dir: str | Path,
    scale: float | tuple = 1.0 / 255.0,
    offset: float | tuple = 0.0,
    channel_order: str = "RGB",
    output_kind: str = "logits",
    foreground_index: int = 1,
    labels: tuple[str, ...] | None = None,
    data: str | Path | None = None,
    name: str | None = None,
    progress: Progress = NullProgress(),
) -> ImportResult:
    """Convert an ONNX segmentation model to SavedModel + TFLite, check it, write metadata.

    Parameters
    ----------
    model : path
        ``.onnx`` file with one 4-D image input, NCHW ``(1, C, H, W)`` or NHWC.
    out_dir : path
        Receives ``model.tflite`` (float32, NHWC input), ``saved_model/`` and
        ``metadata.json``.
    scale, offset, channel_order
        The model's input normalisation (``pixel * scale + offset``, per
        channel if tuples) and channel order; recorded in metadata.
    output_kind, foreground_index, labels
        How to read the output (see :class:`~mobile_kit.specs.OutputSpec`); ``labels`` default to the
        default task's (:func:`mobile_kit.tasks.default_labels`).
    data : path, optional
        Photos for the parity check and onnx2tf's calibration file.

    Returns
    -------
    ImportResult

    Raises
    ------
    ExportError
        onnx2tf missing (message has the install command) or failing.
    ModelError
        Invalid ONNX file.
    ParityError
        TFLite and onnxruntime disagree beyond :data:`IMPORT_MAX_REL` (nothing written).
    """
    import time

    if importlib.util.find_spec("onnx") is None:
        raise ExportError(f"`mobilekit import` needs onnx, not installed; install with: {INSTALL_HINT}")
    m = load_onnx(Path(model))  # a bad file is reported before missing converters
    _require()
    import onnx
    import onnxruntime as ort

    from mobile_kit.export.core import parity_images
    from mobile_kit.fileio import sha256_file
    from mobile_kit.preprocess import to_model_input
    from mobile_kit.runtime import Segmenter

    t0 = time.time()
    src = Path(model)
    shape = _input_shape(m)
    if len(shape) != 4:
        raise ModelError(f"{src}: expected a 4-D image input, found shape {shape}")
    nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
    c, h, w = (shape[1], shape[2], shape[3]) if nchw else (shape[3], shape[1], shape[2])
    spec = InputSpec(h, w, c, scale=scale, offset=offset, channel_order=channel_order)
    if labels is None:
        from mobile_kit.tasks import default_labels

        labels = default_labels()
    out_spec = OutputSpec(kind=output_kind, labels=tuple(labels), foreground_index=foreground_index)
    imgs, img_src = parity_images(Path(data) if data else None)
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clean = tmp / "model.onnx"
        onnx.save(m, str(clean))
        calib = np.stack([cv2.resize(i, (128, 128), interpolation=cv2.INTER_AREA) for i in (imgs * 20)[:20]])
        np.save(tmp / CALIBRATION_FILE, calib.astype(np.float32) / 255.0)
        log = io.StringIO()
        with progress.task("onnx2tf conversion", 1) as t, contextlib.chdir(tmp):
            import onnx2tf

            try:  # onnx2tf prints its progress; keep stdout clean for --json
                with contextlib.redirect_stdout(log):
                    onnx2tf.convert(input_onnx_file_path=str(clean), output_folder_path=str(tmp / "tf"),
                                    non_verbose=True, copy_onnx_input_output_names_to_tflite=True)
            except Exception as e:
                tail = "\n".join(log.getvalue().strip().splitlines()[-5:])
                raise ExportError(f"{src}: onnx2tf could not convert the model ({e}){chr(10) + tail if tail else ''}") from None
            t.advance()
        tfl = tmp / "tf" / "model_float32.tflite"
        if not tfl.is_file():
            raise ExportError(f"{src}: onnx2tf finished without writing a float32 TFLite model")
        meta = ModelMetadata(input=spec, output=out_spec, name=name or src.stem, target="tflite", precision="float32",
                             source_sha256=sha256_file(src),
                             provenance=f"imported from {src.name} with onnx2tf; normalisation given on the command line")
        seg = Segmenter(tfl, meta, num_threads=2)
        sess = ort.InferenceSession(str(clean), providers=["CPUExecutionProvider"])
        from mobile_kit.verify import max_rel_check, raw_parity

        def reference(x):
            xin = x.transpose(2, 0, 1)[None] if nchw else x[None]
            ref = np.asarray(sess.run(None, {sess.get_inputs()[0].name: xin.astype(np.float32)})[0])[0]
            return ref.transpose(1, 2, 0) if nchw and ref.ndim == 3 else ref

        with progress.task("parity vs onnxruntime", 1) as t:
            try:
                rep = raw_parity(reference, seg.run, [to_model_input(img, spec) for img in imgs], img_src)
            except ValueError as e:
                raise ExportError(f"{src}: converted model's {e} (onnxruntime)") from None
            t.advance()
        ok, why = max_rel_check(IMPORT_MAX_REL, "tflite - onnxruntime")(rep)
        parity = {"reference": "onnxruntime", "inputs": img_src, "n_images": rep["n_inputs"], "max_abs": rep["max_abs"],
                  "max_abs_reference": rep["max_abs_reference"], "max_rel": rep["max_rel"], "passed": ok,
                  "criterion": why}
        if not ok:
            raise ParityError(f"{src}: imported model fails parity: {parity['criterion']} (nothing written)", parity)
        meta.parity = parity
        from mobile_kit.export.tflite import tflite_io_details

        meta.io = dict(tflite_io_details(tfl), onnx_input_shape=shape)
        from mobile_kit.fileio import stage_outputs

        sm = tmp / "tf_saved_model"
        sm.mkdir()
        for f in (tmp / "tf").iterdir():
            if f.suffix != ".tflite":
                shutil.move(str(f), sm / f.name)
        with stage_outputs(out_dir) as stage:  # model.tflite, saved_model/ and metadata.json appear together
            shutil.move(str(tfl), str(stage / "model.tflite"))
            shutil.move(str(sm), str(stage / "saved_model"))
            meta.save(stage / METADATA_FILENAME)
    meta_path = out_dir / METADATA_FILENAME
    return ImportResult(out_dir / "model.tflite", out_dir / "saved_model", meta_path, parity, shape, time.time() - t0)
