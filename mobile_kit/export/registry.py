"""Export targets, registered by name; the CLI's ``--target`` choices come from here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mobile_kit.errors import UnknownNameError


@dataclass(frozen=True)
class Target:
    """One export format.

    Attributes
    ----------
    name : str
        CLI name (``tflite-int8``).
    filename : str
        Artifact file name written in the output folder.
    precision : str
        Weight/activation precision recorded in metadata.
    convert : callable
        ``convert(keras_model, input_spec, calibration_images, options) -> bytes``.
    parity : callable
        ``parity(report) -> (ok, reason)``: the tolerance of this target.
    needs_calibration : bool
        Whether a representative dataset is drawn.
    """

    name: str
    filename: str
    precision: str
    convert: Callable
    parity: Callable
    needs_calibration: bool = False
    description: str = ""


TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> Target:
    TARGETS[target.name] = target
    return target


def get_target(name: str) -> Target:
    """The registered target ``name``; raises :class:`UnknownNameError` listing valid names."""
    from mobile_kit.export import tflite as _tflite  # noqa: F401  (registers the TFLite targets)

    if name not in TARGETS:
        raise UnknownNameError("export target", name, TARGETS)
    return TARGETS[name]


def target_names() -> list[str]:
    from mobile_kit.export import tflite as _tflite  # noqa: F401

    return sorted(TARGETS)
