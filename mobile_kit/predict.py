"""Segment photos and write masks or portrait-mode effects at each photo's resolution."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

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

    def to_dict(self) -> dict:
        return {"source": self.source, "output": str(self.output), "effect": self.effect,
                "height": self.height, "width": self.width, "person_fraction": self.person_fraction}


def _write_image(path: Path, img: np.ndarray) -> Path:
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix, bgr)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the image")
    return atomic_write_bytes(path, buf.tobytes())


def predict(segmenter, images: list[tuple[str, np.ndarray]], out_dir: str | Path, effect: str = "mask",
            threshold: float | None = None, progress: Progress = NullProgress()) -> list[Prediction]:
    """Segment ``images`` and write ``out_dir/<name>_<effect>.png``.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
    images : list of (name, image)
        ``image`` is ``(H, W, 3)`` uint8 RGB; ``name`` becomes the file stem.
    effect : {"mask", "overlay", "blur"}
        ``mask``: 0/255 PNG; ``overlay``: tinted person with outline;
        ``blur``: portrait mode (see :func:`mobile_kit.effects.portrait_blur`).

    Returns
    -------
    list of Prediction
    """
    if effect not in EFFECTS:
        raise UnknownNameError("effect", effect, EFFECTS)
    thr = segmenter.output_spec.threshold if threshold is None else threshold
    out_dir = Path(out_dir)
    results = []
    with progress.task("segmenting", len(images)) as t:
        for name, img in images:
            prob = segmenter.probability(img)
            res = apply_effect(effect, img, prob, thr)
            path = _write_image(out_dir / f"{Path(name).stem}_{effect}.png", res)
            results.append(Prediction(name, path, effect, img.shape[0], img.shape[1], float(np.mean(prob > thr))))
            t.advance()
    return results
