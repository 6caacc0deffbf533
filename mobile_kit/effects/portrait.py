"""Mask, overlay and portrait-mode blur.

All functions take the photo ``(H, W, 3)`` uint8 RGB and p(foreground)
``(H, W)`` float32 in 0..1 at the photo's resolution, and return ``(H, W, 3)``
uint8 RGB (or ``(H, W)`` uint8 for ``mask``).
"""
from __future__ import annotations

import cv2
import numpy as np

from mobile_kit.errors import lookup


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def feather(prob: np.ndarray, threshold: float = 0.5, radius_fraction: float = 0.004) -> np.ndarray:
    """Soft alpha matte: the thresholded mask blurred by a Gaussian of ``radius_fraction`` x the image diagonal."""
    h, w = prob.shape
    hard = (prob > threshold).astype(np.float32)
    sigma = max(0.8, radius_fraction * float(np.hypot(h, w)))
    return cv2.GaussianBlur(hard, (0, 0), sigma)


def mask_image(image: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Binary mask, 0 = background, 255 = foreground, ``(H, W)`` uint8."""
    return ((prob > threshold) * 255).astype(np.uint8)


def overlay(image: np.ndarray, prob: np.ndarray, threshold: float = 0.5, color=(255, 40, 120), alpha: float = 0.5):
    """Tint the foreground in ``color`` and draw the mask outline."""
    m = prob > threshold
    out = image.astype(np.float32)
    out[m] = out[m] * (1 - alpha) + np.asarray(color, np.float32) * alpha
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thick = max(1, int(round(0.003 * max(image.shape[:2]))))
    cv2.drawContours(out, contours, -1, tuple(int(c) for c in color), thick)
    return out


#: Longest side (pixels) at which the background blur and the matte feathering are computed. A Gaussian of
#: sigma = 2% of the image side removes all detail above this resolution, so working here and upsampling the
#: blurred background loses nothing visible, while the cost no longer grows with the sigma^2-sized kernels of a
#: 12-100 MP photo.
WORKING_SIDE = 1024


def _working_size(h: int, w: int, side: int = WORKING_SIDE) -> tuple[int, int]:
    s = min(1.0, side / max(h, w))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def portrait_blur(image: np.ndarray, prob: np.ndarray, threshold: float = 0.5, blur_fraction: float = 0.02,
                  working_side: int = WORKING_SIDE):
    """Portrait mode: blur the background, keep the subject sharp, feathered edge.

    The background is blurred by normalized convolution (foreground pixels are
    excluded from the blur, so no halo of the subject's colours bleeds out),
    then composited under the feathered matte:
    ``out = a * image + (1 - a) * blurred_background``.

    The blur and the feathering run at a working resolution (longest side
    ``working_side``); the blurred background and the matte are upsampled
    (bilinear) and composited with the photo at its full resolution, so foreground
    pixels keep every original detail and the cost is that of one resize of
    the photo rather than of a Gaussian whose kernel grows with the photo.
    Photos no larger than ``working_side`` are processed exactly as the formula
    pinned for the app cores (``android_demo/GOLDEN.md``).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    prob : numpy.ndarray
        ``(H, W)`` float32 p(foreground) in 0..1, or any ``(h, w)``; it is resized.
    threshold : float
        p(foreground) above which a pixel is foreground (0..1).
    blur_fraction : float
        Background Gaussian sigma as a fraction of the photo's longest side.
    working_side : int
        Longest side, in pixels, of the blur and feathering.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.
    """
    h, w = image.shape[:2]
    wh, ww = _working_size(h, w, working_side)
    scale = max(wh, ww) / max(h, w)
    small = image if (wh, ww) == (h, w) else cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
    p_small = prob if prob.shape == (wh, ww) else cv2.resize(prob.astype(np.float32), (ww, wh),
                                                             interpolation=cv2.INTER_AREA)
    hard = (p_small > threshold).astype(np.float32)
    bg_w = 1.0 - hard
    sigma = max(1.0, blur_fraction * max(wh, ww))
    img = small.astype(np.float32)
    num = cv2.GaussianBlur(img * bg_w[:, :, None], (0, 0), sigma)
    den = cv2.GaussianBlur(bg_w, (0, 0), sigma)[:, :, None]
    wide = cv2.GaussianBlur(img, (0, 0), sigma)
    blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), wide)
    feather_sigma = max(0.8 * scale, 0.004 * float(np.hypot(wh, ww)))
    alpha = cv2.GaussianBlur(hard, (0, 0), feather_sigma)
    if (wh, ww) != (h, w):
        blurred = cv2.resize(blurred, (w, h), interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    # the full-resolution composite, a * img + (1 - a) * blurred (the pinned formula), in place: 12 MP x 3 floats
    a = alpha[:, :, None]
    out = image.astype(np.float32)
    out *= a
    blurred *= 1.0 - a
    out += blurred
    out += 0.5
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


EFFECTS = {"mask": mask_image, "overlay": overlay, "blur": portrait_blur}


def apply_effect(name: str, image: np.ndarray, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Apply the effect registered as ``name`` (``mask``, ``overlay``, ``blur``)."""
    return lookup(EFFECTS, "effect", name)(image, prob, threshold)
