"""Task registry: what a model predicts, and everything that depends on it.

A :class:`Task` owns its labels, the output heads it can be exported with,
how ground truth is read and encoded as training targets, its loss, how an
output is decoded, its metrics, its effects and what its report shows.
Training, export, parity, eval, predict and the metadata contract ask the task
instead of assuming two classes:

- ``person``: binary person segmentation (background, person), the toolkit's
  original job, unchanged results;
- ``parsing``: K-class human parsing (body parts / garments), labels from a
  label map (:mod:`mobile_kit.tasks.label_map`).

A model's task is stored in its metadata (``task`` field, schema v2); v1
metadata (no ``task`` field) is read as the ``person`` task.
"""
from __future__ import annotations

from typing import Any, Callable

from mobile_kit.errors import MobileKitError, UnknownNameError

#: name -> factory(**config) -> Task
TASKS: dict[str, Callable[..., Any]] = {}


def register_task(name: str):
    """Register a task factory under ``name``; a duplicate name is refused."""

    def deco(factory):
        if name in TASKS:
            raise MobileKitError(f"task {name!r} is registered twice")
        TASKS[name] = factory
        return factory

    return deco


def _load_builtins() -> None:
    import mobile_kit.tasks.parsing  # noqa: F401
    import mobile_kit.tasks.person  # noqa: F401


def task_names() -> list[str]:
    """Registered task names (the CLI's ``--task`` choices)."""
    _load_builtins()
    return sorted(TASKS)


def get_task(name: str = "person", **config):
    """Build the task registered as ``name`` with its configuration.

    Parameters
    ----------
    name : str
        ``person`` or ``parsing`` (see :func:`task_names`).
    **config
        Task options, e.g. ``label_map=LabelMap`` or ``data=DIR`` for ``parsing``.

    Raises
    ------
    UnknownNameError
        For an unregistered name (the message lists the valid ones).
    """
    _load_builtins()
    if name not in TASKS:
        raise UnknownNameError("task", name, TASKS)
    return TASKS[name](**config)


def task_of(metadata) -> Any:
    """The task of a model, from its :class:`~mobile_kit.specs.ModelMetadata` (v1 metadata -> ``person``)."""
    _load_builtins()
    cfg = dict(metadata.task or {"name": "person"})
    name = cfg.pop("name", "person")
    if name not in TASKS:
        raise UnknownNameError("task", name, TASKS)
    return TASKS[name].from_metadata(metadata)


__all__ = ["TASKS", "get_task", "register_task", "task_names", "task_of"]
