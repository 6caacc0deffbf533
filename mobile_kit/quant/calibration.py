"""Representative datasets for full-integer post-training quantization.

TFLite's converter calls the representative dataset to record activation
ranges (https://ai.google.dev/edge/litert/models/post_training_integer_quant).
The images must look like what the model sees on a phone: real photos from
``--data`` when given, otherwise the people/scene photos bundled in
scikit-image, expanded with random crops and flips.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mobile_kit.data.augment import random_crop
from mobile_kit.data.dataset import load_image
from mobile_kit.preprocess import to_model_input
from mobile_kit.specs import InputSpec


def _evenly_spaced(items: list, n: int) -> list:
    if len(items) <= n:
        return list(items)
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def calibration_images(data: str | Path | None, n: int = 64, seed: int = 0,
                       split: str = "all") -> tuple[list[np.ndarray], str]:
    """Real photos for calibration.

    Parameters
    ----------
    data : path or None
        A dataset folder (its ``images/`` are used, evenly spaced by stem) or a
        plain folder of photos; ``None`` = scikit-image's bundled photos with
        random crops and flips.
    n : int
        Number of images.
    split : {"all", "train", "val"}
        For a dataset folder, which part of the training split to draw from
        (``train`` keeps validation photos out of calibration).

    Returns
    -------
    (images, source)
        ``(H, W, 3)`` uint8 RGB photos and a one-line description of where
        they came from (recorded in metadata).
    """
    if data is not None:
        root = Path(data)
        if (root / "images").is_dir():
            from mobile_kit.eval.evaluate import select_pairs

            paths = [p.image for p in select_pairs(root, split, target_dirs=("masks", "labels"))]
        else:
            from mobile_kit.data.dataset import IMAGE_EXTENSIONS
            from mobile_kit.errors import DatasetError

            paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS) if root.is_dir() else []
            if not paths:
                raise DatasetError(f"{root}: expected a dataset folder or a folder of .jpg/.png photos, found none")
        chosen = _evenly_spaced(paths, n)
        where = f" ({split} split)" if (root / "images").is_dir() and split != "all" else ""
        return [load_image(p) for p in chosen], f"{len(chosen)} photos from {root}{where}"
    from mobile_kit.data.samples import SAMPLE_PHOTOS, sample_photos

    rng = np.random.default_rng(seed)
    photos = sample_photos()
    out = list(photos)
    while len(out) < n:
        img = photos[len(out) % len(photos)]
        img, _ = random_crop(img, np.zeros(img.shape[:2], np.uint8), rng, (0.3, 1.0))
        out.append(np.ascontiguousarray(img[:, ::-1]) if rng.random() < 0.5 else img)
    return out[:n], f"{n} crops of scikit-image photos ({', '.join(SAMPLE_PHOTOS)})"


def representative_dataset(images: list[np.ndarray], spec: InputSpec):
    """A callable for ``TFLiteConverter.representative_dataset``.

    Yields one ``[x]`` per image with x ``(1, h, w, C)`` float32 normalised per
    ``spec``.
    """

    def gen():
        for img in images:
            yield [to_model_input(img, spec)[None]]

    return gen
