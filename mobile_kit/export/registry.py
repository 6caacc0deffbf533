"""Export targets, registered by name; the CLI's ``--target`` choices come from here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mobile_kit.errors import ExportError, UnknownNameError


@dataclass(frozen=True)
class Target:
    """One export format.

    Attributes
    ----------
    name : str
        CLI name (``tflite-int8``).
    filename : str
        Artifact written in the output folder (a file, or a folder for
        ``.mlpackage``).
    precision : str
        Weight/activation precision recorded in metadata.
    convert : callable
        ``convert(keras_model, input_spec, calibration_images, options, dest: Path) -> None``.
    parity : callable
        ``parity(report) -> (ok, reason)``: the tolerance of this target.
    io_details : callable
        ``io_details(artifact: Path) -> {"input": {...}, "output": {...}}`` (names, shapes, dtypes).
    needs_calibration : bool
        Whether a representative dataset is drawn.
    runs_here : callable
        ``runs_here() -> (bool, reason)``: whether the artifact can be executed on this machine
        for numeric parity (Core ML predicts only on macOS).
    verify : callable or None
        ``verify(artifact, keras_model, compress) -> dict`` structural checks for targets that cannot run here.
    requires : tuple of str
        Python modules the target imports; missing ones give an install hint.
    extra : str
        The pip extra that installs them.
    """

    name: str
    filename: str
    precision: str
    convert: Callable
    parity: Callable
    io_details: Callable
    needs_calibration: bool = False
    description: str = ""
    runs_here: Callable = lambda: (True, "")
    verify: Callable | None = None
    requires: tuple[str, ...] = ()
    extra: str = ""


TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> Target:
    TARGETS[target.name] = target
    return target


def _load_all() -> None:
    from mobile_kit.export import coreml as _coreml  # noqa: F401
    from mobile_kit.export import onnx as _onnx  # noqa: F401
    from mobile_kit.export import tflite as _tflite  # noqa: F401


def check_requirements(t: Target) -> None:
    """Raise :class:`ExportError` with the exact install command if a target's optional modules are missing."""
    import importlib.util

    missing = [m for m in t.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(f"--target {t.name} needs {', '.join(missing)}, which is not installed; install it with: "
                          f"pip install \"mobilekit[{t.extra}]\"")


def get_target(name: str) -> Target:
    """The registered target ``name``; raises :class:`UnknownNameError` listing valid names."""
    _load_all()
    if name not in TARGETS:
        raise UnknownNameError("export target", name, TARGETS)
    return TARGETS[name]


def target_names() -> list[str]:
    _load_all()
    return sorted(TARGETS)


def write_bytes_to(dest: Path, data: bytes) -> None:
    dest.write_bytes(data)
