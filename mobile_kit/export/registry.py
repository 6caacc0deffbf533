"""Export targets and artifact formats, registered by name.

A :class:`Target` (``tflite-int8``, ``onnx``, ...) owns its behaviour: the
options it accepts (anything else is refused), its converter, its parity
tolerance, how it embeds the model contract in the artifact, and the
:class:`ArtifactFormat` whose runner parity, ``eval``, ``bench``, ``predict``
and ``inspect`` use. ``export/core.py`` only orchestrates; the CLI's
``--target`` choices and the metadata schema's target enum come from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from mobile_kit.errors import ExportError, ModelError, UnknownNameError, lookup


class Runner(Protocol):
    """Runs one model input through an artifact."""

    def run(self, x: np.ndarray) -> np.ndarray:
        """``x``: ``(h, w, C)`` float32 NHWC, normalised as the contract says; returns the first output
        without its batch axis, float32 (dequantized)."""


@dataclass(frozen=True)
class ArtifactFormat:
    """A file format mobilekit can open: runner, embedded contract and tensor details.

    Attributes
    ----------
    name : str
        ``keras``, ``tflite``, ``onnx``, ``coreml``.
    suffixes : tuple of str
        File suffixes (``.tflite``) or folder suffixes (``.mlpackage``).
    open_runner : callable
        ``open_runner(path, input_spec, num_threads) -> Runner``.
    read_contract : callable
        ``read_contract(path) -> dict | None``: the ``metadata.json`` content embedded in the artifact.
    io_details : callable or None
        ``io_details(path) -> {"input": {...}, "output": {...}}`` (names, shapes, dtypes).
    runs_here : callable
        ``runs_here() -> (bool, reason)``: whether this machine can execute the format
        (Core ML predicts only on macOS).
    backend : str
        The runtime that runs it here (``litert``, ``onnxruntime``), as reports name it.
    """

    name: str
    suffixes: tuple[str, ...]
    open_runner: Callable
    read_contract: Callable = lambda path: None
    io_details: Callable | None = None
    runs_here: Callable = lambda: (True, "")
    backend: str = ""


@dataclass(frozen=True)
class Option:
    """One export option a target accepts.

    Attributes
    ----------
    name : str
        Keyword of :func:`mobile_kit.export.export_model` (``int8_io``); the CLI flag is ``--int8-io``.
    default : object
        Value used when the option is not given.
    choices : tuple or None
        Allowed values; ``None`` accepts any value of ``type``.
    type : type
        ``str`` or ``int``.
    help : str
        One line for ``--help``.
    """

    name: str
    default: Any
    choices: tuple | None = None
    type: type = str
    help: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Target:
    """One export format.

    Attributes
    ----------
    name : str
        CLI name (``tflite-int8``).
    format : ArtifactFormat
        How the artifact is run and its contract read back.
    filename : str
        Artifact written in the output folder (a file, or a folder for ``.mlpackage``).
    precision : str or callable
        Weight/activation precision recorded in metadata, or ``precision(options) -> str``.
    convert : callable
        ``convert(keras_model, input_spec, calibration_images, options, dest: Path) -> None``.
    parity : callable
        ``parity(report) -> (ok, reason)``: the tolerance of this target (see :mod:`mobile_kit.verify`).
    embed : callable
        ``embed(artifact: Path, metadata: ModelMetadata) -> None``: write the contract (``metadata.json``
        content, and the runtime's own standard metadata) into the artifact, in place.
    options : tuple of Option
        The options this target accepts; any other option given is an error.
    needs_calibration : bool
        Whether a representative dataset is drawn.
    contract_input : callable
        ``contract_input(input_spec, options) -> InputSpec`` of the artifact (ONNX NCHW changes the layout).
    quantization : callable
        ``quantization(io, calibration_source) -> dict | None`` recorded in metadata.
    warnings : callable
        ``warnings(io, options) -> list[str]``: what will not load in a common runtime, and the flag that fixes it.
    verify : callable or None
        ``verify(artifact, keras_model, options) -> dict`` structural checks for targets that cannot run here.
    requires : tuple of str
        Python modules the target imports; missing ones give an install hint.
    extra : str
        The pip extra (or the exact command) that installs them.
    """

    name: str
    format: ArtifactFormat
    filename: str
    precision: str | Callable
    convert: Callable
    parity: Callable
    embed: Callable
    options: tuple[Option, ...] = ()
    needs_calibration: bool = False
    description: str = ""
    contract_input: Callable = lambda spec, options: spec
    quantization: Callable = lambda io, calibration_source: None
    warnings: Callable = lambda io, options: []
    verify: Callable | None = None
    requires: tuple[str, ...] = ()
    extra: str = ""
    install: str = field(default="", compare=False)

    def precision_for(self, options: dict) -> str:
        return self.precision(options) if callable(self.precision) else self.precision

    def resolve_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Check ``given`` (``None`` = not given) against this target's options and fill in defaults.

        Raises
        ------
        ExportError
            An option was given that this target does not take (names the target's own options).
        UnknownNameError
            A value outside the option's choices.
        """
        own = {o.name: o for o in self.options}
        for name, value in given.items():
            if value is None:
                continue
            if name not in own:
                flag = "--" + name.replace("_", "-")
                takes = ", ".join(o.flag for o in self.options) or "no target-specific options"
                raise ExportError(f"{flag}: does not apply to --target {self.name} (it takes {takes}); "
                                  f"found {flag} {value}")
        out = {}
        for name, o in own.items():
            value = given.get(name)
            value = o.default if value is None else value
            if o.choices is not None and value not in o.choices:
                raise UnknownNameError(f"{self.name} option {o.flag}", str(value), [str(c) for c in o.choices])
            out[name] = value
        return out


TARGETS: dict[str, Target] = {}
FORMATS: dict[str, ArtifactFormat] = {}
#: Every option any target declares (name -> Option); the export CLI offers each once.
ALL_OPTIONS: dict[str, Option] = {}


def register_target(target: Target) -> Target:
    """Add ``target``; a duplicate name is refused (two modules claiming one name is a bug)."""
    if target.name in TARGETS:
        raise ValueError(f"export target {target.name!r} is registered twice")
    TARGETS[target.name] = target
    register_format(target.format)
    for o in target.options:
        ALL_OPTIONS.setdefault(o.name, o)
    return target


def register_format(fmt: ArtifactFormat) -> ArtifactFormat:
    if FORMATS.get(fmt.name, fmt) is not fmt:
        raise ValueError(f"artifact format {fmt.name!r} is registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


def _load_all() -> None:
    from mobile_kit import runtime as _runtime  # noqa: F401  (the keras format)
    from mobile_kit.export import coreml as _coreml  # noqa: F401
    from mobile_kit.export import onnx as _onnx  # noqa: F401
    from mobile_kit.export import tflite as _tflite  # noqa: F401


def check_requirements(t: Target) -> None:
    """Raise :class:`ExportError` with the exact install command if a target's optional modules are missing."""
    import importlib.util

    missing = [m for m in t.requires if importlib.util.find_spec(m) is None]
    if missing:
        how = t.install or f"pip install \"mobilekit[{t.extra}]\""
        raise ExportError(f"--target {t.name} needs {', '.join(missing)}, which is not installed; install it with: "
                          f"{how}")


def get_target(name: str) -> Target:
    """The registered target ``name``; raises :class:`UnknownNameError` listing valid names."""
    _load_all()
    return lookup(TARGETS, "export target", name)


def target_names() -> list[str]:
    _load_all()
    return sorted(TARGETS)


def format_for(path: Path) -> ArtifactFormat:
    """The format of ``path`` from its suffix.

    Raises
    ------
    ModelError
        No registered format has this suffix (the message lists the ones that do).
    """
    _load_all()
    for fmt in FORMATS.values():
        if path.suffix in fmt.suffixes:
            return fmt
    known = sorted(s for f in FORMATS.values() for s in f.suffixes)
    raise ModelError(f"{path}: expected a model file ending in {', '.join(known)}, found {path.suffix or 'no suffix'}")


def model_suffixes() -> tuple[str, ...]:
    _load_all()
    return tuple(s for f in FORMATS.values() for s in f.suffixes)


def artifact_text(meta) -> dict[str, Any]:
    """Human-readable fields every runtime's standard metadata carries (name, description, version, author,
    licence, labels), from a :class:`~mobile_kit.specs.ModelMetadata`."""
    out = meta.output
    from mobile_kit.tasks import task_of

    task = task_of(meta).description
    return {"name": meta.name, "version": str(meta.version), "author": "mobilekit",
            "license": meta.provenance or "see mobilekit_metadata.json",
            "description": (f"{meta.name}: {task} ({meta.arch or 'model'}, {meta.precision}), "
                            f"{out.kind} output over {', '.join(out.labels)}"),
            "labels": list(out.labels)}
