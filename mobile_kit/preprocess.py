"""The one implementation of photo -> model input and output -> probability.

Used by training, export calibration, parity, eval, bench and predict so that
all of them agree with ``metadata.json`` (see :mod:`mobile_kit.specs`).
"""
from __future__ import annotations

import cv2
import numpy as np

from mobile_kit.specs import InputSpec, OutputSpec


def resize_rgb(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize a ``(H, W, 3)`` uint8 RGB photo to the model's ``input_hw`` (bilinear; INTER_AREA when shrinking)."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if (h > spec.height and w > spec.width) else cv2.INTER_LINEAR
    return cv2.resize(image, (spec.width, spec.height), interpolation=interp)


def to_model_input(image: np.ndarray, spec: InputSpec, resize: bool = True) -> np.ndarray:
    """Turn a photo into one model input.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB, values 0..255.
    spec : InputSpec
        Input contract (size, channels, normalisation).
    resize : bool
        Resize to ``spec.input_hw`` first (``False`` if already that size).

    Returns
    -------
    numpy.ndarray
        ``(height, width, channels)`` float32 (NHWC without the batch axis),
        channels in ``spec.channel_order``, ``pixel * scale + offset`` per channel.
    """
    if resize:
        image = resize_rgb(image, spec)
    if spec.channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None]
    elif spec.channel_order == "BGR":
        image = image[:, :, ::-1]
    scale = np.asarray(spec.scale, dtype=np.float32)
    offset = np.asarray(spec.offset, dtype=np.float32)
    return image.astype(np.float32) * scale + offset


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype) -> np.ndarray:
    """Quantize a float tensor with the rounding pinned in android_demo/GOLDEN.md (step 6).

    ``q = clamp(floor(x / scale + 0.5) + zero_point, qmin, qmax)``: ties round up (towards +inf), not to even
    as ``np.round`` does, so that the Python runtime, the golden vectors and the app cores (Java, Swift) give the
    same integers.

    Parameters
    ----------
    x : numpy.ndarray
        Float values in the model's input domain (any shape, e.g. ``(1, H, W, C)`` NHWC).
    scale : float
        Quantization scale of the tensor (``> 0``).
    zero_point : int
        Quantization zero point.
    dtype : numpy dtype
        ``np.int8`` or ``np.uint8`` (any integer dtype; its range gives ``qmin``/``qmax``).

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``, ``dtype``. The division is done in float64.
    """
    info = np.iinfo(dtype)
    q = np.floor(np.asarray(x, dtype=np.float64) / scale + 0.5) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def foreground_probability(output: np.ndarray, out_spec: OutputSpec, input_hw: tuple[int, int]) -> np.ndarray:
    """Foreground probability map from one raw model output, as the contract decodes it.

    Binary contracts: the probability of channel ``out_spec.foreground_index``
    (or of the single sigmoid / logistic channel). For K-class models the
    task-aware foreground (``1 - p(background)``) is
    :meth:`mobile_kit.tasks.base.Task.foreground_probability`.

    Parameters
    ----------
    output : numpy.ndarray
        One output without the batch axis: ``(h, w, C)``, ``(h, w)`` or a flat
        ``(h*w*C,)`` vector (PrismaNet-style), float32 (dequantized).
    out_spec : OutputSpec
        How to read it (softmax / sigmoid / logits, foreground channel).
    input_hw : (int, int)
        Model input size, used to un-flatten a flat output.

    Returns
    -------
    numpy.ndarray
        ``(h, w)`` float32 p(foreground) in 0..1.
    """
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 1:
        h, w = input_hw
        if out.size % (h * w):
            raise ValueError(f"flat output of {out.size} values does not reshape to {h}x{w}xC")
        out = out.reshape(h, w, out.size // (h * w))
    if out.ndim == 2:
        out = out[:, :, None]
    c = out.shape[-1]
    if c == 1:
        p = out[:, :, 0]
        if out_spec.kind == "logits":
            p = 1.0 / (1.0 + np.exp(-p))
        return p.astype(np.float32)
    if out_spec.kind == "logits":
        out = _softmax(out)
    return out[:, :, out_spec.foreground_index].astype(np.float32)


def class_probabilities(output: np.ndarray, out_spec: OutputSpec, input_hw: tuple[int, int]) -> np.ndarray:
    """Class probabilities ``(h, w, C)`` float32 from one raw model output.

    ``softmax``: as is; ``logits``: softmax over the channel axis (C > 1); a
    one-channel ``sigmoid``/``logits`` output p becomes two channels ``(1 - p, p)``.
    """
    out = np.asarray(output, dtype=np.float32)
    if out.ndim == 1:
        h, w = input_hw
        out = out.reshape(h, w, out.size // (h * w))
    if out.ndim == 2:
        out = out[:, :, None]
    if out.shape[-1] == 1:
        p = foreground_probability(out, out_spec, input_hw)
        return np.stack([1.0 - p, p], axis=-1).astype(np.float32)
    if out_spec.kind == "logits":
        out = _softmax(out)
    return out.astype(np.float32)


def upsample_probabilities(probs: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize ``(h, w, C)`` class probabilities to ``(H, W, C)`` (bilinear, per channel)."""
    if probs.shape[:2] == tuple(hw):
        return probs
    out = cv2.resize(probs, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
    return out[:, :, None] if out.ndim == 2 else out


def upsample_probability(prob: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize a ``(h, w)`` probability map to the photo's ``(H, W)`` (bilinear)."""
    if prob.shape[:2] == tuple(hw):
        return prob
    return cv2.resize(prob, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
