"""Metrics and evaluation of a model or artifact on a dataset."""
from mobile_kit.eval.metrics import binary_iou, per_image_miou
from mobile_kit.eval.evaluate import EvalResult, evaluate

__all__ = ["binary_iou", "per_image_miou", "EvalResult", "evaluate"]
