"""Label maps: group a dataset's source classes into a model's classes.

A label map file (JSON) has:

- ``classes``: model class names in channel order (index 0 = background);
- ``map``: source class name -> model class index (every source class that
  occurs must be mapped);
- ``source_classes`` (optional): source class names in id order, for datasets
  without a ``classes.json``;
- ``flip_pairs`` (optional): ``[[left, right], ...]`` model class names that a
  horizontal flip swaps (drives the flip augmentation and flip TTA).

The map is stored in the artifact's metadata as ``output.label_map`` (source
class name -> model class index) so anyone can score the model on the source
labels. ``mobile_kit/tasks/label_maps/ccp-8.json`` is the shipped CCP grouping.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mobile_kit.errors import DatasetError

LABEL_MAPS_DIR = Path(__file__).parent / "label_maps"
#: Name of the file in a dataset folder listing its classes (``{"classes": [name, ...]}``, id order).
CLASSES_FILENAME = "classes.json"


@dataclass(frozen=True)
class LabelMap:
    """Source classes -> model classes.

    Attributes
    ----------
    classes : tuple of str
        Model class names, channel order.
    mapping : dict
        Source class name -> model class index.
    source_classes : tuple of str
        Source class names in id order (empty when unknown).
    flip_pairs : tuple of (int, int)
        Model class indices that a horizontal flip swaps.
    """

    classes: tuple[str, ...]
    mapping: dict = field(default_factory=dict)
    source_classes: tuple[str, ...] = ()
    flip_pairs: tuple[tuple[int, int], ...] = ()
    name: str = "label-map"

    def lut(self, source_classes: tuple[str, ...] | None = None) -> np.ndarray:
        """Lookup table ``source id -> model id``, uint8 of length 256 (255 = not mapped).

        Raises
        ------
        DatasetError
            No source class list (neither in the map nor given).
        """
        src = source_classes or self.source_classes
        if not src:
            raise DatasetError(f"label map {self.name}: expected source_classes (or the dataset's {CLASSES_FILENAME}) "
                               "to turn class ids into names, found none")
        t = np.full(256, 255, np.uint8)
        for i, name in enumerate(src):
            if name in self.mapping:
                t[i] = self.mapping[name]
        return t

    def to_dict(self) -> dict:
        return {"name": self.name, "classes": list(self.classes), "map": dict(self.mapping),
                "source_classes": list(self.source_classes),
                "flip_pairs": [[self.classes[a], self.classes[b]] for a, b in self.flip_pairs]}


def flip_pairs_from_names(pairs, classes, where: str) -> tuple[tuple[int, int], ...]:
    """``[[left, right], ...]`` names (or indices) -> index pairs; unknown names raise :class:`DatasetError`."""
    out = []
    for p in pairs or []:
        idx = []
        for n in p:
            if isinstance(n, int):
                idx.append(n)
            elif n in classes:
                idx.append(list(classes).index(n))
            else:
                raise DatasetError(f"{where}: flip_pairs: expected class names among {list(classes)}, found {n!r}")
        if len(idx) != 2:
            raise DatasetError(f"{where}: flip_pairs: expected pairs [left, right], found {p!r}")
        out.append((idx[0], idx[1]))
    return tuple(out)


def load_label_map(path: str | Path) -> LabelMap:
    """Read a label map JSON file (or the name of a shipped one, e.g. ``ccp-8``).

    Raises
    ------
    DatasetError
        Missing or unreadable file, a class index outside ``classes``, bad flip pairs.
    """
    p = Path(path)
    if not p.exists() and (LABEL_MAPS_DIR / f"{path}.json").is_file():
        p = LABEL_MAPS_DIR / f"{path}.json"
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        shipped = ", ".join(sorted(f.stem for f in LABEL_MAPS_DIR.glob("*.json")))
        raise DatasetError(f"--label-map {path}: file not found (shipped maps: {shipped})") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"--label-map {p}: expected JSON, found invalid text ({e})") from None
    if not isinstance(d, dict) or not isinstance(d.get("classes"), list) or not isinstance(d.get("map"), dict):
        raise DatasetError(f"--label-map {p}: expected an object with 'classes' (list) and 'map' (object)")
    classes = tuple(str(c) for c in d["classes"])
    for k, v in d["map"].items():
        if not isinstance(v, int) or not 0 <= v < len(classes):
            raise DatasetError(f"--label-map {p}: map[{k!r}]: expected a class index 0..{len(classes) - 1}, found {v!r}")
    return LabelMap(classes, dict(d["map"]), tuple(d.get("source_classes") or ()),
                    flip_pairs_from_names(d.get("flip_pairs"), classes, f"--label-map {p}"), d.get("name", p.stem))


def dataset_classes(root: str | Path) -> tuple[str, ...]:
    """Class names of a dataset from ``root/classes.json`` (id order), or ``()`` when it has none."""
    f = Path(root) / CLASSES_FILENAME
    if not f.is_file():
        return ()
    try:
        d = json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{f}: expected JSON with a 'classes' list, found invalid text ({e})") from None
    return tuple(d["classes"] if isinstance(d, dict) else d)


def swap_lut(num_classes: int, pairs) -> np.ndarray:
    """Permutation ``class -> class after a horizontal flip`` (identity except the swapped pairs), int64."""
    t = np.arange(max(num_classes, 256))
    for a, b in pairs:
        t[a], t[b] = b, a
    return t
