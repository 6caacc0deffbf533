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


def per_image_miou(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> float:
    """Mean IoU over the classes present in ``gt`` or ``pred`` for one image.

    Parameters
    ----------
    pred, gt : numpy.ndarray
        Integer label maps ``(H, W)`` with values in ``0..num_classes-1``.

    Returns
    -------
    float in 0..1.
    """
    pred = np.asarray(pred).ravel().astype(np.int64)
    gt = np.asarray(gt).ravel().astype(np.int64)
    if pred.shape != gt.shape:
        raise ValueError(f"label map sizes differ: prediction {pred.size}, ground truth {gt.size}")
    cm = np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present]))


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
