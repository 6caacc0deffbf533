"""Segmentation losses on NHWC softmax probabilities (tf_keras).

``y_true`` holds class ids ``(B, H, W, 1)`` float; ``y_pred`` the softmax
output ``(B, H, W, C)``. Which channels the Dice term covers is the task's
choice (:meth:`mobile_kit.tasks.base.Task.dice_channels`).
"""
from __future__ import annotations

import tensorflow as tf

from mobile_kit.errors import lookup

_EPS = 1e-6


def _onehot(y_true, c):
    return tf.one_hot(tf.cast(y_true[..., 0], tf.int32), c)


def cross_entropy(y_true, y_pred):
    """Mean pixel cross-entropy."""
    y = _onehot(y_true, tf.shape(y_pred)[-1])
    p = tf.clip_by_value(y_pred, _EPS, 1.0)
    return -tf.reduce_mean(tf.reduce_sum(y * tf.math.log(p), axis=-1))


def focal(y_true, y_pred, gamma: float = 2.0):
    """Focal loss (Lin et al., ICCV 2017), gamma = 2, no class weighting."""
    y = _onehot(y_true, tf.shape(y_pred)[-1])
    p = tf.clip_by_value(y_pred, _EPS, 1.0)
    pt = tf.reduce_sum(y * p, axis=-1)
    return -tf.reduce_mean(tf.pow(1.0 - pt, gamma) * tf.math.log(pt))


def soft_dice(y_true, y_pred, channels=None):
    """1 - soft Dice, per image and channel, averaged over both (Milletari et al., 2016; smoothing 1).

    ``channels``: the class channels to score (``(1,)`` = the foreground of a
    binary task); ``None`` = every class (multi-class Dice).
    """
    t = _onehot(y_true, tf.shape(y_pred)[-1])
    p = y_pred
    if channels is not None:
        p = tf.gather(p, list(channels), axis=-1)
        t = tf.gather(t, list(channels), axis=-1)
    inter = tf.reduce_sum(p * t, axis=[1, 2])
    denom = tf.reduce_sum(p, axis=[1, 2]) + tf.reduce_sum(t, axis=[1, 2])
    return 1.0 - tf.reduce_mean((2.0 * inter + 1.0) / (denom + 1.0))


#: name -> factory(dice_channels) -> loss(y_true, y_pred); the task picks the Dice channels.
LOSS_FACTORIES = {
    "ce+dice": lambda ch: lambda t, p: cross_entropy(t, p) + soft_dice(t, p, ch),
    "focal+dice": lambda ch: lambda t, p: focal(t, p) + soft_dice(t, p, ch),
    "ce": lambda ch: cross_entropy,
}
#: The losses of a two-class model (Dice on channel 1), by name: what :func:`get_loss` returns without channels.
LOSSES = {name: f((1,)) for name, f in LOSS_FACTORIES.items()}


def get_loss(name: str, dice_channels=(1,)):
    """Return the loss registered as ``name`` (``ce+dice``, ``focal+dice``, ``ce``), its Dice term over
    ``dice_channels`` (default channel 1 of a two-class model; None = all classes).

    Raises
    ------
    UnknownNameError
        For a name not in :data:`LOSS_FACTORIES`.
    """
    return lookup(LOSS_FACTORIES, "loss", name)(dice_channels)


# --- Recipe losses: boundary band and knowledge distillation -------------------------------------------------
#
# These read the 4-channel target of :func:`mobile_kit.recipe.mixing.encode_target`
# (foreground, labelled, teacher probability, boundary band), all (B, H, W) float.


def _pixel_ce(y1, p1):
    """Binary cross-entropy map of soft or hard foreground targets ``y1`` against p(foreground) ``p1``: (B, H, W)."""
    p1 = tf.clip_by_value(p1, _EPS, 1.0 - _EPS)
    return -(y1 * tf.math.log(p1) + (1.0 - y1) * tf.math.log(1.0 - p1))


