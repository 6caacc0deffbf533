"""One verification module: export, import and fold parity, with named tolerances.

Every check compares a *reference* (the source Keras model, onnxruntime, the
unfolded model) with a *candidate* (an exported artifact, the imported TFLite,
the folded model) on the same fixed inputs and returns a report ``dict`` plus a
``(passed, criterion)`` verdict from a named check. Tolerances live here, each
with the reason for its value; callers raise their own error class
(:class:`~mobile_kit.errors.ParityError`, :class:`~mobile_kit.errors.ModelError`).
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

# --- tolerances -------------------------------------------------------------------------------------------------

#: fp32 TFLite/ONNX reorder float32 arithmetic only (XNNPACK kernels, fused ops): ~1e-6 seen on p(foreground).
FP32_MAX_ABS = 1e-5
#: fp16 weights keep ~3 significant digits. A correct fp16 export of the trained
#: built-in model moves p(foreground) by 3e-4 on average, but by up to 0.024-0.036 on a
#: few boundary pixels where p ~ 0.5 and the logit slope is steep (99.9th percentile
#: 0.006-0.016 on portrait-248, P3M and scikit-image photos), so a per-pixel max (or
#: even p99.9) bound of 1e-2 rejects correct exports. The bound is on the mean |dp|,
#: ten times tighter than 1e-2, with the mask IoU guarding the masks; max and p99.9
#: are reported. A broken export moves whole regions and fails both.
FP16_MEAN_ABS = 1e-3
#: fp16 moves only boundary pixels whose p is within ~0.03 of the threshold.
FP16_MIN_MASK_IOU = 0.99
#: int8 moves probabilities near the boundary; judge the mask, not the values.
INT8_MIN_MASK_IOU = 0.97
#: K-class (parsing) fp32 (TFLite, ONNX): with max |dp| <= 1e-5 an argmax can flip only where the two top classes
#: are within 2e-5 of each other; builtin:parsing on 8 CCP photos agrees on 100.000% of pixels (ONNX and TFLite).
FP32_MIN_CLASS_AGREEMENT = 0.999
#: K-class fp16 (TFLite fp16, Core ML on macOS): flips only pixels whose two top classes are within ~1e-2;
#: builtin:parsing tflite-fp16 on 8 CCP photos agrees on 99.987% (worst photo 99.970%).
FP16_MIN_CLASS_AGREEMENT = 0.99
#: K-class (parsing) int8: judge the class maps. int8 flips pixels where two classes are near-tied (part
#: boundaries, thin accessories): a correct export agrees on >= 95% of pixels; a broken one scrambles whole parts.
INT8_MIN_CLASS_AGREEMENT = 0.95
#: Folding ACNet branches and BatchNorm only reorders float32 arithmetic (~1e-6 seen); relative to max(1, |y|).
FOLD_MAX_ABS = 1e-4
#: onnx2tf rewrites the graph op by op (NCHW -> NHWC transposes, fused ops): float32
#: reordering only, ~2e-6 relative seen on SINet; relative to max |onnxruntime output|.
IMPORT_MAX_REL = 1e-4
#: Embedding the contract (TFLite metadata, ONNX metadata_props) must not touch the graph: bit-identical outputs.
EMBED_MAX_ABS = 0.0


# --- reports ----------------------------------------------------------------------------------------------------

def raw_parity(reference: Callable[[np.ndarray], np.ndarray], candidate: Callable[[np.ndarray], np.ndarray],
               inputs: Iterable[np.ndarray], source: str) -> dict:
    """Compare two functions' raw outputs on the same inputs.

    Parameters
    ----------
    reference, candidate : callable
        ``f(x) -> numpy.ndarray``; outputs of one input must have the same shape.
    inputs : iterable of numpy.ndarray
        Model inputs (any layout the callables accept), float32.
    source : str
        Where the inputs came from (recorded in the report).

    Returns
    -------
    dict
        ``max_abs`` (largest |candidate - reference|), ``mean_abs``, ``max_abs_reference``
        (largest |reference|), ``max_rel`` (``max_abs / max_abs_reference``), ``n_inputs``, ``inputs``.

    Raises
    ------
    ValueError
        If the two outputs of an input differ in shape (the caller names the model).
    """
    diffs, means, refs, n = [], [], [], 0
    for x in inputs:
        ref = np.asarray(reference(x), np.float64)
        got = np.asarray(candidate(x), np.float64)
        if ref.shape != got.shape:
            raise ValueError(f"output shape {got.shape} differs from the reference's {ref.shape}")
        d = np.abs(got - ref)
        diffs.append(float(d.max()))
        means.append(float(d.mean()))
        refs.append(float(np.abs(ref).max()))
        n += 1
    peak = max(refs) if refs else 0.0
    return {"n_inputs": n, "inputs": source, "max_abs": max(diffs) if diffs else 0.0,
            "mean_abs": float(np.mean(means)) if means else 0.0, "max_abs_reference": peak,
            "max_rel": (max(diffs) / max(peak, 1e-12)) if diffs else 0.0}


def probability_parity(reference: Callable[[np.ndarray], np.ndarray], reference_spec,
                       candidate: Callable[[np.ndarray], np.ndarray], candidate_spec,
                       images: list[np.ndarray], spec, source: str) -> dict:
    """Compare the class probabilities of two models on photos (the export parity report).

    Binary contracts are compared on p(foreground) (channel ``foreground_index``); models with more
    classes on all class probabilities, with ``mask_iou`` on the foreground (argmax not class 0)
    and ``class_agreement`` (fraction of pixels with the same argmax class).

    Parameters
    ----------
    reference, candidate : callable
        ``f(x) -> raw output`` for one normalised ``(h, w, C)`` float32 NHWC input.
    reference_spec, candidate_spec : OutputSpec
        How each raw output becomes p(foreground) (heads may differ, e.g. softmax vs sigmoid).
    images : list of numpy.ndarray
        ``(H, W, 3)`` uint8 RGB photos.
    spec : InputSpec
        Input contract both share.

    Returns
    -------
    dict
        ``max_abs``, ``p999_abs`` (99.9th percentile), ``mean_abs`` (on p(foreground), 0..1, at model resolution),
        ``mask_iou`` (pooled over images, threshold from ``reference_spec``),
        ``min_image_mask_iou``, ``n_images``, ``inputs`` (where they came from).
    """
    from mobile_kit.eval.metrics import PooledIoU, binary_iou
    from mobile_kit.preprocess import class_probabilities, foreground_probability, to_model_input

    multi = len(reference_spec.labels) > 2
    diffs, means, ious, all_d, agree = [], [], [], [], []
    pooled = PooledIoU()
    for img in images:
        x = to_model_input(img, spec)
        if multi:
            ref = class_probabilities(reference(x), reference_spec, spec.input_hw)
            got = class_probabilities(candidate(x), candidate_spec, spec.input_hw)
            ca, cb = ref.argmax(-1), got.argmax(-1)
            agree.append(float(np.mean(ca == cb)))
            a, b = ca > 0, cb > 0
        else:
            ref = foreground_probability(reference(x), reference_spec, spec.input_hw)
            got = foreground_probability(candidate(x), candidate_spec, spec.input_hw)
            a, b = ref > reference_spec.threshold, got > reference_spec.threshold
        d = np.abs(ref - got)
        all_d.append(d.ravel())
        diffs.append(float(d.max()))
        means.append(float(d.mean()))
        pooled.update(b, a)
        ious.append(binary_iou(b, a))
    extra = {"class_agreement": float(np.mean(agree)), "min_image_class_agreement": min(agree)} if multi else {}
    return {
        **extra,
        "n_images": len(images),
        "inputs": source,
        "max_abs": max(diffs),
        "p999_abs": float(np.percentile(np.concatenate(all_d), 99.9)),
        "mean_abs": float(np.mean(means)),
        "mask_iou": pooled.value,
        "min_image_mask_iou": min(ious),
    }


def parity_report(keras_model, segmenter, images: list[np.ndarray], spec, out_spec, source: str) -> dict:
    """Export parity: a Keras model (``out_spec``) against a :class:`~mobile_kit.runtime.Segmenter`.

    See :func:`probability_parity` for the report's fields.
    """
    return probability_parity(lambda x: keras_model(x[None], training=False).numpy()[0], out_spec,
                              segmenter.run, segmenter.output_spec, images, spec, source)


# --- named checks: report -> (passed, criterion) ----------------------------------------------------------------

def _class_map_clause(rep: dict, limit: float) -> tuple[bool, str]:
    """K-class reports (those with ``class_agreement``): ``(agreement >= limit, text)``; others: ``(True, "")``."""
    if "class_agreement" not in rep:
        return True, ""
    ok = rep["class_agreement"] >= limit
    return ok, (f"; class-map agreement vs Keras = {rep['class_agreement']:.4f} {'>=' if ok else '<'} {limit:g} "
                f"(worst image {rep['min_image_class_agreement']:.4f})")


def max_abs_check(limit: float, class_limit: float = FP32_MIN_CLASS_AGREEMENT):
    """Pass when ``max_abs <= limit`` (fp32 artifacts); for K-class models also when
    ``class_agreement >= class_limit`` (the argmax class maps agree)."""
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["max_abs"] <= limit
        cls_ok, cls_text = _class_map_clause(rep, class_limit)
        return ok and cls_ok, f"max |p - p_keras| = {rep['max_abs']:.3g} {'<=' if ok else '>'} {limit:g}{cls_text}"

    return check


def mean_and_mask_check(mean_limit: float, iou_limit: float, class_limit: float = FP16_MIN_CLASS_AGREEMENT):
    """Pass when ``mean_abs <= mean_limit`` and ``mask_iou >= iou_limit`` (fp16 artifacts); for K-class models
    also when ``class_agreement >= class_limit``."""
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["mean_abs"] <= mean_limit and rep["mask_iou"] >= iou_limit
        cls_ok, cls_text = _class_map_clause(rep, class_limit)
        return ok and cls_ok, (
            f"mean |p - p_keras| = {rep['mean_abs']:.3g} {'<=' if rep['mean_abs'] <= mean_limit else '>'} "
            f"{mean_limit:g} (p99.9 {rep['p999_abs']:.3g}, max {rep['max_abs']:.3g}), mask IoU "
            f"{rep['mask_iou']:.4f} {'>=' if rep['mask_iou'] >= iou_limit else '<'} {iou_limit:g}{cls_text}")

    return check


def mask_iou_check(limit: float, class_limit: float = INT8_MIN_CLASS_AGREEMENT):
    """Pass when the pooled ``mask_iou >= limit`` (int8 artifacts); for K-class models when
    ``class_agreement >= class_limit`` (the class maps agree)."""
    def check(rep: dict) -> tuple[bool, str]:
        if "class_agreement" in rep:
            ok = rep["class_agreement"] >= class_limit
            return ok, (f"class-map agreement vs Keras = {rep['class_agreement']:.4f} {'>=' if ok else '<'} "
                        f"{class_limit:g} (foreground mask IoU {rep['mask_iou']:.4f})")
        ok = rep["mask_iou"] >= limit
        return ok, f"mask IoU vs Keras = {rep['mask_iou']:.4f} {'>=' if ok else '<'} {limit:g}"

    return check


def relative_max_abs_check(limit: float, what: str = "candidate - reference"):
    """Pass when ``max_abs <= limit * max(1, max_abs_reference)`` (folding: outputs of any scale)."""
    def check(rep: dict) -> tuple[bool, str]:
        bound = limit * max(1.0, rep["max_abs_reference"])
        ok = rep["max_abs"] <= bound
        return ok, f"max |{what}| = {rep['max_abs']:.3g} {'<=' if ok else '>'} {bound:.3g} ({limit:g} x max(1, |y|))"

    return check


def max_rel_check(limit: float, what: str = "candidate - reference"):
    """Pass when ``max_abs / max |reference| <= limit`` (import: logits of any scale)."""
    def check(rep: dict) -> tuple[bool, str]:
        ok = rep["max_rel"] <= limit
        return ok, f"max |{what}| / max |reference| = {rep['max_rel']:.3g} {'<=' if ok else '>'} {limit:g}"

    return check
