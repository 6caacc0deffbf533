"""Test-time augmentation: multi-scale and flip, probabilities multiplied.

As in the body-part contest this toolkit grew from: the photo is run at scales
0.9, 1.0 and 1.1 and the class probabilities are multiplied (a geometric mean,
renormalised per pixel). A model with a fixed input size sees a scale ``s`` as
a zoom: ``s > 1`` runs on the central ``1/s`` crop of the photo (its prediction
covers that crop only), ``s < 1`` runs on the photo padded by reflection to
``1/s`` of its size (the centre is cropped back). Each pixel multiplies the
scales that cover it. ``flip`` also runs the mirrored photo, mirrors the
result back and swaps the left/right class channels (``flip_pairs``).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from mobile_kit.errors import lookup

SCALES = (0.9, 1.0, 1.1)
TTA_MODES = ("flip", "scales", "flip+scales")
_EPS = 1e-6


def _resize(probs: np.ndarray, hw) -> np.ndarray:
    from mobile_kit.preprocess import upsample_probabilities

    return upsample_probabilities(probs, hw)


def _at_scale(fn: Callable, image: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(H, W, C)`` of ``image`` seen at zoom ``s`` and the boolean coverage ``(H, W)``."""
    h, w = image.shape[:2]
    if s == 1.0:
        return _resize(fn(image), (h, w)), np.ones((h, w), bool)
    if s < 1.0:
        ph, pw = int(round(h / s)), int(round(w / s))
        top, left = (ph - h) // 2, (pw - w) // 2
        padded = cv2.copyMakeBorder(image, top, ph - h - top, left, pw - w - left, cv2.BORDER_REFLECT_101)
        p = _resize(fn(padded), (ph, pw))
        return p[top:top + h, left:left + w], np.ones((h, w), bool)
    ch, cw = max(1, int(round(h / s))), max(1, int(round(w / s)))
    top, left = (h - ch) // 2, (w - cw) // 2
    p_crop = _resize(fn(image[top:top + ch, left:left + cw]), (ch, cw))
    probs = np.ones((h, w, p_crop.shape[-1]), np.float32)
    cover = np.zeros((h, w), bool)
    probs[top:top + ch, left:left + cw] = p_crop
    cover[top:top + ch, left:left + cw] = True
    return probs, cover


def tta_probabilities(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray, mode: str,
                      flip_pairs=(), input_hw=None) -> np.ndarray:
    """Class probabilities of ``image`` with test-time augmentation.

    Parameters
    ----------
    fn : callable
        ``fn(photo (h, w, 3) uint8 RGB) -> (h', w', C)`` float32 class probabilities at model resolution.
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    mode : {"flip", "scales", "flip+scales"}
    flip_pairs : sequence of (int, int)
        Class channels a mirror swaps (left/right).

    Returns
    -------
    numpy.ndarray
        ``(H, W, C)`` float32, per-pixel normalised product of the covering runs' probabilities.

    Raises
    ------
    UnknownNameError
        For a mode other than :data:`TTA_MODES`.
    """
    lookup(TTA_MODES, "TTA mode", mode)
    scales = SCALES if "scales" in mode else (1.0,)
    flips = (False, True) if "flip" in mode else (False,)
    log_sum, count = None, None
    for s in scales:
        for flip in flips:
            src = np.ascontiguousarray(image[:, ::-1]) if flip else image
            p, cover = _at_scale(fn, src, s)
            if flip:
                p, cover = p[:, ::-1], cover[:, ::-1]
                perm = np.arange(p.shape[-1])
                for a, b in flip_pairs:
                    perm[a], perm[b] = b, a
                p = p[..., perm]
            lp = np.log(np.clip(p, _EPS, 1.0)) * cover[..., None]
            log_sum = lp if log_sum is None else log_sum + lp
            count = cover.astype(np.float32) if count is None else count + cover
    g = log_sum / np.maximum(count, 1.0)[..., None]
    g = np.exp(g - g.max(axis=-1, keepdims=True))
    return (g / g.sum(axis=-1, keepdims=True)).astype(np.float32)
