"""Segmentation metrics on label maps.

Conventions (as in the body-part contest this toolkit grew from): IoU of a
class in one image is ``|P & G| / |P | G|``; an image's mIoU is the mean IoU
over the classes present in the ground truth *or* the prediction; a dataset's
mIoU is the mean of the per-image mIoUs.
"""
from __future__ import annotations

import numpy as np


def binary_iou(pred: np.ndarray, gt: np.ndarray, empty: float = 1.0) -> float:
    """IoU of two boolean masks of equal shape.

    Parameters
    ----------
    pred, gt : numpy.ndarray
        Boolean (or {0, 1}) arrays of the same shape.
    empty : float
        Value when both masks are empty (nothing to find, nothing found).

    Returns
    -------
    float in 0..1.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"mask shapes differ: prediction {pred.shape}, ground truth {gt.shape}")
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return float(empty)
    return float(np.count_nonzero(pred & gt) / union)


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> np.ndarray:
    """``cm[g, p]`` = pixels of ground-truth class ``g`` predicted as ``p`` (int64 ``(K, K)``).

    Raises
    ------
    ValueError
        If the label maps differ in size.
    """
    pred = np.asarray(pred).ravel().astype(np.int64)
    gt = np.asarray(gt).ravel().astype(np.int64)
    if pred.shape != gt.shape:
        raise ValueError(f"label map sizes differ: prediction {pred.size}, ground truth {gt.size}")
    return np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class ``(intersection, union)`` pixel counts from a confusion matrix."""
    inter = np.diag(cm)
    return inter, cm.sum(0) + cm.sum(1) - inter


def per_class_iou(cm: np.ndarray) -> np.ndarray:
    """IoU of each class from a (pooled) confusion matrix; NaN where the class is in neither map."""
    inter, union = iou_from_confusion(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def pixel_accuracy(cm: np.ndarray) -> float:
    """Fraction of pixels whose predicted class is the ground truth's."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 1.0


def per_image_miou(pred: np.ndarray, gt: np.ndarray, num_classes: int, exclude=()) -> float:
    """Mean IoU over the classes present in ``gt`` or ``pred`` for one image (the body-part contest's score).

    Parameters
    ----------
    pred, gt : numpy.ndarray
        Integer label maps ``(H, W)`` with values in ``0..num_classes-1``.
    exclude : iterable of int
        Classes left out of the mean (e.g. background); pixels of them still
        count as false positives/negatives of the other classes.

    Returns
    -------
    float in 0..1 (1.0 when no remaining class is present in either map).
    """
    return miou_from_confusion(confusion_matrix(pred, gt, num_classes), exclude)


def miou_from_confusion(cm: np.ndarray, exclude=()) -> float:
    """Mean IoU over classes present in either map, leaving out ``exclude``."""
    inter, union = iou_from_confusion(cm)
    present = union > 0
    for c in exclude:
        present[c] = False
    return float(np.mean(inter[present] / union[present])) if present.any() else 1.0


class PooledIoU:
    """Dataset-level IoU: intersections and unions summed over all pixels of all images."""

    def __init__(self):
        self.inter = 0
        self.union = 0

    def update(self, pred: np.ndarray, gt: np.ndarray) -> None:
        pred = np.asarray(pred, dtype=bool)
        gt = np.asarray(gt, dtype=bool)
        self.inter += int(np.count_nonzero(pred & gt))
        self.union += int(np.count_nonzero(pred | gt))

    @property
    def value(self) -> float:
        return self.inter / self.union if self.union else 1.0
