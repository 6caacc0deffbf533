"""Atomic file writes: nothing is ever half written.

Each helper writes to a temporary file in the destination folder and renames it
into place with :func:`os.replace`, which is atomic on POSIX file systems.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s suffix (Keras checks ``.keras``). On an
    exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():  # mkstemp creates 0600; give the file the usual umask-based mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException as e:
        if isinstance(e, OSError) and e.filename is not None and os.fspath(e.filename) == str(tmp_path):
            e.filename = str(path)  # name the user's file in messages, not our temporary one
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        else:
            tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return ``Path(path)``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return ``Path(path)``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Output paths are checked before long work starts.

#: Virtual file systems that never hold a user's outputs.
VIRTUAL_ROOTS = (Path("/proc"), Path("/sys"))


def _probe_writable(folder: Path, what: str) -> None:
    """Create and remove a small file in ``folder``; raise :class:`OutputError` naming ``what`` if that fails."""
    from mobile_kit.errors import OutputError, os_error_message

    try:
        fd, probe = tempfile.mkstemp(prefix=".mobilekit-probe-", dir=folder)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        e.filename = str(folder)
        raise OutputError(os_error_message(e, what).replace("could not read or write it", "expected a writable "
                                                            "folder, found one that cannot be written")) from None


def _check_not_virtual(path: Path, what: str) -> None:
    from mobile_kit.errors import OutputError

    resolved = path.resolve()
    for root in VIRTUAL_ROOTS:
        if resolved == root or root in resolved.parents:
            raise OutputError(f"{what} {path}: expected a folder on a real disk, found a path under the virtual "
                              f"file system {root}")


def ensure_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Check that ``path`` can be an output folder, before any long work starts.

    Called by the CLI before training, a conversion or a benchmark so that an
    unusable folder is reported at once, not after the work is lost. Nothing
    is created: the nearest existing folder on the path gets a small probe
    file (written, synced and removed), which catches read-only file systems
    (also for root), missing permissions and a full disk.

    Parameters
    ----------
    path : path
        The output folder (it may not exist yet).
    option : str
        The CLI option that named it, used in the message (``--out``, ``--bundle``).

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        ``path`` (or a parent) is an existing file, lies under ``/proc`` or
        ``/sys``, or the folder that would hold it cannot be written
        (read-only file system, permission denied, full disk).
    """
    from mobile_kit.errors import OutputError

    p = Path(path)
    _check_not_virtual(p, option)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{option} {p}: expected a folder, found an existing file")
    existing = p
    while not existing.exists():
        if existing.is_symlink():
            raise OutputError(f"{option} {p}: expected a folder, found a broken symbolic link {existing}")
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{option} {p}: expected a folder, found that {existing} is a file")
    _probe_writable(existing, option)
    return p


def ensure_output_file(path: str | Path, option: str = "--out") -> Path:
    """Check that ``path`` can be written as a file: not a folder, its folder writable (created if missing).

    Raises
    ------
    OutputError
        ``path`` is a folder, lies under ``/proc``/``/sys``, or its folder is unusable
        (see :func:`ensure_output_dir`).
    """
    from mobile_kit.errors import OutputError

    p = Path(path)
    _check_not_virtual(p, option)
    if p.is_dir():
        raise OutputError(f"{option} {p}: expected a file name, found an existing folder")
    ensure_output_dir(p.parent, option)
    return p


# ---------------------------------------------------------------------------------------------------------------
# Interrupts: SIGINT/SIGTERM are remembered even when a converter's C++ code swallows the KeyboardInterrupt.

_interrupt_signal: int | None = None


def note_interrupt(signum: int) -> None:
    """Record that ``signum`` (SIGINT, SIGTERM) arrived; :func:`raise_if_interrupted` then refuses to commit."""
    global _interrupt_signal
    _interrupt_signal = signum


def clear_interrupt() -> None:
    """Forget a recorded interrupt (at the start and end of each CLI command)."""
    global _interrupt_signal
    _interrupt_signal = None


def interrupt_signal() -> int | None:
    """The signal number recorded by :func:`note_interrupt`, or ``None``."""
    return _interrupt_signal


def raise_if_interrupted() -> None:
    """Raise :class:`KeyboardInterrupt` if an interrupt arrived (even one some library swallowed)."""
    if _interrupt_signal is not None:
        raise KeyboardInterrupt(f"signal {_interrupt_signal}")


# ---------------------------------------------------------------------------------------------------------------
# Several outputs written as one unit.

STAGING_PREFIX = ".mobilekit-staging-"
REPLACED_PREFIX = ".mobilekit-replaced-"
#: Journal in the replaced-files folder: which names the commit moves, which of them had an old version.
JOURNAL = "journal.json"
#: Written into the replaced-files folder once every new file is in place: the commit's point of no return.
COMMITTED = "COMMITTED"