def _pixel_focal(y1, p1, gamma: float = 2.0):
    p1 = tf.clip_by_value(p1, _EPS, 1.0 - _EPS)
    pt = y1 * p1 + (1.0 - y1) * (1.0 - p1)
    return -tf.pow(1.0 - pt, gamma) * tf.math.log(pt)


def _dice_per_image(y1, p1):
    inter = tf.reduce_sum(p1 * y1, axis=[1, 2])
    denom = tf.reduce_sum(p1, axis=[1, 2]) + tf.reduce_sum(y1, axis=[1, 2])
    return 1.0 - (2.0 * inter + 1.0) / (denom + 1.0)


def boundary_loss(y1, p1, band):
    """Cross-entropy averaged over the boundary band only, per image: (B,).

    ``band`` (B, H, W) {0, 1} marks pixels within a few pixels of the mask edge
    (Canny edges of the mask, dilated; :func:`mobile_kit.recipe.mixing.boundary_band`),
    the edge-weighted loss of the Portrait-Segmentation project
    (anilsathyan7/Portrait-Segmentation). Images without an edge contribute 0.
    """
    ce = _pixel_ce(y1, p1)
    return tf.reduce_sum(ce * band, axis=[1, 2]) / (tf.reduce_sum(band, axis=[1, 2]) + _EPS)


def distillation_loss(teacher, p1):
    """Soft-target cross-entropy against the teacher's p(foreground), per image: (B,) (Hinton et al., 2015, T = 1)."""
    return tf.reduce_mean(_pixel_ce(teacher, p1), axis=[1, 2])


#: Pixel terms of the ground-truth loss by base loss name (the Dice term is added when the name has ``dice``).
_PIXEL_TERMS = {"ce+dice": _pixel_ce, "focal+dice": _pixel_focal, "ce": _pixel_ce}


def recipe_loss(base: str = "ce+dice", distill_weight: float = 0.0, boundary_weight: float = 0.0):
    """The training-recipe loss on NHWC softmax probabilities.

    ``loss = (1 - a) * GT + a * KD`` with ``a = distill_weight``, where

    - ``GT`` is the ``base`` loss (CE or focal, + soft Dice) plus
      ``boundary_weight`` x :func:`boundary_loss`, averaged over the
      *labelled* images of the batch only;
    - ``KD`` is :func:`distillation_loss` against the teacher channel,
      averaged over all images (labelled and unlabelled).

    A batch without labelled images has ``GT = 0``. A 1-channel ``y_true``
    (plain foreground mask, as in validation) falls back to ``base``.

    Parameters
    ----------
    base : str
        ``ce+dice``, ``focal+dice`` or ``ce``.
    distill_weight : float
        ``a`` in [0, 1].
    boundary_weight : float
        Weight of the boundary-band term (>= 0).

    Raises
    ------
    UnknownNameError
        For an unknown ``base``.
    ValueError
        For weights out of range.
    """
    lookup(_PIXEL_TERMS, "loss", base)
    if not 0.0 <= distill_weight <= 1.0 or boundary_weight < 0:
        raise ValueError(f"distill_weight must be in [0, 1] and boundary_weight >= 0, found "
                         f"{distill_weight} and {boundary_weight}")
    pixel = _PIXEL_TERMS[base]
    dice = "dice" in base
    plain = LOSSES[base]  # the recipe targets are binary foreground masks: Dice on channel 1

    def loss(y_true, y_pred):
        if y_true.shape[-1] == 1:
            return plain(y_true, y_pred)
        y1, lab, teacher, band = (y_true[..., i] for i in range(4))
        p1 = y_pred[..., 1]
        valid = lab[:, 0, 0]
        gt = tf.reduce_mean(pixel(y1, p1), axis=[1, 2])
        if dice:
            gt = gt + _dice_per_image(y1, p1)
        if boundary_weight:
            gt = gt + boundary_weight * boundary_loss(y1, p1, band)
        gt = tf.reduce_sum(gt * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)
        if not distill_weight:
            return gt
        kd = tf.reduce_mean(distillation_loss(teacher, p1))
        return (1.0 - distill_weight) * gt + distill_weight * kd

    return loss
