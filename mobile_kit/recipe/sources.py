"""Training data sources: folders of photos + binary masks, Clothing Co-Parsing, unlabelled photos.

A source is written ``[KIND:]PATH`` on the command line:

- ``PATH`` or ``masks:PATH`` -- ``images/`` + ``masks/`` (binary foreground
  masks, the layout :func:`mobile_kit.data.validate_dataset` checks);
- ``ccp:PATH`` -- Clothing Co-Parsing (``images/*.jpg`` + ``labels/*.png`` with
  class ids 0..58): read as *binary foreground* through the label map the task
  declares for it (:attr:`mobile_kit.tasks.base.Task.source_label_maps`, a
  shipped map in ``mobile_kit/tasks/label_maps/``): a source class mapped to a
  non-zero model class is foreground.

Which CCP classes are foreground is data, not code: the default task's map
says every non-``null`` class is, carried bags, purses and wallets included,
and its ``description`` records why.

Every labelled source is split with the same deterministic rule as training
(:func:`mobile_kit.data.split_pairs`, ``val_fraction`` and ``seed``): only its
train part is used for training, so the CCP val split stays held out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.data.dataset import Pair, load_image, load_pair, split_pairs, validate_dataset
from mobile_kit.errors import DatasetError, MobileKitError, UnknownNameError
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class SourceSpec:
    """One ``--data`` entry: ``kind`` (``masks`` | ``ccp``), its folder and its sampling weight."""

    kind: str
    path: Path
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "weight": self.weight}


def parse_source(text: str, weight: float = 1.0) -> SourceSpec:
    """Parse ``[KIND:]PATH`` (``masks`` when no kind is given).

    Raises
    ------
    UnknownNameError
        For a kind other than ``masks`` or ``ccp``.
    DatasetError
        For a folder that does not exist or a weight <= 0.
    """
    kind, sep, rest = text.partition(":")
    if sep and kind in SOURCE_LOADERS:
        path = Path(rest)
    elif sep and len(kind) > 1 and "/" not in kind and "\\" not in kind:
        raise UnknownNameError("data kind", kind, SOURCE_LOADERS)
    else:
        kind, path = "masks", Path(text)
    if not path.is_dir():
        raise DatasetError(f"--data {text}: expected a dataset folder, found no folder at {path}")
    if not weight > 0:
        raise DatasetError(f"--data-weight for {text}: expected a positive weight, found {weight}")
    return SourceSpec(kind, path, float(weight))


def source_label_map(kind: str, task: str | None = None):
    """The shipped label map that reads source ``kind`` as ``task``'s binary targets (default: the default task).

    Raises
    ------
    MobileKitError
        If the task declares no label map for that source kind.
    """
    from mobile_kit.tasks import DEFAULT_TASK, task_class
    from mobile_kit.tasks.label_map import load_label_map

    cls = task_class(task or DEFAULT_TASK)
    if kind not in cls.source_label_maps:
        raise MobileKitError(f"--data {kind}:PATH: the {cls.name} task declares no label map for {kind} sources "
                             f"(it has: {', '.join(sorted(cls.source_label_maps)) or 'none'})")
    return load_label_map(cls.source_label_maps[kind])


def ccp_foreground_ids(classes_json: Path, label_map=None) -> np.ndarray:
    """Source class ids of CCP that are foreground: those ``label_map`` maps to a non-zero model class.

    Parameters
    ----------
    classes_json : path
        The dataset's ``classes.json`` (source class names in id order).
    label_map : LabelMap, optional
        Default: :func:`source_label_map` of ``ccp`` (the default task's shipped map).

    Returns
    -------
    numpy.ndarray
        int32 class ids, ascending.
    """
    import json

    lm = label_map if label_map is not None else source_label_map("ccp")
    names = json.loads(Path(classes_json).read_text())["classes"]
    return np.array([i for i, n in enumerate(names) if lm.mapping.get(n, 0) != 0], dtype=np.int32)


def _ccp_pairs(root: Path) -> list[Pair]:
    images = {p.stem: p for p in (root / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES} \
        if (root / "images").is_dir() else {}
    labels = {p.stem: p for p in (root / "labels").glob("*.png")} if (root / "labels").is_dir() else {}
    pairs = [Pair(s, images[s], labels[s]) for s in sorted(images.keys() & labels.keys())]
    if not pairs:
        raise DatasetError(f"{root}: expected CCP images/*.jpg with labels/*.png of the same stem, found "
                           f"{len(images)} images and {len(labels)} label maps that pair up to none")
    return pairs


def load_ccp_pair(pair: Pair, foreground_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A CCP photo (``(H, W, 3)`` uint8 RGB) and its binary foreground mask (``(H, W)`` uint8 {0, 1}).

    Raises
    ------
    DatasetError
        If the label map cannot be read or its size differs from the photo's.
    """
    img = load_image(pair.image)
    lab = cv2.imread(str(pair.mask), cv2.IMREAD_UNCHANGED)
    if lab is None or lab.ndim != 2:
        raise DatasetError(f"{pair.mask}: expected a single-channel label map of class ids, found "
                           f"{'an unreadable file' if lab is None else f'shape {lab.shape}'}")
    if lab.shape != img.shape[:2]:
        raise DatasetError(f"{pair.mask}: expected the photo's size {img.shape[:2]}, found {lab.shape}")
    return img, np.isin(lab, foreground_ids).astype(np.uint8)


def _masks_pairs(root: Path) -> list[Pair]:
    rep = validate_dataset(root)
    rep.raise_if_errors()
    return rep.pairs


def _ccp_loader(root: Path):
    ids = ccp_foreground_ids(root / "classes.json")
    return lambda p: load_ccp_pair(p, ids)


#: kind -> (pair discovery, loader factory(root) -> load(pair) -> (image, mask))
SOURCE_LOADERS = {
    "masks": (_masks_pairs, lambda root: load_pair),
    "ccp": (_ccp_pairs, _ccp_loader),
}


def source_split(spec: SourceSpec, val_fraction: float, seed: int, max_images: int | None = None):
    """``(train_pairs, val_pairs, load)`` of a labelled source with the deterministic split rule."""
    discover, loader = SOURCE_LOADERS[spec.kind]
    pairs = discover(spec.path)
    pairs = pairs[:max_images] if max_images else pairs
    train, val = split_pairs(pairs, val_fraction, seed)
    return train, val, loader(spec.path)


def unlabelled_images(folder: Path, max_images: int | None = None) -> list[Path]:
    """Photos of an ``--unlabelled`` folder (sorted by name).

    Raises
    ------
    DatasetError
        If the folder has no photos.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise DatasetError(f"--unlabelled {folder}: expected a folder of photos ({', '.join(IMAGE_SUFFIXES)}), "
                           "found none")
    return files[:max_images] if max_images else files


def write_binary_masks(spec: SourceSpec, pairs: list[Pair], out: Path) -> Path:
    """Write ``out/images`` (symlinks) + ``out/masks`` (0/255 PNG) for ``pairs`` so :mod:`mobile_kit.eval` reads them.

    Used to evaluate on a CCP val split with the standard evaluator.
    """
    load = SOURCE_LOADERS[spec.kind][1](spec.path)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for p in pairs:
        _, m = load(p)
        link = out / "images" / p.image.name
        if not link.exists():
            link.symlink_to(p.image.resolve())
        cv2.imwrite(str(out / "masks" / f"{p.stem}.png"), m * 255)
    return out
