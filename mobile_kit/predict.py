"""Segment photos and write masks, portrait-mode effects or part overlays at each photo's resolution.

The effects a model offers come from its task (:attr:`mobile_kit.tasks.base.Task.effects`): portrait effects
work on the foreground probability (person, or any non-background class of a parsing model); ``parts`` and
``labels`` work on the class map.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.effects.parts import CLASS_EFFECTS
from mobile_kit.effects.portrait import EFFECTS, apply_effect
from mobile_kit.errors import UnknownNameError
from mobile_kit.fileio import atomic_write_bytes
from mobile_kit.progress import NullProgress, Progress


@dataclass
class Prediction:
    source: str
    output: Path
    effect: str
    height: int
    width: int
    person_fraction: float
    class_fractions: dict | None = None

    def to_dict(self) -> dict:
        d = {"source": self.source, "output": str(self.output), "effect": self.effect,
             "height": self.height, "width": self.width, "person_fraction": self.person_fraction}
        if self.class_fractions is not None:
            d["class_fractions"] = self.class_fractions
        return d


def _write_image(path: Path, img: np.ndarray) -> Path:
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix, bgr)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the image")
    return atomic_write_bytes(path, buf.tobytes())


def predict(segmenter, images: list[tuple[str, np.ndarray]], out_dir: str | Path, effect: str = "mask",
            threshold: float | None = None, tta: str | None = None,
            progress: Progress = NullProgress()) -> list[Prediction]:
    """Segment ``images`` and write ``out_dir/<name>_<effect>.png``.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
    images : list of (name, image)
        ``image`` is ``(H, W, 3)`` uint8 RGB; ``name`` becomes the file stem.
    effect : str
        One of the model's task's effects. ``mask``: 0/255 PNG; ``overlay``: tinted
        foreground with outline; ``blur``: portrait mode (see :func:`mobile_kit.effects.portrait_blur`);
        multi-class models also ``parts`` (colour overlay with legend) and ``labels`` (class-id PNG).
    tta : {None, "flip", "scales", "flip+scales"}
        Test-time augmentation (:mod:`mobile_kit.tta`).

    Raises
    ------
    UnknownNameError
        An effect the model's task does not offer.

    Returns
    -------
    list of Prediction
    """
    from mobile_kit.tasks import task_of

    task = task_of(segmenter.metadata)
    if effect not in task.effects or effect not in {**EFFECTS, **CLASS_EFFECTS}:
        raise UnknownNameError(f"effect for a {task.description} model", effect, task.effects)
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    out_dir = Path(out_dir)
    results = []
    with progress.task("segmenting", len(images)) as t:
        for name, img in images:
            probs = segmenter.probabilities(img, tta=tta)
            prob = task.foreground(probs)
            fractions = None
            if task.num_classes > 2:
                cmap = task.decode(probs)
                counts = np.bincount(cmap.ravel(), minlength=task.num_classes) / cmap.size
                fractions = {n: float(c) for n, c in zip(task.labels, counts)}
            if effect in CLASS_EFFECTS:
                res = CLASS_EFFECTS[effect](img, task.decode(probs), task.labels)
            else:
                res = apply_effect(effect, img, prob, thr)
            path = _write_image(out_dir / f"{Path(name).stem}_{effect}.png", res)
            results.append(Prediction(name, path, effect, img.shape[0], img.shape[1], float(np.mean(prob > thr)),
                                      fractions))
            t.advance()
    return results
