"""Load a model or artifact with its contract and run it on photos.

:func:`load_segmenter` accepts a training run folder, a ``.keras``/``.h5`` file
or an exported artifact (``.tflite``, ``.onnx``, ...); the contract comes from
``metadata.json`` beside it, from the contract embedded in the artifact (a lone
``.tflite`` copied without its ``metadata.json``), or from explicit
:class:`InputSpec`/:class:`OutputSpec` for third-party models. Each format's
runner comes from the export registry (:mod:`mobile_kit.export.registry`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobile_kit.errors import ModelError
from mobile_kit.preprocess import to_model_input, upsample_probability
from mobile_kit.specs import METADATA_FILENAME, InputSpec, ModelMetadata, OutputSpec
from mobile_kit.tasks import DEFAULT_TASK, builtin_models, default_labels

#: Keras model files: the native format, and HDF5 for QAT models (tfmot's
#: wrappers do not round-trip through the native format in tf_keras 2.21).
KERAS_SUFFIXES = (".keras", ".h5")
MODEL_FILENAMES = ("model.keras", "model.h5", "model.tflite", "model.onnx")


#: Packaged models, addressed as ``builtin:<task>`` wherever a MODEL argument is taken (``builtin`` = the default
#: task's). Each task declares its model folder (:func:`mobile_kit.tasks.builtin_models`).
BUILTINS = builtin_models()
DEFAULT_BUILTIN = DEFAULT_TASK
#: Folder of the default built-in model.
BUILTIN_DIR = BUILTINS[DEFAULT_BUILTIN]


def builtin_model_path(name: str = DEFAULT_BUILTIN) -> Path:
    """Path of a packaged model (:data:`BUILTINS`; default: the default task's).

    Raises
    ------
    UnknownNameError
        For a name not in :data:`BUILTINS`.
    """
    from mobile_kit.errors import UnknownNameError

    if name not in BUILTINS:
        raise UnknownNameError("built-in model", f"builtin:{name}", [f"builtin:{n}" for n in BUILTINS])
    return BUILTINS[name] / "model.keras"


def builtin_name(path) -> str | None:
    """The task name of ``builtin:<task>`` (:data:`DEFAULT_BUILTIN` for a bare ``builtin``); None for a path."""
    s = str(path)
    if s == "builtin":
        return DEFAULT_BUILTIN
    return s.split(":", 1)[1] if s.startswith("builtin:") else None


def resolve_model_path(path: str | Path | None) -> Path:
    """Map ``None``/``builtin``/``builtin:NAME`` to a packaged model and a run folder to its ``model.keras``.

    Raises
    ------
    ModelError
        If the path does not exist or a folder has no ``model.keras``.
    """
    if path is None:
        return builtin_model_path()
    if builtin_name(path) is not None:
        return builtin_model_path(builtin_name(path))
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: model not found (expected a run folder, a .keras, .tflite or .onnx file or a .mlpackage)")
    from mobile_kit.export.registry import format_for, model_suffixes

    if p.is_dir() and p.suffix not in model_suffixes():  # a run folder (a .mlpackage folder is a model)
        for name in MODEL_FILENAMES:
            if (p / name).is_file():
                return p / name
        raise ModelError(f"{p}: expected {', '.join(MODEL_FILENAMES)} in this folder, found none")
    format_for(p)  # ModelError listing the known suffixes
    return p


#: Fields of the contract that ``metadata.json`` and the embedded copy must agree on.
CONTRACT_FIELDS = ("name", "version", "target", "precision", "input", "output")


def _differences(a, b, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return [] if abs(a - b) <= 1e-12 * max(1.0, abs(a)) else [prefix[:-1]]
    return [] if a == b else [prefix[:-1]]


def embedded_metadata(model_path: Path) -> ModelMetadata | None:
    """The contract embedded in an artifact (TFLite associated file, ONNX ``metadata_props``, Core ML
    user-defined metadata), or ``None`` when it carries none.

    Raises
    ------
    ModelError
        The embedded contract is unreadable or breaks the metadata schema.
    """
    from mobile_kit.export.registry import format_for
    from mobile_kit.specs import validate_metadata

    d = format_for(model_path).read_contract(model_path)
    if d is None:
        return None
    validate_metadata(d, f"{model_path} (embedded contract)")
    return ModelMetadata.from_dict(d)


def load_metadata_for(model_path: Path) -> ModelMetadata | None:
    """The model's contract: ``metadata.json`` beside ``model_path``, else the one embedded in it, else ``None``.

    Raises
    ------
    ModelError
        Both exist and disagree on a contract field (:data:`CONTRACT_FIELDS`); the message names the fields.
    """
    side = model_path.parent / METADATA_FILENAME
    beside = ModelMetadata.load(side) if side.is_file() else None
    inside = embedded_metadata(model_path)
    if beside is None or inside is None:
        return beside or inside
    a, b = beside.to_dict(), inside.to_dict()
    diff = [f for k in CONTRACT_FIELDS for f in _differences({k: a.get(k)}, {k: b.get(k)})]
    if diff:
        raise ModelError(f"{side}: disagrees with the contract embedded in {model_path.name} on "
                         f"{', '.join(diff)}; re-export, or remove the stale {METADATA_FILENAME}")
    return beside


def keras_source(path: str | Path | None, what: str) -> tuple[Path, ModelMetadata]:
    """Resolve a Keras model (run folder, ``.keras``, ``.h5``; ``None`` = built-in) that has ``metadata.json``.

    Raises
    ------
    ModelError
        Not a Keras model, or no metadata beside it (``what`` names the operation).
    """
    src = resolve_model_path(path)
    if src.suffix not in KERAS_SUFFIXES:
        raise ModelError(f"{src}: {what} needs a Keras model (.keras/.h5 or a run folder), found {src.suffix}")
    meta = load_metadata_for(src)
    if meta is None:
        raise ModelError(f"{src}: expected {METADATA_FILENAME} beside the model, found none")
    return src, meta


def load_keras_model(path: str | Path):
    """Load a ``.keras`` model saved by mobilekit (no compile state needed).

    ACNet blocks and tensorflow-model-optimization's quantization wrappers
    (QAT models) are known to the loader.
    """
    import tf_keras as keras

    import mobile_kit.reparam.acnet  # noqa: F401  (registers ACBlock)

    try:
        import tensorflow_model_optimization as tfmot

        with tfmot.quantization.keras.quantize_scope():
            return keras.models.load_model(str(path), compile=False)
    except Exception as e:  # keras raises ValueError/OSError/zip errors
        raise ModelError(f"{path}: expected a Keras model file, found one that cannot be loaded ({e})") from None


def _known(d) -> bool:
    return isinstance(d, (int, np.integer)) and d > 0


def check_contract(model_path: Path, meta: ModelMetadata, input_shape, output_shape, meta_path: Path | None = None):
    """Compare the contract in ``metadata.json`` with the model's real input and output shapes.

    Parameters
    ----------
    input_shape, output_shape : sequence
        The model's first input and output shapes with the batch axis
        (``None``/``-1``/names for dynamic axes, which are not compared).

    Raises
    ------
    ModelError
        The input is not 4-D, its H/W/C (NHWC; C/H/W for an NCHW contract)
        differ from the metadata's, or (NHWC) the number of output channels
        differs from the number of labels. The message names both files.
    """
    spec = meta.input
    where = f"{meta_path or model_path.parent / METADATA_FILENAME} vs {model_path}"
    shape = list(input_shape)
    expected = (spec.channels, spec.height, spec.width) if spec.layout == "NCHW" else (spec.height, spec.width,
                                                                                        spec.channels)
    axes = "CHW" if spec.layout == "NCHW" else "HWC"
    if len(shape) != 4 or any(_known(g) and int(g) != e for g, e in zip(shape[1:], expected)):
        raise ModelError(f"{where}: the metadata's input contract is {spec.layout} {axes}={list(expected)}, but the "
                         f"model's real input shape is {shape}; the metadata does not belong to this model "
                         "(re-export it, or fix metadata.json)")
    out = list(output_shape)
    n = len(meta.output.labels)
    if spec.layout == "NHWC" and len(out) == 4 and _known(out[-1]) and int(out[-1]) != n:
        raise ModelError(f"{where}: the metadata's output contract has {n} label(s) ({', '.join(meta.output.labels)}, "
                         f"{meta.output.kind}), but the model outputs {int(out[-1])} channel(s) (shape {out}); the "
                         "metadata does not belong to this model (re-export it, or fix metadata.json)")


class Segmenter:
    """A model plus its contract: photo in, class and foreground probabilities out.

    Attributes
    ----------
    path : Path
        The model file.
    metadata : ModelMetadata
        Input/output contract and provenance.
    """

    def __init__(self, path: Path, metadata: ModelMetadata, num_threads: int | None = None,
                 contract_file: Path | None = None):
        from mobile_kit.export.registry import format_for

        self.path = path
        self.metadata = metadata
        self.num_threads = num_threads
        self._task = None
        self.format = format_for(path)
        self.runner = self.format.open_runner(path, metadata.input, num_threads)
        if contract_file is not None:  # a contract read from a file: it must describe this model
            shapes = self._real_io_shapes()
            if shapes is not None:
                check_contract(path, metadata, *shapes, meta_path=contract_file)

    def _real_io_shapes(self):
        """The model's first input and output shapes (with batch axis), or ``None`` if the format has none."""
        model = getattr(self.runner, "model", None)  # Keras
        if model is not None:
            return model.input_shape, model.output_shape
        if self.format.io_details is None:
            return None
        io = self.format.io_details(self.path)
        if "shape" not in io.get("input", {}) or "shape" not in io.get("output", {}):
            return None  # e.g. a Core ML image input
        return io["input"]["shape"], io["output"]["shape"]

    @property
    def task(self):
        """The model's task (:func:`mobile_kit.tasks.task_of` its metadata), built once."""
        if self._task is None:
            from mobile_kit.tasks import task_of

            self._task = task_of(self.metadata)
        return self._task

    @property
    def input_spec(self) -> InputSpec:
        return self.metadata.input

    @property
    def output_spec(self) -> OutputSpec:
        return self.metadata.output

    @property
    def backend(self) -> str:
        return self.format.backend or self.format.name

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run one normalised input.

        Parameters
        ----------
        x : numpy.ndarray
            ``(h, w, C)`` float32 as produced by :func:`mobile_kit.preprocess.to_model_input`.

        Returns
        -------
        numpy.ndarray
            The first output without its batch axis, float32 (dequantized).
        """
        return self.runner.run(x)

    def probability(self, image: np.ndarray, full_resolution: bool = True) -> np.ndarray:
        """Foreground probability for one photo, as the model's task defines it.

        Binary tasks: p of the contract's foreground channel; K-class tasks:
        ``1 - p(background)`` (:meth:`mobile_kit.tasks.base.Task.foreground_probability`).

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W, 3)`` uint8 RGB.
        full_resolution : bool
            Upsample to ``(H, W)`` (bilinear) when True, else keep model size.

        Returns
        -------
        numpy.ndarray
            float32 in 0..1, shape ``(H, W)`` or the model's ``input_hw``.
        """
        spec = self.input_spec
        raw = self.run(to_model_input(image, spec))
        prob = self.task.foreground_probability(raw, self.output_spec, spec.input_hw)
        if prob.shape != spec.input_hw:
            prob = upsample_probability(prob, spec.input_hw)
        return upsample_probability(prob, image.shape[:2]) if full_resolution else prob

    def _class_probabilities(self, image: np.ndarray) -> np.ndarray:
        from mobile_kit.preprocess import class_probabilities

        spec = self.input_spec
        return class_probabilities(self.run(to_model_input(image, spec)), self.output_spec, spec.input_hw)

    def probabilities(self, image: np.ndarray, full_resolution: bool = True, tta: str | None = None) -> np.ndarray:
        """Class probabilities for one photo, optionally with test-time augmentation.

        Parameters
        ----------
        image : numpy.ndarray
            ``(H, W, 3)`` uint8 RGB.
        full_resolution : bool
            Upsample to ``(H, W)`` (bilinear per channel) when True, else keep the model's ``input_hw``.
        tta : {None, "flip", "scales", "flip+scales"}
            See :mod:`mobile_kit.tta`: ``scales`` runs the photo at scales 0.9, 1.0, 1.1 and multiplies the
            probabilities (as the body-part contest did); ``flip`` adds the mirrored photo with left/right
            classes swapped back.

        Returns
        -------
        numpy.ndarray
            float32 ``(H, W, C)`` (or ``(h, w, C)``), rows summing to ~1.
        """
        from mobile_kit.preprocess import upsample_probabilities

        if tta:
            from mobile_kit.tasks import task_of
            from mobile_kit.tta import tta_probabilities

            probs = tta_probabilities(self._class_probabilities, image, tta, task_of(self.metadata).flip_pairs)
            return probs if full_resolution else upsample_probabilities(probs, self.input_spec.input_hw)
        else:
            probs = upsample_probabilities(self._class_probabilities(image), self.input_spec.input_hw)
        return upsample_probabilities(probs, image.shape[:2]) if full_resolution else probs


class KerasRunner:
    """A Keras model (``.keras``/``.h5``) run eagerly in float32."""

    def __init__(self, path: Path, input_spec=None, num_threads: int | None = None):
        self.model = load_keras_model(path)

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.model(x[None], training=False).numpy()[0]


def _make_interpreter(path: Path, num_threads: int | None):
    from mobile_kit.export.tflite import LiteRTRunner

    return LiteRTRunner(path, None, num_threads).interpreter


def spec_from_tflite(path: Path, input_norm: str, output_kind: str,
                     foreground_index: int | None = None) -> ModelMetadata:
    """Contract for a third-party ``.tflite`` from its tensor shapes plus user-given normalisation and output kind.

    The labels are the default task's (one channel: its foreground class alone);
    ``foreground_index`` defaults to 1 for several channels, 0 for one.

    Raises
    ------
    ModelError
        If the input is not NHWC with 1 or 3 channels.
    """
    from mobile_kit.specs import normalization_from_name

    interp = _make_interpreter(path, 1)
    d = interp.get_input_details()[0]
    shape = list(d["shape"])
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise ModelError(
            f"{path}: expected an NHWC input with 1 or 3 channels, found shape {shape} "
            "(NCHW models: convert with `mobilekit import` first)"
        )
    o = interp.get_output_details()[0]
    channels_out = int(o["shape"][-1]) if len(o["shape"]) == 4 else 1
    scale, offset = normalization_from_name(input_norm)
    if foreground_index is None:
        foreground_index = 1 if channels_out > 1 else 0
    labels = default_labels()
    return ModelMetadata(
        input=InputSpec(int(shape[1]), int(shape[2]), int(shape[3]), scale=scale, offset=offset),
        output=OutputSpec(kind=output_kind, foreground_index=foreground_index,
                          labels=labels if channels_out != 1 else labels[-1:]),
        name=path.stem,
        target="tflite",
        precision=str(np.dtype(d["dtype"])),
        provenance="third-party model; contract given on the command line",
    )


def load_segmenter(
    path: str | Path | None = None,
    input_norm: str | None = None,
    output_kind: str | None = None,
    foreground_index: int | None = None,
    num_threads: int | None = None,
) -> Segmenter:
    """Open a model with its contract.

    Parameters
    ----------
    path : path or None
        Run folder, ``.keras`` or ``.tflite``; ``None`` = the built-in model.
    input_norm, output_kind : str, optional
        For a model without ``metadata.json`` (third-party ``.tflite``): the
        input normalisation (``0..1``, ``-1..1``, ``0..255``) and output kind
        (``softmax``, ``sigmoid``, ``logits``). Both are required then.
    num_threads : int, optional
        LiteRT interpreter threads.

    Raises
    ------
    ModelError
        Missing file, no metadata and no contract given, or unloadable model.
    """
    p = resolve_model_path(path)
    meta = None if (input_norm or output_kind) else load_metadata_for(p)
    side = p.parent / METADATA_FILENAME
    contract_file = None if meta is None else side if side.is_file() else p  # p: the contract embedded in it
    if meta is None:
        if p.suffix != ".tflite" or not (input_norm and output_kind):
            raise ModelError(
                f"{p}: no {METADATA_FILENAME} beside it and no contract embedded in it; for a third-party .tflite "
                "give both "
                "--input-norm (0..1 | -1..1 | 0..255) and --output-kind (softmax | sigmoid | logits)"
            )
        meta = spec_from_tflite(p, input_norm, output_kind, foreground_index)
    return Segmenter(p, meta, num_threads=num_threads, contract_file=contract_file)


def _register_keras_format():
    from mobile_kit.export.registry import ArtifactFormat, register_format

    return register_format(ArtifactFormat("keras", KERAS_SUFFIXES, KerasRunner))


KERAS_FORMAT = _register_keras_format()
