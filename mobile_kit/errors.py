"""Errors a user can act on.

Every error raised on bad input is a :class:`MobileKitError`; the CLI prints
its message without a traceback and exits with a non-zero status. Messages name
the file (or option), what was expected and what was found.
"""
from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping


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


def lookup(registry, kind: str, name: str):
    """``registry[name]`` for a mapping, ``name`` itself for a collection of valid names; else an error.

    The error is :class:`UnknownNameError` naming ``kind`` and listing the registered names.

    Raises
    ------
    UnknownNameError
        For a name not in ``registry``.
    """
    if name not in registry:
        raise UnknownNameError(kind, name, registry)
    return registry[name] if isinstance(registry, Mapping) else name


class OutputError(MobileKitError):
    """An output path (``--out``, ``--bundle``, ...) cannot be written: it is a file, read-only, full or virtual."""


#: errno values caused by the user's paths or machine state (fixable by the user, not bugs in mobilekit).
USER_ERRNOS = frozenset(
    getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EEXIST", "ENOTDIR", "EISDIR",
                                "ENOENT", "ENAMETOOLONG", "ELOOP", "EFBIG", "EMFILE", "ENFILE", "EXDEV",
                                "ENOTEMPTY", "EBUSY", "ETXTBSY", "EIO")
    if hasattr(errno, n)
)

_ERRNO_HINTS = {
    "ENOSPC": "the disk is full; free some space or choose another folder",
    "EDQUOT": "the disk quota is exceeded; free some space or choose another folder",
    "EROFS": "the file system is read-only; choose a writable folder",
    "EACCES": "permission denied; choose a folder you can write to",
    "EPERM": "operation not permitted; choose a folder you can write to",
    "EEXIST": "a file with that name already exists where a folder is needed",
    "ENOTDIR": "a part of the path is a file, not a folder",
    "EISDIR": "the path is a folder where a file is needed",
}


def os_error_message(e: OSError, option: str | None = None) -> str:
    """One-line message for an :class:`OSError` on a user path: the path (and option), what failed, a hint.

    ``FileExistsError: [Errno 17] File exists: 'afile'`` becomes
    ``--out afile: expected a writable folder, found a file with that name (...)``-like text.
    """
    name = errno.errorcode.get(e.errno or 0, "")
    path = e.filename if e.filename is not None else "?"
    where = f"{option} {path}" if option else f"{path}"
    if e.filename2 is not None:
        where += f" -> {e.filename2}"
    reason = e.strerror or str(e) or type(e).__name__
    hint = _ERRNO_HINTS.get(name)
    return f"{where}: could not read or write it: {reason}" + (f" ({hint})" if hint else "")


def is_user_os_error(e: BaseException) -> bool:
    """True for an :class:`OSError` the user can fix (full disk, read-only folder, a file in the way, ...)."""
    return isinstance(e, OSError) and e.errno in USER_ERRNOS
