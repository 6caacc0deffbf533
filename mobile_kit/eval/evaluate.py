"""Evaluate a segmenter on a dataset at each image's own resolution."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.data.dataset import Pair, discover_pairs, load_pair, split_pairs
from mobile_kit.errors import DatasetError
from mobile_kit.eval.metrics import PooledIoU, binary_iou, per_image_miou
from mobile_kit.progress import NullProgress, Progress

SPLITS = ("all", "train", "val")


@dataclass
class EvalResult:
    """Accuracy figures of one model on one set of images.

    Attributes
    ----------
    person_iou : float
        Mean over images of the person-class IoU (0..1).
    miou : float
        Mean over images of the per-image mIoU over {background, person}
        (classes present in ground truth or prediction).
    person_iou_pooled : float
        Person IoU with intersections/unions summed over all pixels.
    per_image : list of dict
        ``{"stem", "person_iou", "miou"}`` per image.
    """

    model: str
    data: str
    split: str
    n_images: int
    person_iou: float
    miou: float
    person_iou_pooled: float
    threshold: float
    per_image: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {k: v for k, v in self.to_dict().items() if k != "per_image"}

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "n_images": self.n_images,
            "person_iou": self.person_iou,
            "miou": self.miou,
            "person_iou_pooled": self.person_iou_pooled,
            "threshold": self.threshold,
            "per_image": self.per_image,
        }


def select_pairs(data: str | Path, split: str = "all", val_fraction: float = 0.2, seed: int = 0,
                 limit: int | None = None) -> list[Pair]:
    """Pairs of a dataset for a split (the same deterministic split as training)."""
    if split not in SPLITS:
        from mobile_kit.errors import UnknownNameError

        raise UnknownNameError("split", split, SPLITS)
    rep = discover_pairs(data)
    pairs = rep.pairs
    if split != "all":
        train, val = split_pairs(pairs, val_fraction, seed)
        pairs = train if split == "train" else val
    if limit is not None:
        pairs = pairs[:limit]
    if not pairs:
        raise DatasetError(f"{data}: expected at least one image/mask pair in split {split!r}, found none")
    return pairs


def evaluate_pairs(segmenter, pairs: list[Pair], threshold: float | None = None,
                   progress: Progress = NullProgress()) -> tuple[list[dict], float]:
    """Per-image figures and pooled person IoU for ``pairs`` (see :func:`evaluate`)."""
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    pooled = PooledIoU()
    rows = []
    with progress.task("evaluating", len(pairs)) as t:
        for pair in pairs:
            img, gt = load_pair(pair)
            pred = segmenter.probability(img) > thr
            gt = gt.astype(bool)
            rows.append({
                "stem": pair.stem,
                "person_iou": binary_iou(pred, gt),
                "miou": per_image_miou(pred.astype(np.uint8), gt.astype(np.uint8), 2),
            })
            pooled.update(pred, gt)
            t.advance()
    return rows, pooled.value


def evaluate(segmenter, data: str | Path, split: str = "all", val_fraction: float = 0.2, seed: int = 0,
             threshold: float | None = None, limit: int | None = None,
             progress: Progress = NullProgress()) -> EvalResult:
    """Score a model on a dataset, comparing masks at each image's own resolution.

    The probability map is upsampled bilinearly to the image's ``(H, W)`` and
    thresholded (``threshold`` or the model's own, default 0.5); ground-truth
    masks are resized nearest-neighbour to the image when their size differs.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
        The model with its contract (see :func:`mobile_kit.runtime.load_segmenter`).
    data : path
        Dataset folder (``images/`` + ``masks/``).
    split : {"all", "train", "val"}
        Which part, using the training split (``val_fraction``, ``seed``).
    limit : int, optional
        Evaluate only the first ``limit`` pairs (sorted by stem).

    Returns
    -------
    EvalResult

    Raises
    ------
    DatasetError
        Missing/empty dataset or a broken file.
    """
    pairs = select_pairs(data, split, val_fraction, seed, limit)
    rows, pooled = evaluate_pairs(segmenter, pairs, threshold, progress)
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    return EvalResult(
        model=str(segmenter.path),
        data=str(data),
        split=split,
        n_images=len(rows),
        person_iou=float(np.mean([r["person_iou"] for r in rows])),
        miou=float(np.mean([r["miou"] for r in rows])),
        person_iou_pooled=pooled,
        threshold=thr,
        per_image=rows,
    )
