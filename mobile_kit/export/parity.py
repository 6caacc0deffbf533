"""Parity of an exported artifact against its source Keras model.

Both run on the same fixed real inputs; the report gives the max and mean
absolute difference of p(person) and the IoU of the thresholded masks.
"""
from __future__ import annotations

import numpy as np

from mobile_kit.preprocess import person_probability, to_model_input

#: fp32 TFLite reorders float32 arithmetic only (XNNPACK kernels): ~1e-6 seen.
FP32_MAX_ABS = 1e-5
#: fp16 weights keep ~3 significant digits. A correct fp16 export of the trained
#: built-in model moves p(person) by 3e-4 on average, but by up to 0.024-0.036 on a
#: few boundary pixels where p ~ 0.5 and the logit slope is steep (99.9th percentile
#: 0.006-0.016 on portrait-248, P3M and scikit-image photos), so a per-pixel max (or
#: even p99.9) bound of 1e-2 rejects correct exports. The bound is on the mean |dp|,
#: ten times tighter than 1e-2, with the mask IoU guarding the masks; max and p99.9
#: are reported. A broken export moves whole regions and fails both.
FP16_MEAN_ABS = 1e-3
FP16_MIN_MASK_IOU = 0.99
#: int8 moves probabilities near the boundary; judge the mask, not the values.
INT8_MIN_MASK_IOU = 0.97


def parity_report(keras_model, segmenter, images: list[np.ndarray], spec, out_spec, source: str) -> dict:
    """Compare a Keras model and an artifact on ``images``.

    Parameters
    ----------
    keras_model : tf_keras.Model
        The source model (float32).
    segmenter : mobile_kit.runtime.Segmenter
        The exported artifact with its contract.
    images : list of numpy.ndarray
        ``(H, W, 3)`` uint8 RGB photos.

    Returns
    -------
    dict
        ``max_abs``, ``p999_abs`` (99.9th percentile), ``mean_abs`` (on p(person), 0..1, at model resolution),
        ``mask_iou`` (pooled over images, threshold from ``out_spec``),
        ``min_image_mask_iou``, ``n_images``, ``inputs`` (where they came from).
    """
    from mobile_kit.eval.metrics import PooledIoU, binary_iou

    diffs, means, ious, all_d = [], [], [], []
    pooled = PooledIoU()
    for img in images:
        x = to_model_input(img, spec)
        ref = person_probability(keras_model(x[None], training=False).numpy()[0], out_spec, spec.input_hw)
        got = person_probability(segmenter.run(x), segmenter.output_spec, spec.input_hw)
        d = np.abs(ref - got)
        all_d.append(d.ravel())
        diffs.append(float(d.max()))
        means.append(float(d.mean()))
        a, b = ref > out_spec.threshold, got > out_spec.threshold
        pooled.update(b, a)
        ious.append(binary_iou(b, a))
    return {
        "n_images": len(images),
        "inputs": source,
        "max_abs": max(diffs),
        "p999_abs": float(np.percentile(np.concatenate(all_d), 99.9)),
        "mean_abs": float(np.mean(means)),
        "mask_iou": pooled.value,
        "min_image_mask_iou": min(ious),
    }


def max_abs_check(limit: float):
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["max_abs"] <= limit
        return ok, f"max |p - p_keras| = {rep['max_abs']:.3g} {'<=' if ok else '>'} {limit:g}"

    return check


def mean_and_mask_check(mean_limit: float, iou_limit: float):
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["mean_abs"] <= mean_limit and rep["mask_iou"] >= iou_limit
        return ok, (f"mean |p - p_keras| = {rep['mean_abs']:.3g} {'<=' if rep['mean_abs'] <= mean_limit else '>'} "
                    f"{mean_limit:g} (p99.9 {rep['p999_abs']:.3g}, max {rep['max_abs']:.3g}), mask IoU "
                    f"{rep['mask_iou']:.4f} {'>=' if rep['mask_iou'] >= iou_limit else '<'} {iou_limit:g}")

    return check


def mask_iou_check(limit: float):
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["mask_iou"] >= limit
        return ok, f"mask IoU vs Keras = {rep['mask_iou']:.4f} {'>=' if ok else '<'} {limit:g}"

    return check