def _rename(src: Path, dest: Path) -> None:
    """``os.replace`` (atomic on POSIX; a test can patch this to inject a failure between two renames)."""
    os.replace(src, dest)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def recover_outputs(out_dir: str | Path) -> list[str]:
    """Finish or undo a commit of :func:`stage_outputs` that a kill (``kill -9``, power loss) cut short.

    A replaced-files folder with the ``COMMITTED`` marker means every new file
    was in place: it is removed. Without the marker the commit is undone: the
    new files of that commit are removed and the old ones moved back, so the
    folder again holds the previous unit. Leftover staging folders are removed.

    Returns
    -------
    list of str
        What was done, one line per action (for logs and tests).
    """
    import json

    out_dir = Path(out_dir)
    actions: list[str] = []
    if not out_dir.is_dir():
        return actions
    for rep in sorted(out_dir.glob(REPLACED_PREFIX + "*")):
        if (rep / COMMITTED).exists():
            shutil.rmtree(rep, ignore_errors=True)
            actions.append(f"removed finished commit {rep.name}")
            continue
        journal = rep / JOURNAL
        if journal.is_file():  # old versions all moved away; some new files may be in place
            j = json.loads(journal.read_text())
            for name in j["names"]:
                if name not in j["had_old"]:
                    _remove(out_dir / name)
        for old in rep.iterdir():
            if old.name in (JOURNAL, COMMITTED):
                continue
            _remove(out_dir / old.name)
            os.replace(old, out_dir / old.name)
            actions.append(f"restored {old.name}")
        shutil.rmtree(rep, ignore_errors=True)
    for st in sorted(out_dir.glob(STAGING_PREFIX + "*")):
        shutil.rmtree(st, ignore_errors=True)
        actions.append(f"removed staging {st.name}")
    return actions


def commit_staged(staging: Path, out_dir: Path, replaces: Iterable[str] = ()) -> list[Path]:
    """Move every entry of ``staging`` into ``out_dir`` as one unit: all new, or (on any failure) all old.

    ``replaces`` names entries of an earlier unit that the new one supersedes
    even when it has no file of that name (another target's artifact, the
    extras of an earlier ``--bundle``): they are moved aside with the rest and
    deleted on success, restored on failure.

    The old versions are first renamed into a hidden replaced-files folder
    (a journal records which), then the new ones are renamed into place, then
    a ``COMMITTED`` marker is written and the old versions are deleted. A
    failure before the marker moves the new files out and the old ones back;
    a kill is repaired by :func:`recover_outputs` on the next write. Staging
    and ``out_dir`` are on one file system, so every step is a rename.

    Returns
    -------
    list of Path
        The committed paths in ``out_dir``.
    """
    import json

    names = sorted(p.name for p in staging.iterdir())
    replaced = Path(tempfile.mkdtemp(prefix=REPLACED_PREFIX, dir=out_dir))
    had_old: list[str] = []
    placed: list[str] = []
    try:
        for n in sorted(set(names) | set(replaces)):
            if (out_dir / n).exists() or (out_dir / n).is_symlink():
                _rename(out_dir / n, replaced / n)
                had_old.append(n)
        (replaced / JOURNAL).write_text(json.dumps({"names": names, "had_old": had_old}))
        for n in names:
            _rename(staging / n, out_dir / n)
            placed.append(n)
        (replaced / COMMITTED).write_text("")
    except BaseException:
        for n in placed:
            _remove(out_dir / n)
        for n in had_old:
            if (replaced / n).exists() or (replaced / n).is_symlink():
                os.replace(replaced / n, out_dir / n)
        shutil.rmtree(replaced, ignore_errors=True)
        raise
    shutil.rmtree(replaced, ignore_errors=True)
    return [out_dir / n for n in names]


@contextlib.contextmanager
def stage_outputs(out_dir: str | Path, replaces: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``out_dir``; on success move its contents into place as one unit.

    Write an artifact, its ``metadata.json`` and any extras into the staging
    folder; they appear in ``out_dir`` together (:func:`commit_staged`) or not
    at all. On an exception, Ctrl-C or SIGTERM (and when an interrupt was
    swallowed by a library, see :func:`raise_if_interrupted`) nothing in
    ``out_dir`` changes and the staging folder is removed. ``replaces``: see
    :func:`commit_staged`.

    Examples
    --------
    >>> with stage_outputs(out) as stage:            # doctest: +SKIP
    ...     write_model(stage / "model.tflite")
    ...     meta.save(stage / "metadata.json")
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recover_outputs(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        yield staging
        raise_if_interrupted()
        commit_staged(staging, out_dir, replaces)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# A private temporary folder per CLI run, removed at the end (converters' temp folders included).

RUN_TMP_PREFIX = "mobilekit-run-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_run_dirs(base: str | Path | None = None) -> list[Path]:
    """Remove ``mobilekit-run-<pid>-*`` temp folders whose process is gone (left by ``kill -9``)."""
    base = Path(base or tempfile.gettempdir())
    removed = []
    for d in base.glob(RUN_TMP_PREFIX + "*"):
        try:
            pid = int(d.name[len(RUN_TMP_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


@contextlib.contextmanager
def private_tempdir() -> Iterator[Path]:
    """Point :mod:`tempfile` (and ``TMPDIR`` for child processes) at a fresh folder; remove it afterwards.

    Converters (TFLite's SavedModel round-trip, tf2onnx, onnx2tf) create temp
    folders through :mod:`tempfile`; this collects them in one place that is
    deleted in ``finally`` -- also on Ctrl-C and SIGTERM.
    """
    base = tempfile.gettempdir()
    remove_stale_run_dirs(base)
    d = Path(tempfile.mkdtemp(prefix=f"{RUN_TMP_PREFIX}{os.getpid()}-", dir=base))
    old_tempdir, old_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(d)
    os.environ["TMPDIR"] = str(d)
    try:
        yield d
    finally:
        tempfile.tempdir = old_tempdir
        if old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_env
        shutil.rmtree(d, ignore_errors=True)
