"""Errors a user can act on.

Every error raised on bad input is a :class:`MobileKitError`; the CLI prints
its message without a traceback and exits with a non-zero status. Messages name
the file (or option), what was expected and what was found.
"""
from __future__ import annotations

from typing import Iterable


class MobileKitError(Exception):
    """Base class of all errors raised by mobilekit on bad input or a failed check."""

    exit_code = 2


class DatasetError(MobileKitError):
    """A dataset folder, image or mask is missing, unreadable or inconsistent."""


class ModelError(MobileKitError):
    """A model file cannot be loaded or does not match what was asked of it."""


class ExportError(MobileKitError):
    """A conversion to a deployment format failed."""


class ParityError(MobileKitError):
    """An exported artifact disagrees with its source model beyond tolerance.

    Attributes
    ----------
    report : dict
        The parity report (max-abs, mean-abs, mask IoU, tolerance) that failed.
    """

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


class DeviceError(MobileKitError):
    """adb or a device failed: missing adb, no ready device, a command that timed out or exited non-zero."""


class BenchmarkError(MobileKitError):
    """A benchmark could not be run or its output could not be read."""


class UnknownNameError(MobileKitError, KeyError):
    """A name (architecture, export target, effect, ...) is not registered.

    The message lists the valid names; no fuzzy matching is attempted.
    """

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]
