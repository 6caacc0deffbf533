"""Part areas from a parsing model: the body-part contest's product.

For each photo: every class's pixel count, its fraction of the photo and of
the body (all non-background pixels) and, given the subject's height, an
approximate area in cm^2.

Area assumption (documented, approximate): the subject stands upright, whole
body in the frame, roughly facing the camera from a distance large compared
with the body's depth (no strong perspective). The body's height in pixels
is the vertical extent of the non-background pixels (top of the head to the
sole); one pixel then spans ``height_cm / height_px`` cm in both directions,
so a part's area is ``pixels * (height_cm / height_px) ** 2``. This is the
*projected* (silhouette) area of the visible side, not the body-surface area;
hair and shoes count into the extent; a cropped or sitting subject, or a carried
bag below the feet, makes the figure wrong.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.errors import MobileKitError
from mobile_kit.fileio import atomic_write_text
from mobile_kit.progress import NullProgress, Progress

FORMATS = ("json", "csv")


@dataclass
class PartAreas:
    """One photo's part areas.

    Attributes
    ----------
    parts : dict
        Class name -> ``{"pixels", "fraction_of_image", "fraction_of_body", "area_cm2"}`` (``area_cm2``
        None without a height); background excluded.
    body_height_px : int
        Vertical extent of the non-background pixels (0 when none).
    cm_per_px : float or None
        ``height_cm / body_height_px``.
    """

    source: str
    width: int
    height: int
    body_pixels: int
    body_height_px: int
    height_cm: float | None
    cm_per_px: float | None
    parts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"source": self.source, "width": self.width, "height": self.height,
                "body_pixels": self.body_pixels, "body_height_px": self.body_height_px,
                "height_cm": self.height_cm, "cm_per_px": self.cm_per_px, "parts": self.parts}


def part_areas(class_map: np.ndarray, labels, height_cm: float | None = None, source: str = "") -> PartAreas:
    """Areas of each class in a class map ``(H, W)`` (class 0 = background).

    Parameters
    ----------
    class_map : numpy.ndarray
        ``(H, W)`` integer class ids in ``0..len(labels)-1`` at the photo's resolution.
    labels : sequence of str
        Class names in id order.
    height_cm : float, optional
        The subject's height in cm (> 0); enables ``area_cm2`` (see the module's assumption).

    Raises
    ------
    MobileKitError
        A non-positive ``height_cm``.
    """
    if height_cm is not None and not height_cm > 0:
        raise MobileKitError(f"--height-cm: expected a positive height in cm, found {height_cm}")
    h, w = class_map.shape
    k = len(labels)
    counts = np.bincount(class_map.ravel().astype(np.int64), minlength=k)
    fg = class_map > 0
    body = int(fg.sum())
    rows = np.flatnonzero(fg.any(axis=1))
    extent = int(rows[-1] - rows[0] + 1) if rows.size else 0
    cm_px = (height_cm / extent) if (height_cm and extent) else None
    parts = {}
    for i in range(1, k):
        n = int(counts[i])
        parts[labels[i]] = {"pixels": n, "fraction_of_image": n / class_map.size,
                            "fraction_of_body": (n / body) if body else 0.0,
                            "area_cm2": (n * cm_px ** 2) if cm_px else None}
    return PartAreas(source, w, h, body, extent, height_cm, cm_px, parts)


def measure(segmenter, images: list[tuple[str, np.ndarray]], height_cm: float | None = None,
            tta: str | None = None, progress: Progress = NullProgress()) -> list[PartAreas]:
    """Segment ``images`` with a multi-class model and measure each part.

    Parameters
    ----------
    segmenter : mobile_kit.runtime.Segmenter
        A model with more than two classes (e.g. ``builtin:parsing``).
    images : list of (name, image)
        ``(H, W, 3)`` uint8 RGB photos.
    height_cm : float, optional
        The subject's height, for approximate areas in cm^2.

    Raises
    ------
    MobileKitError
        A model with one foreground class only (nothing to measure per part).
    """
    from mobile_kit.tasks import task_of

    task = task_of(segmenter.metadata)
    if not task.multi_class:
        raise MobileKitError(f"{segmenter.path}: expected a multi-class (parsing) model for part areas, found a "
                             f"{task.description} model with classes {', '.join(task.labels)}")
    out = []
    with progress.task("measuring", len(images)) as t:
        for name, img in images:
            cmap = task.decode(segmenter.probabilities(img, tta=tta))
            out.append(part_areas(cmap, task.labels, height_cm, name))
            t.advance()
    return out


def to_csv(results: list[PartAreas]) -> str:
    """One row per photo and part: source, part, pixels, fractions, area_cm2 (empty without a height)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["source", "part", "pixels", "fraction_of_image", "fraction_of_body", "area_cm2",
                "body_height_px", "height_cm"])
    for r in results:
        for part, v in r.parts.items():
            w.writerow([r.source, part, v["pixels"], f"{v['fraction_of_image']:.6f}", f"{v['fraction_of_body']:.6f}",
                        "" if v["area_cm2"] is None else f"{v['area_cm2']:.1f}", r.body_height_px,
                        "" if r.height_cm is None else r.height_cm])
    return buf.getvalue()


def write_results(results: list[PartAreas], out: str | Path) -> Path:
    """Write ``out`` as JSON or CSV by its suffix (atomically).

    Raises
    ------
    MobileKitError
        A suffix other than ``.json``/``.csv``.
    """
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise MobileKitError(f"--out {out}: expected a .json or .csv file, found suffix {out.suffix!r}")
    text = (json.dumps({"assumption": __doc__.split("Area assumption (documented, approximate): ")[1].strip(),
                        "photos": [r.to_dict() for r in results]}, indent=2) + "\n") if fmt == "json" else to_csv(results)
    return atomic_write_text(out, text)
