"""Dataset folders: ``DIR/images/*`` and ``DIR/masks/*`` (or ``DIR/labels/*``) paired by file stem.

Which sub-folder holds the ground truth and how it is decoded is the task's
business (:mod:`mobile_kit.tasks`): :func:`load_mask` reads binary masks,
:func:`load_label` reads class-id maps (optionally through a label map).

Binary masks are single-channel (or 3 equal channels) with 0 = background and 255 (or
1) = foreground. A mask whose resolution differs from its image but has the same
aspect ratio is resized to the image with nearest-neighbour interpolation (198
of the 248 pairs of the portrait-248 set are like that); a different aspect
ratio is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mobile_kit.errors import DatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
#: Relative aspect-ratio difference up to which a mask of another size is
#: treated as a rescaled mask (rounding of odd sizes), not a mismatched one.
ASPECT_TOLERANCE = 0.02


@dataclass(frozen=True)
class Pair:
    """One image and its mask, paired by file stem."""

    stem: str
    image: Path
    mask: Path


@dataclass
class ValidationReport:
    """What :func:`validate_dataset` found.

    ``errors`` are fatal (training or evaluation cannot use the pair);
    ``notes`` are facts handled automatically (resized masks, grayscale images).
    """

    root: Path
    pairs: list[Pair] = field(default_factory=list)
    images_without_mask: list[Path] = field(default_factory=list)
    masks_without_image: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resized_masks: int = 0
    grayscale_images: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "pairs": len(self.pairs),
            "images_without_mask": [str(p) for p in self.images_without_mask],
            "masks_without_image": [str(p) for p in self.masks_without_image],
            "resized_masks": self.resized_masks,
            "grayscale_images": self.grayscale_images,
            "errors": self.errors,
            "notes": self.notes,
        }

    def raise_if_errors(self) -> None:
        """Raise :class:`DatasetError` listing the errors, if there are any."""
        if self.errors:
            shown = "\n  ".join(self.errors[:20])
            more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
            raise DatasetError(f"dataset {self.root} has {len(self.errors)} problem(s):\n  {shown}{more}")


def _files_by_stem(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            if p.stem in out:
                raise DatasetError(f"{p}: expected one file per stem in {folder}, found also {out[p.stem].name}")
            out[p.stem] = p
    return out


def target_dir(root: Path, target_dirs: tuple[str, ...] = ("masks",)) -> str:
    """The first of ``target_dirs`` that exists under ``root`` (``masks`` when none does)."""
    return next((d for d in target_dirs if (Path(root) / d).is_dir()), target_dirs[0])


def discover_pairs(root: str | Path, target_dirs: tuple[str, ...] = ("masks",)) -> ValidationReport:
    """Pair ``root/images/*`` with ``root/<target dir>/*`` by stem, without decoding.

    ``target_dirs`` lists the ground-truth folders the task accepts (first found wins):
    ``("masks",)`` for binary foreground masks, ``("labels", "masks")`` for class-id maps.

    Returns
    -------
    ValidationReport
        ``pairs`` sorted by stem, plus unpaired files as errors.

    Raises
    ------
    DatasetError
        If ``root``, ``images/`` or ``masks/`` is missing, or no pair is found.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder not found (expected a folder with images/ and "
                           f"{' or '.join(d + '/' for d in target_dirs)})")
    tdir = target_dir(root, target_dirs)
    for sub in ("images", tdir):
        if not (root / sub).is_dir():
            raise DatasetError(f"{root}: expected a sub-folder {sub}/, found none")
    images = _files_by_stem(root / "images")
    masks = _files_by_stem(root / tdir)
    rep = ValidationReport(root=root)
    for stem, img in images.items():
        if stem in masks:
            rep.pairs.append(Pair(stem, img, masks[stem]))
        else:
            rep.images_without_mask.append(img)
            rep.errors.append(f"{img}: expected a mask {tdir}/{stem}.png (or .jpg/.jpeg), found none")
    for stem, m in masks.items():
        if stem not in images:
            rep.masks_without_image.append(m)
            rep.errors.append(f"{m}: expected an image images/{stem}.jpg/.jpeg/.png, found none")
    if not images and not masks:
        raise DatasetError(f"{root}: expected .jpg/.jpeg/.png files in images/ and {tdir}/, found an empty dataset")
    if not rep.pairs:
        rep.raise_if_errors()
    rep.pairs.sort(key=lambda p: p.stem)
    return rep


def _check_complete(path: Path) -> None:
    """Detect truncated files, which OpenCV decodes silently as grey fill."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
    except Exception as e:  # PIL raises OSError/SyntaxError/ValueError subclasses
        raise DatasetError(f"{path}: expected a complete image file, found a corrupt or truncated one ({e})") from None


def load_image(path: str | Path, check_complete: bool = True) -> np.ndarray:
    """Read a photo as RGB.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(H, W, 3)``, RGB, values 0..255, rotated as
        its EXIF orientation says. Grayscale files are replicated to 3
        channels; an alpha channel is dropped; 16-bit files are scaled to 8 bits.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image file not found")
    if check_complete:
        _check_complete(path)
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)  # 8-bit BGR, EXIF orientation applied (phone photos)
    if img is None:
        raise DatasetError(f"{path}: expected a JPEG or PNG image, found a file OpenCV cannot decode")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_mask(path: str | Path, hw: tuple[int, int] | None = None, check_complete: bool = True) -> np.ndarray:
    """Read a binary foreground mask, optionally resized to ``hw`` (nearest-neighbour).

    Parameters
    ----------
    path : path
        PNG/JPEG mask, 0 = background and 255 (or 1) = foreground.
    hw : (int, int), optional
        Target ``(height, width)``: the image's resolution. Only a mask with the
        same aspect ratio (within :data:`ASPECT_TOLERANCE`) is resized.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(H, W)`` with values in {0, 1}.

    Raises
    ------
    DatasetError
        Unreadable/truncated file, channels that disagree, values other than
        {0, 255} or {0, 1}, or an aspect ratio different from the image's.
    """
    path = Path(path)
    if check_complete:
        _check_complete(path)
    m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise DatasetError(f"{path}: expected a PNG/JPEG mask, found a file OpenCV cannot decode")
    if m.ndim == 3:
        if m.shape[2] == 4:
            m = m[:, :, :3]
        if not (np.array_equal(m[:, :, 0], m[:, :, 1]) and np.array_equal(m[:, :, 0], m[:, :, 2])):
            raise DatasetError(f"{path}: expected a single-channel (or gray) mask, found {m.shape[2]} differing channels")
        m = m[:, :, 0]
    values = np.unique(m)
    if set(values.tolist()) <= {0, 255}:
        m = (m > 127).astype(np.uint8)
    elif set(values.tolist()) <= {0, 1}:
        m = m.astype(np.uint8)
    else:
        shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise DatasetError(
            f"{path}: expected a binary mask with values 0/255 or 0/1, found {len(values)} distinct values ({shown})"
        )
    return _fit_to_image(m, path, hw)


def _fit_to_image(m: np.ndarray, path: Path, hw) -> np.ndarray:
    """Resize a label/mask to the image's ``hw`` with nearest-neighbour if only the scale differs."""
    if hw is not None and m.shape[:2] != tuple(hw):
        mh, mw = m.shape[:2]
        h, w = hw
        if abs((mw / mh) / (w / h) - 1.0) > ASPECT_TOLERANCE:
            raise DatasetError(
                f"{path}: expected a mask of the image's size {w}x{h} (or the same aspect ratio), found {mw}x{mh}"
            )
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
    return m


def load_label(path: str | Path, hw: tuple[int, int] | None = None, check_complete: bool = True,
               lut: np.ndarray | None = None, num_classes: int | None = None) -> np.ndarray:
    """Read a class-id map (one uint8 class id per pixel), optionally regrouped by a label map.

    Parameters
    ----------
    path : path
        Single-channel (or gray) PNG of source class ids.
    hw : (int, int), optional
        The image's ``(height, width)``; a label of the same aspect ratio is resized nearest-neighbour.
    lut : numpy.ndarray, optional
        ``source id -> model id`` (uint8, 256 entries, 255 = unmapped), from
        :meth:`mobile_kit.tasks.label_map.LabelMap.lut`.
    num_classes : int, optional
        Model class count; ids at or above it are an error.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` uint8 model class ids.

    Raises
    ------
    DatasetError
        Unreadable file, several differing channels, a source id the label map does not map,
        or an id outside ``0..num_classes-1``.
    """
    path = Path(path)
    if check_complete:
        _check_complete(path)
    m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise DatasetError(f"{path}: expected a PNG label map of class ids, found a file OpenCV cannot decode")
    if m.ndim == 3:
        if not all(np.array_equal(m[:, :, 0], m[:, :, i]) for i in range(1, min(3, m.shape[2]))):
            raise DatasetError(f"{path}: expected a single-channel label map of class ids, found {m.shape[2]} differing channels")
        m = m[:, :, 0]
    if m.dtype != np.uint8:
        raise DatasetError(f"{path}: expected 8-bit class ids, found {m.dtype}")
    if lut is not None:
        bad = np.unique(m[lut[m] == 255])
        if bad.size:
            raise DatasetError(f"{path}: expected source class ids that the label map maps, found unmapped id(s) "
                               f"{', '.join(str(v) for v in bad[:8])}")
        m = lut[m]
    if num_classes is not None and m.size and int(m.max()) >= num_classes:
        raise DatasetError(f"{path}: expected class ids 0..{num_classes - 1}, found {int(m.max())}")
    return _fit_to_image(m, path, hw)


def load_pair(pair: Pair, check_complete: bool = True, load_target=None) -> tuple[np.ndarray, np.ndarray]:
    """Load an image (``(H, W, 3)`` uint8 RGB) and its ground truth (``(H, W)`` uint8 class ids) at the image's
    resolution; ``load_target(path, hw, check_complete)`` decodes it (default :func:`load_mask`, {0, 1})."""
    img = load_image(pair.image, check_complete)
    return img, (load_target or load_mask)(pair.mask, img.shape[:2], check_complete)


def validate_dataset(root: str | Path, decode: bool = True, task=None) -> ValidationReport:
    """Check a dataset folder and report every problem at once.

    Parameters
    ----------
    root : path
        Folder with ``images/`` and ``masks/`` (or the task's ground-truth folder).
    task : mobile_kit.tasks.base.Task, optional
        Decides the ground-truth folder and decoding (default: the default task's, binary foreground masks).
    decode : bool
        Also decode every file (catches corrupt/truncated files, non-binary
        masks and mismatched sizes); ``False`` only pairs file names.

    Returns
    -------
    ValidationReport
        Pairs that passed, errors and notes. Call
        :meth:`ValidationReport.raise_if_errors` to make errors fatal.

    Raises
    ------
    DatasetError
        If the folder structure itself is missing or empty.
    """
    rep = discover_pairs(root, task.target_dirs if task is not None else ("masks",))
    load_target = task.load_target if task is not None else load_mask
    if not decode:
        return rep
    good: list[Pair] = []
    for pair in rep.pairs:
        try:
            img = load_image(pair.image)
            raw = cv2.imread(str(pair.image), cv2.IMREAD_UNCHANGED)
            if raw is not None and raw.ndim == 2:
                rep.grayscale_images += 1
            mshape = cv2.imread(str(pair.mask), cv2.IMREAD_UNCHANGED)
            load_target(pair.mask, img.shape[:2])
            if mshape is not None and mshape.shape[:2] != img.shape[:2]:
                rep.resized_masks += 1
            good.append(pair)
        except DatasetError as e:
            rep.errors.append(str(e))
    rep.pairs = good
    if rep.resized_masks:
        rep.notes.append(f"{rep.resized_masks} mask(s) differ from their image's resolution; resized with nearest-neighbour")
    if rep.grayscale_images:
        rep.notes.append(f"{rep.grayscale_images} grayscale image(s) replicated to RGB")
    return rep


def split_pairs(pairs: list[Pair], val_fraction: float = 0.2, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Deterministic train/val split.

    Pairs are sorted by stem, shuffled with ``numpy.random.default_rng(seed)``
    and the first ``round(val_fraction * N)`` (at least 1 when N > 1 and
    ``val_fraction > 0``) go to validation.

    Returns
    -------
    (train, val) : lists of Pair, each sorted by stem.

    Raises
    ------
    DatasetError
        If ``val_fraction`` is outside [0, 1).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"--val-fraction: expected a value in [0, 1), found {val_fraction}")
    ordered = sorted(pairs, key=lambda p: p.stem)
    n = len(ordered)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n > 1:
        n_val = max(1, min(n_val, n - 1))
    perm = np.random.default_rng(seed).permutation(n)
    val_idx = set(perm[:n_val].tolist())
    train = [p for i, p in enumerate(ordered) if i not in val_idx]
    val = [p for i, p in enumerate(ordered) if i in val_idx]
    return train, val
