"""Evaluate a segmenter on a dataset at each image's own resolution.

What is measured is the model's task's business (:mod:`mobile_kit.tasks`):
a binary task reports the IoU of its foreground class and mIoU over both
classes; a K-class task reports per-class IoU, per-image mIoU over the
classes present and pixel accuracy. This module selects the images and hands
them to the task.
"""
from __future__ import annotations

from pathlib import Path

from mobile_kit.data.dataset import Pair, discover_pairs, split_pairs
from mobile_kit.errors import DatasetError
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.tasks import DEFAULT_TASK, task_class

#: The default task's result type (re-exported as ``mobile_kit.eval.EvalResult``).
EvalResult = task_class(DEFAULT_TASK).result_type

SPLITS = ("all", "train", "val")


def select_pairs(data: str | Path, split: str = "all", val_fraction: float = 0.2, seed: int = 0,
                 limit: int | None = None, target_dirs: tuple[str, ...] = ("masks",)) -> list[Pair]:
    """Pairs of a dataset for a split (the same deterministic split as training)."""
    if split not in SPLITS:
        from mobile_kit.errors import UnknownNameError

        raise UnknownNameError("split", split, SPLITS)
    rep = discover_pairs(data, target_dirs)
    pairs = rep.pairs
    if split != "all":
        train, val = split_pairs(pairs, val_fraction, seed)
        pairs = train if split == "train" else val
    if limit is not None:
        pairs = pairs[:limit]
    if not pairs:
        raise DatasetError(f"{data}: expected at least one image/mask pair in split {split!r}, found none")
    return pairs


def evaluate(segmenter, data: str | Path, split: str = "all", val_fraction: float = 0.2, seed: int = 0,
             threshold: float | None = None, limit: int | None = None, exclude=(), tta: str | None = None,
             progress: Progress = NullProgress()):
    """Score a model on a dataset, comparing at each image's own resolution.

    Probabilities are upsampled bilinearly to the image's ``(H, W)`` and
    decoded by the task (binary: threshold, default the model's 0.5; K-class:
    argmax); ground truth is resized nearest-neighbour when its size differs.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
        The model with its contract (see :func:`mobile_kit.runtime.load_segmenter`).
    data : path
        Dataset folder (``images/`` + the task's ground-truth folder: ``masks/`` or ``labels/``).
    split : {"all", "train", "val"}
        Which part, using the training split (``val_fraction``, ``seed``).
    limit : int, optional
        Evaluate only the first ``limit`` pairs (sorted by stem).
    exclude : sequence of str or int
        Multi-class tasks: classes left out of the per-image mIoU (e.g. ``background``).
    tta : {None, "flip", "scales", "flip+scales"}
        Test-time augmentation (:mod:`mobile_kit.tta`).

    Returns
    -------
    The task's result (its ``result_type``, e.g. :data:`EvalResult` for the default task), with
    ``to_dict()``, ``summary()`` and ``table()``.

    Raises
    ------
    DatasetError
        Missing/empty dataset or a broken file.
    """
    from mobile_kit.tasks import task_of

    task = task_of(segmenter.metadata)
    pairs = select_pairs(data, split, val_fraction, seed, limit, task.target_dirs)
    return task.evaluate(segmenter, pairs, threshold=threshold, progress=progress, model=str(segmenter.path),
                         data=str(data), split=split, exclude=exclude, tta=tta)
