"""Load every pool of the recipe once and build the per-epoch batches and the loss."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from mobile_kit.data.augment import AugmentConfig
from mobile_kit.data.splits import split_rule_for
from mobile_kit.errors import DatasetError, MobileKitError
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.recipe import RecipeConfig
from mobile_kit.recipe.mixing import RecipeSample, draw_epoch, make_recipe_sample, negatives_from
from mobile_kit.recipe.sources import SourceSpec, source_split, unlabelled_images
from mobile_kit.specs import InputSpec


def _downscale(img: np.ndarray, mask: np.ndarray | None, side: int):
    h, w = img.shape[:2]
    s = side / max(h, w)
    if s >= 1.0:
        return img, mask
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img, (cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) if mask is not None else None)


@dataclass
class RecipeData:
    """The loaded pools: ``pools[name]`` = list of :class:`RecipeSample`, with sampling ``weights[name]``."""

    spec: InputSpec
    pools: dict[str, list[RecipeSample]]
    weights: dict[str, float]
    val_pairs_by_source: dict[str, list] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def epoch_size(self, cfg: RecipeConfig) -> int:
        if cfg.epoch_size:
            return int(cfg.epoch_size)
        return sum(len(v) for k, v in self.pools.items() if k != "negatives")


def load_recipe_data(primary: SourceSpec, cfg: RecipeConfig, spec: InputSpec, val_fraction: float, seed: int,
                     max_images: int | None, progress: Progress = NullProgress()) -> RecipeData:
    """Decode every source's train split (and the unlabelled photos), compute teacher maps and negatives.

    Photos are kept at most ``max(1.5 * max(H, W), 384)`` pixels on the long
    side. The teacher runs once per photo at that resolution.

    Raises
    ------
    DatasetError, ModelError
        Bad folders, label maps or teacher (the message names them).
    """
    side = max(int(1.5 * max(spec.height, spec.width)), 384)
    teacher = None
    if cfg.teacher is not None:
        from mobile_kit.recipe.teacher import open_teacher

        teacher = open_teacher(cfg.teacher)
    pools: dict[str, list[RecipeSample]] = {}
    weights: dict[str, float] = {}
    val_by: dict[str, list] = {}
    for i, src in enumerate([primary, *cfg.extra_sources]):
        name = f"{i}:{src.kind}:{src.path.name}"
        rule = split_rule_for(src.kind, val_fraction, seed)  # ccp: always CCP_SPLIT (mobile_kit.data.splits)
        train_pairs, val_pairs, load = source_split(src, rule.val_fraction, rule.seed, max_images)
        val_by[name] = val_pairs
        samples = []
        with progress.task(f"loading {src.path.name}", len(train_pairs)) as bar:
            for p in train_pairs:
                img, m = _downscale(*load(p), side)
                t = None
                if teacher is not None:
                    t = np.clip(np.round(teacher.probability(img) * 255.0), 0, 255).astype(np.uint8)
                samples.append(RecipeSample(img, m, t, True))
                bar.advance()
        pools[name] = samples
        weights[name] = src.weight
    if cfg.unlabelled:
        if teacher is None:
            raise MobileKitError(f"--unlabelled {cfg.unlabelled}: unlabelled photos are trained on teacher labels; "
                                 "expected --teacher, found none")
        from mobile_kit.data.dataset import load_image

        files = unlabelled_images(cfg.unlabelled, max_images)
        samples = []
        with progress.task("loading unlabelled", len(files)) as bar:
            for f in files:
                img, _ = _downscale(load_image(f), None, side)
                t = np.clip(np.round(teacher.probability(img) * 255.0), 0, 255).astype(np.uint8)
                samples.append(RecipeSample(img, np.zeros(img.shape[:2], np.uint8), t, False))
                bar.advance()
        pools["unlabelled"] = samples
        weights["unlabelled"] = cfg.unlabelled_weight
    if cfg.negatives or cfg.copy_paste:
        rng = np.random.default_rng([seed, 7])
        labelled = [s for k, v in pools.items() if k != "unlabelled" for s in v]
        min_side = max(8, min(48, min(spec.height, spec.width) // 4))  # 48 px at 256: not a smear when resized
        pools["negatives"] = negatives_from(labelled, rng, min_side)
        if not pools["negatives"]:
            raise DatasetError("--negatives/--copy-paste: expected foreground-free background regions in the labelled "
                               "photos, found none large enough")
        weights["negatives"] = 0.0  # drawn as a fixed fraction, see recipe_batches
    return RecipeData(spec, pools, weights, val_by, {k: len(v) for k, v in pools.items()})


def recipe_batches(data: RecipeData, cfg: RecipeConfig, batch_size: int, seed: int, epoch: int,
                   aug: AugmentConfig | None):
    """One epoch as a ``tf.data.Dataset`` of ``(x (B,h,w,C), y (B,h,w,4))`` float32 batches.

    ``cfg.negatives`` of the draws are foreground-free crops; the rest are drawn
    from the other pools with probability proportional to their weights.
    """
    import tensorflow as tf

    rng = np.random.default_rng([seed, epoch])
    names = list(data.pools)
    n = data.epoch_size(cfg)
    n_neg = int(round(cfg.negatives * n)) if "negatives" in data.pools else 0
    draws = draw_epoch([len(data.pools[k]) for k in names], [data.weights[k] for k in names], n - n_neg, rng)
    if n_neg:
        k = names.index("negatives")
        draws += [(k, int(i)) for i in rng.integers(0, len(data.pools["negatives"]), n_neg)]
    order = rng.permutation(len(draws))
    backgrounds = data.pools.get("negatives")
    spec = data.spec

    def gen():
        for j in order:
            p, i = draws[j]
            yield make_recipe_sample(data.pools[names[p]][i], spec, rng, aug, cfg.boundary_width,
                                     cfg.copy_paste, backgrounds)

    sig = (
        tf.TensorSpec((spec.height, spec.width, spec.channels), tf.float32),
        tf.TensorSpec((spec.height, spec.width, 4), tf.float32),
    )
    return tf.data.Dataset.from_generator(gen, output_signature=sig).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _licence_of(path) -> str:
    """First line of a LICENSE/LICENCE file in ``path`` or its parent folder, else ``not stated``."""
    from pathlib import Path

    path = Path(path)
    for folder in (path if path.is_dir() else path.parent, (path if path.is_dir() else path.parent).parent):
        for name in ("LICENSE", "LICENCE", "LICENSE.txt", "LICENSE.md"):
            f = folder / name
            if f.is_file():
                line = next((l.strip() for l in f.read_text(errors="replace").splitlines() if l.strip()), "")
                return f"{line} ({f})"
    return "not stated"


def attach_recipe(prep, data, cfg: RecipeConfig, loss: str, val_fraction: float, seed: int,
                  max_images: int | None, batch_size: int, progress: Progress = NullProgress()) -> dict:
    """Hook the recipe into a prepared training run (:func:`mobile_kit.training.fit` reads these fields).

    Sets ``prep.batches`` (one epoch of 4-channel targets), ``prep.loss_fn``
    (:func:`mobile_kit.losses.recipe_loss`) and ``prep.steps_per_epoch``.

    Returns
    -------
    dict
        What ``metadata.json`` records under ``training.recipe``: the switches,
        each source with its licence and sample count, the teacher and its licence.
    """
    import math
    from pathlib import Path

    from mobile_kit.losses import recipe_loss

    primary = SourceSpec("masks", Path(data), cfg.primary_weight)
    rd = load_recipe_data(primary, cfg, prep.spec, val_fraction, seed, max_images, progress)
    distill = cfg.distill_weight if cfg.teacher is not None else 0.0
    prep.loss_fn = recipe_loss(loss, distill, cfg.boundary_weight)
    prep.batches = lambda batch_size, seed_, epoch, aug: recipe_batches(rd, cfg, batch_size, seed_, epoch, aug)
    n = rd.epoch_size(cfg)
    prep._recipe_data = rd
    info = cfg.to_dict()
    info["epoch_size"] = n
    info["pool_sizes"] = rd.counts
    info["sources"] = [dict(s.to_dict(), licence=_licence_of(s.path)) for s in [primary, *cfg.extra_sources]]
    if cfg.teacher is not None:
        info["teacher"]["licence"] = cfg.teacher.licence or _licence_of(cfg.teacher.path)
    if cfg.unlabelled:
        info["unlabelled_licence"] = _licence_of(cfg.unlabelled)
    if any(s.kind == "ccp" for s in cfg.extra_sources):
        from mobile_kit.recipe.sources import source_label_map

        info["ccp_label_map"] = source_label_map("ccp").name  # its description records which classes are foreground
    prep.steps_per_epoch = math.ceil(n / batch_size)
    return info
