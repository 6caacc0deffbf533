"""Segment photos and write masks, portrait-mode effects or part overlays at each photo's resolution.

The effects a model offers come from its task (:attr:`mobile_kit.tasks.base.Task.effects`): portrait effects
work on the foreground probability (the foreground class of a binary task, any non-background class of a
K-class one); ``parts`` and
``labels`` work on the class map.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.effects.parts import CLASS_EFFECTS
from mobile_kit.effects.portrait import EFFECTS, apply_effect
from mobile_kit.errors import DatasetError, MobileKitError, UnknownNameError
from mobile_kit.fileio import atomic_write_bytes
from mobile_kit.progress import NullProgress, Progress


@dataclass
class Prediction:
    """One photo's outcome: the file written, or (``error`` set, ``output`` None) why it was skipped."""

    source: str
    output: Path | None
    effect: str
    height: int
    width: int
    foreground_fraction: float
    error: str | None = None
    class_fractions: dict | None = None

    def to_dict(self) -> dict:
        d = {"source": self.source, "output": None if self.output is None else str(self.output),
             "effect": self.effect, "height": self.height, "width": self.width,
             "foreground_fraction": self.foreground_fraction}
        if self.error is not None:
            d["error"] = self.error
        if self.class_fractions is not None:
            d["class_fractions"] = self.class_fractions
        return d


def _write_image(path: Path, img: np.ndarray) -> Path:
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix, bgr)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the image")
    return atomic_write_bytes(path, buf.tobytes())


def output_stems(names: list[str]) -> list[str]:
    """One distinct file stem per photo: ``photo``, then ``photo-2``, ``photo-3`` for same-named photos.

    Photos from different folders often share a name (``a/IMG_0001.jpg``,
    ``b/IMG_0001.jpg``); numbering them in input order keeps every output.
    A stem is never reused, also when a photo is literally named ``photo-2``.
    """
    used: set[str] = set()
    stems = []
    for name in names:
        base = Path(name).stem or "image"
        stem, k = base, 1
        while stem.lower() in used:  # case-insensitive: macOS/Windows file systems
            k += 1
            stem = f"{base}-{k}"
        used.add(stem.lower())
        stems.append(stem)
    return stems


def _load(item) -> tuple[str, np.ndarray]:
    from mobile_kit.data.dataset import load_image

    if isinstance(item, (str, Path)):
        return str(item), load_image(item)
    return item


def predict(segmenter, images: list, out_dir: str | Path, effect: str = "mask",
            threshold: float | None = None, tta: str | None = None,
            progress: Progress = NullProgress()) -> list[Prediction]:
    """Segment ``images`` and write ``out_dir/<stem>_<effect>.png``.

    A batch: every readable photo is processed; one that cannot be read is
    returned with ``error`` set (and nothing written for it) instead of
    stopping the batch. Photos with the same file name get distinct outputs
    (:func:`output_stems`).

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
    images : list of path or (name, image)
        Photo files (read lazily, one at a time), or ``(name, image)`` pairs
        where ``image`` is ``(H, W, 3)`` uint8 RGB and ``name``'s stem names the output.
    effect : str
        One of the model's task's effects. ``mask``: 0/255 PNG; ``overlay``: tinted
        foreground with outline; ``blur``: portrait mode (see :func:`mobile_kit.effects.portrait_blur`);
        multi-class models also ``parts`` (colour overlay with legend) and ``labels`` (class-id PNG).
    threshold : float, optional
        Foreground probability threshold in 0..1 (default: the model's).
    tta : {None, "flip", "scales", "flip+scales"}
        Test-time augmentation (:mod:`mobile_kit.tta`).

    Returns
    -------
    list of Prediction
        In input order; failed photos have ``error`` set and ``output`` None.

    Raises
    ------
    UnknownNameError
        Unknown ``effect``.
    MobileKitError
        ``threshold`` outside 0..1.
    """
    from mobile_kit.tasks import task_of

    task = task_of(segmenter.metadata)
    if effect not in task.effects or effect not in {**EFFECTS, **CLASS_EFFECTS}:
        raise UnknownNameError(f"effect for a {task.description} model", effect, task.effects)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise MobileKitError(f"--threshold: expected a probability in 0..1, found {threshold}")
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    out_dir = Path(out_dir)
    names = [str(i) if isinstance(i, (str, Path)) else i[0] for i in images]
    results = []
    with progress.task("segmenting", len(images)) as t:
        for item, stem in zip(images, output_stems(names)):
            try:
                name, img = _load(item)
            except DatasetError as e:
                results.append(Prediction(str(item), None, effect, 0, 0, float("nan"), error=str(e)))
                t.advance()
                continue
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
            path = _write_image(out_dir / f"{stem}_{effect}.png", res)
            results.append(Prediction(name, path, effect, img.shape[0], img.shape[1], float(np.mean(prob > thr)),
                                      class_fractions=fractions))
            t.advance()
    return results
