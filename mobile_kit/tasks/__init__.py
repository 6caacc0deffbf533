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
metadata (no ``task`` field) is read as the default task (:data:`DEFAULT_TASK`).

Everything task-specific lives here, so the rest of the toolkit names no task
and no class count: the default task and its labels (:func:`default_labels`),
the built-in model of each task (:func:`builtin_models`, ``builtin:<task>``),
the help texts the CLI builds from the registry (:func:`tasks_help`), each
task's headline figure (:func:`headline_of`), the legacy contract field names
read for compatibility (:data:`LEGACY_OUTPUT_FIELDS`) and the shipped label
maps (``label_maps/``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from mobile_kit.errors import MobileKitError, lookup

#: name -> factory(**config) -> Task (the registered :class:`~mobile_kit.tasks.base.Task` subclasses)
TASKS: dict[str, Callable[..., Any]] = {}

#: The task of a model whose metadata names none (schema v1) and of ``train``/``validate`` without ``--task``.
DEFAULT_TASK = "person"

#: Folder holding the packaged models (``<builtin>/model.keras`` + ``metadata.json`` per task).
ASSETS_DIR = Path(__file__).parent.parent / "assets"

#: Output contract fields renamed when the contract became task-generic: old name -> current name. Metadata
#: written before (schema v1, and v2 files of the first multi-class release) is read through this map.
LEGACY_OUTPUT_FIELDS = {"person_index": "foreground_index"}


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


def _ordered() -> list[str]:
    _load_builtins()
    return [DEFAULT_TASK] + [n for n in sorted(TASKS) if n != DEFAULT_TASK]


def task_class(name: str):
    """The registered class of task ``name`` (class attributes only: labels, help, headline, built-in model).

    Raises
    ------
    UnknownNameError
        For an unregistered name (the message lists the valid ones).
    """
    _load_builtins()
    return lookup(TASKS, "task", name)


def default_labels() -> tuple[str, ...]:
    """Class names of the default task in channel order (the contract of a model that states none)."""
    return tuple(task_class(DEFAULT_TASK).labels)


def default_num_classes() -> int:
    """Number of classes of the default task (architectures' default softmax width)."""
    return len(default_labels())


def builtin_models() -> dict[str, Path]:
    """Task name -> folder of its packaged model (``builtin:<task>``), the default task first."""
    return {n: ASSETS_DIR / TASKS[n].builtin for n in _ordered() if getattr(TASKS[n], "builtin", None)}


def builtins_help() -> str:
    """``builtin:<task> (what it is) / ...`` for the CLI's MODEL help, the default first."""
    return " / ".join(f"builtin:{n} ({'the default, ' if n == DEFAULT_TASK else ''}{TASKS[n].builtin_help})"
                      for n in builtin_models())


def tasks_help(sep: str = " | ") -> str:
    """``name (what its ground truth is)`` for every task, the default first (the CLI's ``--task`` help)."""
    return sep.join(f"{n} ({TASKS[n].help})" for n in _ordered())


def headline_metrics() -> dict[str, tuple[str, str]]:
    """Task name -> (figure key in its eval summary, readable name), the default task first."""
    return {n: (TASKS[n].headline_metric, TASKS[n].headline_label) for n in _ordered()}


def headline_label(sep: str = " / ") -> str:
    """Readable names of every task's headline figure, e.g. for a report column that mixes tasks."""
    return sep.join(dict.fromkeys(label for _, label in headline_metrics().values()))


def headline_of(figures: dict | None, task: str | None = None):
    """The headline figure in an eval summary or validation figures dict, or None.

    ``task`` (or the summary's own ``task`` field) picks the key; without one, the
    first task whose headline key is present wins (the default task first).
    """
    figures = figures or {}
    metrics = headline_metrics()
    name = task or figures.get("task")
    if name in metrics:
        return figures.get(metrics[name][0])
    for key, _ in metrics.values():
        if key in figures:
            return figures[key]
    return None


def get_task(name: str = DEFAULT_TASK, **config):
    """Build the task registered as ``name`` with its configuration.

    Parameters
    ----------
    name : str
        A registered task (see :func:`task_names`; default :data:`DEFAULT_TASK`).
    **config
        Task options, e.g. ``label_map=LabelMap`` or ``data=DIR`` for ``parsing``.

    Raises
    ------
    UnknownNameError
        For an unregistered name (the message lists the valid ones).
    """
    return task_class(name)(**config)


def task_of(metadata) -> Any:
    """The task of a model, from its :class:`~mobile_kit.specs.ModelMetadata` (v1 metadata -> :data:`DEFAULT_TASK`)."""
    _load_builtins()
    cfg = dict(metadata.task or {"name": DEFAULT_TASK})
    name = cfg.pop("name", DEFAULT_TASK)
    return lookup(TASKS, "task", name).from_metadata(metadata)


__all__ = ["ASSETS_DIR", "DEFAULT_TASK", "LEGACY_OUTPUT_FIELDS", "TASKS", "builtin_models", "builtins_help",
           "default_labels", "default_num_classes", "get_task", "headline_label", "headline_metrics", "headline_of",
           "register_task", "task_class", "task_names", "task_of", "tasks_help"]
