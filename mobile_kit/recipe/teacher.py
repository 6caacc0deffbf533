"""Teacher probabilities for knowledge distillation, computed once per photo.

The teacher is any model our runtime opens (:func:`mobile_kit.runtime.load_segmenter`)
with its *own* contract: a run folder or ``.keras`` / ``.tflite`` / ``.onnx``
with ``metadata.json`` beside it, or a third-party ``.tflite`` with the
contract given as ``input_norm`` / ``output_kind`` (MediaPipe selfie:
``0..1`` and ``sigmoid``).

Geometric augmentation cannot be replayed offline, so the teacher's
probability is computed at the photo's (cached) resolution and then carried
through the augmentation as a second mask channel: crops, flips and zooms move
it exactly like the ground-truth mask (Hinton et al., "Distilling the Knowledge
in a Neural Network", 2015, with the soft targets stored as a dense map).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobile_kit.progress import NullProgress, Progress


@dataclass(frozen=True)
class TeacherSpec:
    """``--teacher`` and, for a model without ``metadata.json``, its contract."""

    path: Path
    input_norm: str | None = None
    output_kind: str | None = None
    licence: str | None = None

    def to_dict(self) -> dict:
        return {"path": str(self.path), "input_norm": self.input_norm, "output_kind": self.output_kind,
                "licence": self.licence}


def open_teacher(spec: TeacherSpec, num_threads: int | None = 2):
    """Open the teacher through the runtime (raises ``ModelError`` for a missing file or contract)."""
    from mobile_kit.runtime import load_segmenter

    return load_segmenter(spec.path, spec.input_norm, spec.output_kind, num_threads=num_threads)


def teacher_probabilities(segmenter, images: list[np.ndarray], progress: Progress = NullProgress(),
                          label: str = "teacher") -> list[np.ndarray]:
    """p(foreground) of the teacher for each photo, at the photo's resolution.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
    images : list of numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.

    Returns
    -------
    list of numpy.ndarray
        ``(H, W)`` uint8, probability x 255 (rounded; 1/510 quantisation error
        is far below the teacher's own uncertainty and keeps memory at 1 byte
        per pixel).
    """
    out = []
    with progress.task(f"{label} probabilities", len(images)) as bar:
        for img in images:
            p = segmenter.probability(img, full_resolution=True)
            out.append(np.clip(np.round(p * 255.0), 0, 255).astype(np.uint8))
            bar.advance()
    return out
