"""Progress reporting without printing from the library.

Library functions take a ``progress`` argument implementing :class:`Progress`;
the default, :class:`NullProgress`, does nothing. The CLI passes
:class:`RichProgress`, which draws rich progress bars on stderr.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Protocol


class Task(Protocol):
    def advance(self, n: int = 1, **fields) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int | None) -> contextlib.AbstractContextManager[Task]: ...

    def log(self, message: str) -> None: ...


class _NullTask:
    def advance(self, n: int = 1, **fields) -> None:
        pass


class NullProgress:
    """Reports nothing."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()

    def log(self, message: str) -> None:
        pass


class _RichTask:
    def __init__(self, bar, task_id):
        self._bar = bar
        self._id = task_id

    def advance(self, n: int = 1, **fields) -> None:
        info = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        self._bar.update(self._id, advance=n, info=info)


class RichProgress:
    """Rich progress bars on stderr; nested tasks share one live display."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._bar = None
        self._depth = 0

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as _P,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        if self._bar is None:
            self._bar = _P(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
            )
            self._bar.start()
        self._depth += 1
        tid = self._bar.add_task(description, total=total, info="")
        try:
            yield _RichTask(self._bar, tid)
        finally:
            self._depth -= 1
            if self._depth > 0:
                self._bar.remove_task(tid)  # inner bars (epochs) vanish when done
            else:
                self._bar.stop()
                self._bar = None

    def log(self, message: str) -> None:
        self.console.print(message)
