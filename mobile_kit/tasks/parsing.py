"""``parsing``: K-class human parsing (body parts, garments).

Ground truth: class-id PNGs in ``labels/`` (or ``masks/``), optionally
regrouped by a label map (:mod:`mobile_kit.tasks.label_map`). Loss:
cross-entropy (or focal) + soft Dice averaged over all classes. Output: class
probabilities, decoded by argmax. Metrics as in the body-part contest:
per-class IoU (pooled over the set), per-image mIoU over the classes present
in ground truth or prediction (optionally excluding classes such as
background), pixel accuracy. Effects: ``parts`` (colour overlay with legend),
``labels`` (class-id PNG). Export heads: softmax and logits; a sigmoid head
cannot reproduce a K-class softmax and is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.errors import DatasetError, MobileKitError
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import OutputSpec
from mobile_kit.tasks import register_task
from mobile_kit.tasks.base import Task
from mobile_kit.tasks.label_map import LabelMap, dataset_classes, flip_pairs_from_names, load_label_map


@dataclass
class ParsingEvalResult:
    """Accuracy figures of a parsing model on one set of images (contest conventions).

    Attributes
    ----------
    miou : float
        Mean over images of the per-image mIoU over the classes present in
        ground truth or prediction, without ``excluded`` classes (0..1).
    miou_all_classes : float
        The same with every class counted (background included).
    per_class_iou : dict
        Class name -> IoU pooled over all pixels of all images (None: class in neither).
    pixel_accuracy : float
        Fraction of pixels whose class is right, pooled.
    """

    model: str
    data: str
    split: str
    n_images: int
    labels: list
    excluded: list
    miou: float
    miou_all_classes: float
    pooled_miou: float
    pixel_accuracy: float
    per_class_iou: dict
    tta: str | None = None
    per_image: list[dict] = field(default_factory=list)
    task: str = "parsing"

    def to_dict(self) -> dict:
        return {"task": self.task, "model": self.model, "data": self.data, "split": self.split,
                "n_images": self.n_images, "labels": self.labels, "excluded": self.excluded, "miou": self.miou,
                "miou_all_classes": self.miou_all_classes, "pooled_miou": self.pooled_miou,
                "pixel_accuracy": self.pixel_accuracy, "per_class_iou": self.per_class_iou, "tta": self.tta,
                "per_image": self.per_image}

    def summary(self) -> dict:
        return {k: v for k, v in self.to_dict().items() if k != "per_image"}

    def table(self) -> dict:
        ex = f" (without {', '.join(self.excluded)})" if self.excluded else ""
        return {"images": self.n_images, f"mIoU per image{ex}": self.miou,
                "mIoU per image (all classes)": self.miou_all_classes, "mIoU pooled": self.pooled_miou,
                "pixel accuracy": self.pixel_accuracy, "TTA": self.tta or "none"}

    def class_rows(self) -> list[list]:
        return [[name, "n/a" if v is None else round(v, 4)] for name, v in self.per_class_iou.items()]

    @property
    def headline(self) -> float:
        return self.miou


def _resolve_exclude(exclude, labels) -> list[int]:
    out = []
    for e in exclude or ():
        if isinstance(e, int) or (isinstance(e, str) and e.isdigit()):
            i = int(e)
        elif e in labels:
            i = list(labels).index(e)
        else:
            raise MobileKitError(f"--exclude: expected class names among {list(labels)}, found {e!r}")
        if not 0 <= i < len(labels):
            raise MobileKitError(f"--exclude: expected class indices 0..{len(labels) - 1}, found {i}")
        out.append(i)
    return out


@register_task("parsing")
class ParsingTask(Task):
    """K-class human parsing.

    Parameters
    ----------
    label_map : LabelMap or path, optional
        Groups source classes into model classes (``--label-map``).
    labels : sequence of str, optional
        Model classes when no label map is given (default: the dataset's ``classes.json``).
    data : path, optional
        Dataset whose ``classes.json`` names the source ids.
    flip_pairs : sequence of (left, right), optional
        Class names or indices a horizontal flip swaps (overrides the label map's).
    """

    name = "parsing"
    heads = ("softmax", "logits")
    target_dirs = ("labels", "masks")
    primary_metric = "val_miou"
    effects = ("parts", "labels", "mask", "overlay", "blur")
    description = "human parsing"
    help = "K classes from class-id PNGs in labels/, see --label-map"
    builtin = "builtin_parsing"  # likeunet trained on CCP with the ccp-8 grouping
    builtin_help = "likeunet on CCP, 8 body-part classes"
    headline_metric = "miou"
    headline_label = "mIoU"
    result_type = ParsingEvalResult

    def __init__(self, label_map=None, labels=None, data=None, flip_pairs=None, source_classes=None):
        if label_map is not None and not isinstance(label_map, LabelMap):
            label_map = load_label_map(label_map)
        self.map = label_map
        src = tuple(source_classes or ()) or (dataset_classes(data) if data is not None else ())
        if label_map is not None:
            self.labels = label_map.classes
            self.source_classes = src or label_map.source_classes
            self.flip_pairs = label_map.flip_pairs
        else:
            self.labels = tuple(labels or src)
            self.source_classes = src
            self.flip_pairs = ()
        if flip_pairs:
            self.flip_pairs = flip_pairs_from_names(flip_pairs, self.labels, "flip_pairs")
        if len(self.labels) < 2:
            raise DatasetError(f"{data or 'parsing task'}: expected at least 2 classes (a --label-map or the dataset's "
                               f"classes.json), found {len(self.labels)}")
        self._lut = label_map.lut(self.source_classes) if label_map is not None else None

    def output_spec(self) -> OutputSpec:
        # foreground_index: the channel single-mask consumers of a binary contract (v1 apps) read; for parsing the
        # foreground (the person) is every non-background class, which the effects compute from all channels.
        return OutputSpec(kind="softmax", labels=self.labels, foreground_index=min(1, len(self.labels) - 1),
                          threshold=0.5, label_map=self.label_map())

    def label_map(self) -> dict | None:
        return dict(self.map.mapping) if self.map is not None else None

    def load_target(self, path, hw=None, check_complete: bool = True) -> np.ndarray:
        from mobile_kit.data.dataset import load_label

        return load_label(path, hw, check_complete, lut=self._lut, num_classes=len(self.labels))

    def val_score(self, probs: np.ndarray, y: np.ndarray) -> float:
        from mobile_kit.eval.metrics import per_image_miou

        k = probs.shape[-1]
        return float(np.mean([per_image_miou(np.argmax(p, -1), m[..., 0].astype(np.int64), k)
                              for p, m in zip(probs, y)]))

    def foreground(self, probs: np.ndarray) -> np.ndarray:
        """p(any non-background class) ``(H, W)``: the person for portrait effects."""
        return 1.0 - probs[..., 0]

    def val_figures(self, segmenter, pairs, progress: Progress = NullProgress()) -> dict:
        r = self.evaluate(segmenter, pairs, progress=progress, split="val", exclude=("background",)
                          if "background" in self.labels else ())
        d = r.summary()
        return {"split": "val", "n_images": r.n_images, "miou": r.miou, "miou_all_classes": r.miou_all_classes,
                "pixel_accuracy": r.pixel_accuracy, "per_class_iou": d["per_class_iou"], "excluded": r.excluded,
                "resolution": "each image's own"}

    def evaluate(self, segmenter, pairs, threshold=None, progress: Progress = NullProgress(), model: str = "",
                 data: str = "", split: str = "all", exclude=(), tta: str | None = None,
                 **options) -> ParsingEvalResult:
        """Score class maps at each image's resolution (probabilities upsampled bilinearly, then argmax).

        ``exclude``: class names or indices left out of the per-image mIoU (e.g. ``background``).
        ``tta``: ``None``, ``flip``, ``scales`` or ``flip+scales`` (:func:`mobile_kit.runtime.Segmenter.probabilities`).
        """
        from mobile_kit.data.dataset import load_pair
        from mobile_kit.eval.metrics import confusion_matrix, miou_from_confusion, per_class_iou, pixel_accuracy

        k = len(self.labels)
        ex = _resolve_exclude(exclude, self.labels)
        pooled = np.zeros((k, k), np.int64)
        rows = []
        with progress.task("evaluating", len(pairs)) as t:
            for pair in pairs:
                img, gt = load_pair(pair, load_target=self.load_target)
                pred = np.argmax(segmenter.probabilities(img, tta=tta), axis=-1)
                cm = confusion_matrix(pred, gt, k)
                pooled += cm
                rows.append({"stem": pair.stem, "miou": miou_from_confusion(cm, ex),
                             "miou_all_classes": miou_from_confusion(cm), "pixel_accuracy": pixel_accuracy(cm)})
                t.advance()
        ious = per_class_iou(pooled)
        return ParsingEvalResult(
            model=model, data=data, split=split, n_images=len(rows), labels=list(self.labels),
            excluded=[self.labels[i] for i in ex], miou=float(np.mean([r["miou"] for r in rows])),
            miou_all_classes=float(np.mean([r["miou_all_classes"] for r in rows])),
            pooled_miou=miou_from_confusion(pooled, ex), pixel_accuracy=pixel_accuracy(pooled),
            per_class_iou={n: (None if np.isnan(v) else float(v)) for n, v in zip(self.labels, ious)},
            tta=tta, per_image=rows)

    @classmethod
    def from_metadata(cls, metadata) -> "ParsingTask":
        out = metadata.output
        cfg = metadata.task or {}
        lm = None
        if out.label_map:
            lm = LabelMap(tuple(out.labels), dict(out.label_map), tuple(cfg.get("source_classes") or ()),
                          flip_pairs_from_names(cfg.get("flip_pairs"), out.labels, "metadata task.flip_pairs"))
        return cls(label_map=lm, labels=out.labels, flip_pairs=cfg.get("flip_pairs"),
                   source_classes=cfg.get("source_classes"))

    def config(self) -> dict:
        # source_classes: with output.label_map, anyone can score the model on the source labels
        return {"name": self.name, "flip_pairs": [list(p) for p in self.flip_pairs],
                "source_classes": list(self.source_classes)}

