"""``person``: binary person segmentation (background, person), the toolkit's original task.

Ground truth: binary masks in ``masks/`` (0/255 or 0/1). Loss: cross-entropy
(or focal) + soft Dice of the person channel. Output: p(person), thresholded
(default 0.5). Metrics: person IoU per image and pooled, mIoU over
{background, person}. Effects: mask, overlay, portrait blur. Export heads:
softmax, sigmoid (exact for two classes), logits.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import OutputSpec
from mobile_kit.tasks import register_task
from mobile_kit.tasks.base import Task

LABELS = ("background", "person")


@dataclass
class EvalResult:
    """Accuracy figures of a person model on one set of images.

    Attributes
    ----------
    person_iou : float
        Mean over images of the person-class IoU (0..1).
    miou : float
        Mean over images of the per-image mIoU over {background, person}
        (classes present in ground truth or prediction).
    person_iou_pooled : float
        Person IoU with intersections/unions summed over all pixels.
    per_image : list of dict
        ``{"stem", "person_iou", "miou"}`` per image.
    """

    model: str
    data: str
    split: str
    n_images: int
    person_iou: float
    miou: float
    person_iou_pooled: float
    threshold: float
    per_image: list[dict] = field(default_factory=list)
    task: str = "person"

    def summary(self) -> dict:
        return {k: v for k, v in self.to_dict().items() if k != "per_image"}

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "model": self.model,
            "data": self.data,
            "split": self.split,
            "n_images": self.n_images,
            "person_iou": self.person_iou,
            "miou": self.miou,
            "person_iou_pooled": self.person_iou_pooled,
            "threshold": self.threshold,
            "per_image": self.per_image,
        }

    def table(self) -> dict:
        """Rows of the readable report (``eval`` prints them)."""
        return {"images": self.n_images, "person IoU (mean per image)": self.person_iou,
                "mIoU (mean per image)": self.miou, "person IoU (pooled)": self.person_iou_pooled,
                "threshold": self.threshold}

    @property
    def headline(self) -> float:
        return self.person_iou


def evaluate_pairs(segmenter, pairs, threshold: float | None = None, progress: Progress = NullProgress(),
                   tta: str | None = None) -> tuple[list[dict], float]:
    """Per-image figures and pooled person IoU for ``pairs`` at each image's resolution."""
    from mobile_kit.data.dataset import load_pair
    from mobile_kit.eval.metrics import PooledIoU, binary_iou, per_image_miou

    thr = segmenter.output_spec.threshold if threshold is None else threshold
    foreground = PersonTask.from_metadata(segmenter.metadata).foreground
    pooled = PooledIoU()
    rows = []
    with progress.task("evaluating", len(pairs)) as t:
        for pair in pairs:
            img, gt = load_pair(pair)
            prob = segmenter.probability(img) if not tta else foreground(segmenter.probabilities(img, tta=tta))
            pred = prob > thr
            gt = gt.astype(bool)
            rows.append({
                "stem": pair.stem,
                "person_iou": binary_iou(pred, gt),
                "miou": per_image_miou(pred.astype(np.uint8), gt.astype(np.uint8), 2),
            })
            pooled.update(pred, gt)
            t.advance()
    return rows, pooled.value


@register_task("person")
class PersonTask(Task):
    """Binary person segmentation."""

    name = "person"
    labels = LABELS
    heads = ("softmax", "sigmoid", "logits")
    target_dirs = ("masks",)
    primary_metric = "val_person_iou"
    effects = ("mask", "overlay", "blur")
    description = "person segmentation"
    help = "binary masks in masks/"
    builtin = "builtin"  # likeunet trained on portrait-248 (the default built-in model)
    builtin_help = "likeunet on portrait-248"
    headline_metric = "person_iou"
    headline_label = "person IoU"
    foreground_index = 1
    multi_class = False
    result_type = EvalResult
    supports_recipe = True  # mobile_kit.recipe (multi-dataset, distillation, ...) builds binary person targets
    #: ``--data ccp:PATH`` reads Clothing Co-Parsing as binary person (carried bags count as person, see the map)
    source_label_maps = {"ccp": "ccp-person"}

    def __init__(self, label_map=None, data=None, **config):
        from mobile_kit.errors import MobileKitError

        if label_map is not None:
            raise MobileKitError(f"--label-map {label_map}: expected only with a multi-class task (--task parsing); "
                                 "the person task has the fixed labels background, person")

    def output_spec(self) -> OutputSpec:
        return OutputSpec(kind="softmax", labels=LABELS, foreground_index=1, threshold=0.5)

    def config(self) -> dict:
        return {"name": self.name}

    def load_target(self, path, hw=None, check_complete: bool = True) -> np.ndarray:
        from mobile_kit.data.dataset import load_mask

        return load_mask(path, hw, check_complete)

    def dice_channels(self):
        return (self.foreground_index,)

    def val_score(self, probs: np.ndarray, y: np.ndarray, thr: float = 0.5) -> float:
        from mobile_kit.eval.metrics import binary_iou

        return float(np.mean([binary_iou(p[..., 1] > thr, m[..., 0] > 0.5) for p, m in zip(probs, y)]))

    def decode(self, probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (probs[..., self.foreground_index] > threshold).astype(np.uint8)

    def foreground(self, probs: np.ndarray) -> np.ndarray:
        """p(person) ``(H, W)`` from class probabilities ``(H, W, 2)``."""
        return probs[..., self.foreground_index]

    def foreground_probability(self, output: np.ndarray, out_spec: OutputSpec, input_hw) -> np.ndarray:
        """p(person) ``(h, w)`` float32 from one raw output: the contract's ``foreground_index`` channel (or the
        single sigmoid/logistic channel), as the demo apps decode it."""
        from mobile_kit.preprocess import foreground_probability

        return foreground_probability(output, out_spec, input_hw)

    def val_figures(self, segmenter, pairs, progress: Progress = NullProgress()) -> dict:
        """Validation person IoU / mIoU at each image's own resolution (stored in metadata ``metrics.val``)."""
        rows, pooled = evaluate_pairs(segmenter, pairs, progress=progress)
        return {"split": "val", "n_images": len(rows), "person_iou": float(np.mean([r["person_iou"] for r in rows])),
                "miou": float(np.mean([r["miou"] for r in rows])), "person_iou_pooled": pooled,
                "resolution": "each image's own"}

    def evaluate(self, segmenter, pairs, threshold=None, progress: Progress = NullProgress(), model: str = "",
                 data: str = "", split: str = "all", tta: str | None = None, **options) -> EvalResult:
        rows, pooled = evaluate_pairs(segmenter, pairs, threshold, progress, tta=tta)
        thr = segmenter.output_spec.threshold if threshold is None else threshold
        return EvalResult(model=model, data=data, split=split, n_images=len(rows),
                          person_iou=float(np.mean([r["person_iou"] for r in rows])),
                          miou=float(np.mean([r["miou"] for r in rows])), person_iou_pooled=pooled, threshold=thr,
                          per_image=rows)

    @classmethod
    def from_metadata(cls, metadata) -> "PersonTask":
        t = cls()
        out = metadata.output  # third-party models may hold the person in another channel; 1 channel -> (1-p, p)
        t.foreground_index = out.foreground_index if len(out.labels) > 1 else 1
        return t
