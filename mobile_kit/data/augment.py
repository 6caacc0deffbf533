"""Augmentation for phone photos (numpy/OpenCV, applied per sample).

All transforms take and return ``(image, mask)`` with image ``(H, W, 3)`` uint8
RGB and mask ``(H, W)`` uint8 class ids, and draw randomness from a
``numpy.random.Generator`` so that a seed reproduces an epoch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation.

    crop_scale : fraction of the image area kept by random crop-and-resize; a
        crop may cut people at the frame edge, and their visible part stays
        labelled foreground, which teaches partial bodies.
    zoom_out : (probability, min scale, max scale) of shrinking the photo into
        a larger canvas of a random colour (a small subject in a large frame).
    """

    crop_prob: float = 0.8
    crop_scale: tuple[float, float] = (0.35, 1.0)
    crop_aspect: tuple[float, float] = (0.75, 1.33)
    flip_prob: float = 0.5
    zoom_out_prob: float = 0.2
    zoom_out_scale: tuple[float, float] = (0.45, 0.9)
    brightness: float = 0.25  # additive, fraction of 255
    contrast: tuple[float, float] = (0.7, 1.3)
    gamma: tuple[float, float] = (0.7, 1.4)
    saturation: tuple[float, float] = (0.7, 1.3)

    def to_dict(self) -> dict:
        return asdict(self)


def random_crop(image, mask, rng, scale=(0.35, 1.0), aspect=(0.75, 1.33)):
    """Random crop of ``scale`` of the area and ``aspect`` (w/h relative to the photo's)."""
    h, w = mask.shape[:2]  # a mask may carry extra channels (e.g. a teacher map)
    for _ in range(10):
        area = rng.uniform(*scale) * h * w
        ar = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1]))) * (w / h)
        cw = int(round(np.sqrt(area * ar)))
        ch = int(round(np.sqrt(area / ar)))
        if 8 <= cw <= w and 8 <= ch <= h:
            y = int(rng.integers(0, h - ch + 1))
            x = int(rng.integers(0, w - cw + 1))
            return image[y : y + ch, x : x + cw], mask[y : y + ch, x : x + cw]
    return image, mask


def zoom_out(image, mask, rng, scale=(0.45, 0.9)):
    """Shrink the photo by ``scale`` and paste it at a random place on a random-colour canvas."""
    h, w = mask.shape[:2]  # a mask may carry extra channels (e.g. a teacher map)
    s = rng.uniform(*scale)
    nh, nw = max(1, int(h * s)), max(1, int(w * s))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    small_m = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
    canvas = np.empty_like(image)
    canvas[:] = rng.integers(0, 256, size=3, dtype=np.uint8)
    noise = rng.normal(0, 8, size=image.shape).astype(np.float32)
    canvas = np.clip(canvas.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    cm = np.zeros_like(mask)
    y = int(rng.integers(0, h - nh + 1))
    x = int(rng.integers(0, w - nw + 1))
    canvas[y : y + nh, x : x + nw] = small
    cm[y : y + nh, x : x + nw] = small_m
    return canvas, cm


def photometric(image, rng, cfg: AugmentConfig):
    """Brightness, contrast, gamma and saturation jitter (mask unchanged)."""
    x = image.astype(np.float32) / 255.0
    if cfg.saturation != (1.0, 1.0):
        gray = x.mean(axis=2, keepdims=True)
        x = gray + (x - gray) * rng.uniform(*cfg.saturation)
    mean = x.mean()
    x = (x - mean) * rng.uniform(*cfg.contrast) + mean
    x = x + rng.uniform(-cfg.brightness, cfg.brightness)
    x = np.clip(x, 0.0, 1.0) ** rng.uniform(*cfg.gamma)
    return (x * 255.0 + 0.5).astype(np.uint8)


def hflip(image, mask, flip_lut=None):
    """Mirror a pair left-right; ``flip_lut`` (class -> class) swaps left/right-aware classes
    (e.g. left-arm <-> right-arm), as the body-part contest's flip augmentation does."""
    image, mask = image[:, ::-1], mask[:, ::-1]
    if flip_lut is not None:
        mask = np.asarray(flip_lut, dtype=mask.dtype)[mask]
    return image, mask


def augment(image, mask, rng, cfg: AugmentConfig = AugmentConfig(), flip_lut=None):
    """Apply the full augmentation chain to one pair (before the final resize); see :func:`hflip` for ``flip_lut``."""
    if rng.random() < cfg.zoom_out_prob:
        image, mask = zoom_out(image, mask, rng, cfg.zoom_out_scale)
    elif rng.random() < cfg.crop_prob:
        image, mask = random_crop(image, mask, rng, cfg.crop_scale, cfg.crop_aspect)
    if rng.random() < cfg.flip_prob:
        image, mask = hflip(image, mask, flip_lut)
    image = photometric(np.ascontiguousarray(image), rng, cfg)
    return image, np.ascontiguousarray(mask)
