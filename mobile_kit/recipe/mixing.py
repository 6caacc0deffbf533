"""Sample mixing for the training recipe: weighted sources, negatives, copy-paste, soft targets.

Every training sample is a :class:`RecipeSample`: a photo, its binary foreground
mask, the teacher's probability (or none) and whether the mask is a real label.
Each epoch draws a fixed number of samples from the pools with probabilities
given by the source weights, augments photo, mask and teacher map together
(the teacher map travels as a second mask channel) and encodes the target as
four channels (see :func:`encode_target`), which :func:`mobile_kit.losses.recipe_loss`
reads.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mobile_kit.data.augment import AugmentConfig, augment
from mobile_kit.preprocess import to_model_input
from mobile_kit.specs import InputSpec

#: Target channels written by :func:`encode_target`.
TARGET_CHANNELS = ("foreground", "labelled", "teacher", "boundary_band")


@dataclass
class RecipeSample:
    """``image`` (H, W, 3) uint8 RGB; ``mask`` (H, W) uint8 {0, 1}; ``teacher`` (H, W) uint8 p x 255 or None;
    ``labelled``: the mask is a real label (False: unlabelled photo, trained on the teacher only)."""

    image: np.ndarray
    mask: np.ndarray
    teacher: np.ndarray | None
    labelled: bool


def foreground_free_crop(mask: np.ndarray, rng: np.random.Generator, min_side: int = 48, min_frac: float = 0.25,
                     margin: int = 4, tries: int = 300) -> tuple[int, int, int, int] | None:
    """The largest of ``tries`` random rectangles that holds no foreground pixel (after ``margin`` px dilation).

    Parameters
    ----------
    mask : numpy.ndarray
        ``(H, W)`` uint8 {0, 1} foreground mask.
    min_side : int
        Smallest crop side in pixels.
    min_frac : float
        Smallest crop side as a fraction of the photo's short side.

    Returns
    -------
    (y, x, h, w) or None
        ``None`` when no foreground-free rectangle of that size was found.
    """
    h, w = mask.shape
    m = cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) if margin else mask
    ii = np.pad(m.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    lo = max(min_side, int(min_frac * min(h, w)))
    if lo > min(h, w):
        return None
    best, best_area = None, 0
    for _ in range(tries):
        ch = int(rng.integers(lo, h + 1))
        cw = int(np.clip(ch * np.exp(rng.uniform(np.log(0.5), np.log(2.0))), lo, w))
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        s = ii[y + ch, x + cw] - ii[y, x + cw] - ii[y + ch, x] + ii[y, x]
        if s == 0 and ch * cw > best_area:
            best, best_area = (y, x, ch, cw), ch * cw
    return best


def negatives_from(samples: list[RecipeSample], rng: np.random.Generator, min_side: int = 48) -> list[RecipeSample]:
    """Foreground-free crops (empty masks, teacher = empty) of the background of labelled photos.

    At most one crop per photo (the largest found by :func:`foreground_free_crop`,
    sides >= ``min_side`` px); unlabelled photos give none.
    """
    out = []
    for s in samples:
        if not s.labelled:
            continue
        r = foreground_free_crop(s.mask, rng, min_side=min_side)
        if r is None:
            continue
        y, x, h, w = r
        img = np.ascontiguousarray(s.image[y : y + h, x : x + w])
        empty = np.zeros((h, w), np.uint8)
        out.append(RecipeSample(img, empty, empty.copy(), True))
    return out


def copy_paste(image: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Paste the foreground of ``image`` (where ``mask`` is 1) onto ``background`` resized to the same size.

    Returns the composite ``(H, W, 3)`` uint8; the foreground mask is unchanged
    (Ghiasi et al., "Simple Copy-Paste is a Strong Data Augmentation Method",
    CVPR 2021, with a hard mask).
    """
    h, w = mask.shape
    bg = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(mask[..., None] > 0, image, bg)


def boundary_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` px of the mask edge: Canny edges of the mask, dilated.

    Parameters
    ----------
    mask : numpy.ndarray
        ``(H, W)`` uint8 {0, 1}.
    width : int
        Half-width of the band in pixels (>= 1).

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` float32 {0, 1}.
    """
    edges = cv2.Canny(mask * 255, 100, 200)
    k = 2 * width + 1
    return (cv2.dilate(edges, np.ones((k, k), np.uint8)) > 0).astype(np.float32)


def encode_target(mask: np.ndarray, teacher: np.ndarray | None, labelled: bool, band_width: int) -> np.ndarray:
    """Stack the training target ``(h, w, 4)`` float32: foreground {0,1}, labelled {0,1}, teacher 0..1, band {0,1}.

    With no teacher the teacher channel repeats the label (no distillation
    signal); an unlabelled sample has foreground = band = 0 and labelled = 0.
    """
    m = mask.astype(np.float32)
    t = m if teacher is None else teacher.astype(np.float32) / 255.0
    lab = np.full_like(m, 1.0 if labelled else 0.0)
    band = boundary_band(mask, band_width) if labelled and band_width > 0 else np.zeros_like(m)
    return np.stack([m * lab, lab, t, band], axis=-1)


def make_recipe_sample(s: RecipeSample, spec: InputSpec, rng: np.random.Generator, aug: AugmentConfig | None,
                       band_width: int, paste_prob: float = 0.0, backgrounds: list | None = None):
    """Augment one sample (photo, mask and teacher map together) and encode it at the model size.

    Returns
    -------
    (x, y)
        ``x`` (h, w, C) float32 normalised per ``spec``; ``y`` (h, w, 4)
        float32, see :func:`encode_target`.
    """
    has_t = s.teacher is not None
    m2 = np.dstack([s.mask, s.teacher]) if has_t else s.mask
    img = s.image
    if aug is not None:
        img, m2 = augment(img, m2, rng, aug)
    mask, teacher = (m2[..., 0], m2[..., 1]) if has_t else (m2, None)
    if (s.labelled and backgrounds and paste_prob > 0 and mask.any() and rng.random() < paste_prob):
        img = copy_paste(img, mask, backgrounds[int(rng.integers(len(backgrounds)))].image)
        teacher = mask  # the teacher never saw the composite: trust the label
    x = to_model_input(np.ascontiguousarray(img), spec)
    size = (spec.width, spec.height)
    mask = cv2.resize(np.ascontiguousarray(mask), size, interpolation=cv2.INTER_NEAREST)
    if teacher is not None:
        teacher = cv2.resize(np.ascontiguousarray(teacher), size, interpolation=cv2.INTER_LINEAR)
    return x, encode_target(mask, teacher, s.labelled, band_width)


def draw_epoch(pool_sizes: list[int], weights: list[float], n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``n`` draws ``(pool, index)``: the pool with probability proportional to its weight, the index uniformly.

    Empty pools are never drawn. Within a pool, indices cycle through a random
    permutation so that every sample is seen before any repeats.
    """
    w = np.array([wt if size else 0.0 for wt, size in zip(weights, pool_sizes)], dtype=np.float64)
    if w.sum() <= 0:
        return []
    pools = rng.choice(len(w), size=n, p=w / w.sum())
    perms = [rng.permutation(size) if size else None for size in pool_sizes]
    cursor = [0] * len(pool_sizes)
    out = []
    for p in pools:
        out.append((int(p), int(perms[p][cursor[p] % pool_sizes[p]])))
        cursor[p] += 1
    return out
