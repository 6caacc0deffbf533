"""Segmentation losses on NHWC softmax probabilities (tf_keras).

``y_true`` holds class ids ``(B, H, W, 1)`` float; ``y_pred`` the softmax
output ``(B, H, W, C)``. Which channels the Dice term covers is the task's
choice (:meth:`mobile_kit.tasks.base.Task.dice_channels`).
"""
from __future__ import annotations

import tensorflow as tf

from mobile_kit.errors import UnknownNameError

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


#: name -> factory(dice_channels) -> loss(y_true, y_pred)
LOSSES = {
    "ce+dice": lambda ch: lambda t, p: cross_entropy(t, p) + soft_dice(t, p, ch),
    "focal+dice": lambda ch: lambda t, p: focal(t, p) + soft_dice(t, p, ch),
    "ce": lambda ch: cross_entropy,
}


def get_loss(name: str, dice_channels=None):
    """Return the loss registered as ``name`` (``ce+dice``, ``focal+dice``, ``ce``), its Dice term over
    ``dice_channels`` (None = all classes)."""
    if name not in LOSSES:
        raise UnknownNameError("loss", name, LOSSES)
    return LOSSES[name](dice_channels)
