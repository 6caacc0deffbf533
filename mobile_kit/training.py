"""Train a compact segmentation model on a folder of photos and masks.

Writes into the run folder:

- ``model.keras``  best checkpoint by validation person IoU (no optimizer state)
- ``metadata.json`` input/output contract, training recipe, validation figures
- ``history.json`` per-epoch loss, validation IoU and learning rate
- ``checkpoints/`` model + optimizer + epoch, for ``resume=True``
- ``logs/`` TensorBoard event files
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobile_kit.data.augment import AugmentConfig
from mobile_kit.data.dataset import split_pairs, validate_dataset
from mobile_kit.errors import MobileKitError
from mobile_kit.fileio import atomic_path, atomic_write_text
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import METADATA_FILENAME, InputSpec, ModelMetadata, OutputSpec

STATE_FILENAME = "train_state.json"


@dataclass
class TrainResult:
    """Where a run was written and its best validation figures."""

    run_dir: Path
    model_path: Path
    metadata_path: Path
    best_epoch: int
    best_val_iou: float
    val_metrics: dict
    epochs_run: int
    seconds: float

    def to_dict(self) -> dict:
        return {
            "run_dir": str(self.run_dir),
            "model": str(self.model_path),
            "metadata": str(self.metadata_path),
            "best_epoch": self.best_epoch,
            "best_val_iou_model_res": self.best_val_iou,
            "val_metrics": self.val_metrics,
            "epochs_run": self.epochs_run,
            "seconds": self.seconds,
        }


def _batch_person_iou(probs: np.ndarray, masks: np.ndarray, thr: float = 0.5) -> float:
    from mobile_kit.eval.metrics import binary_iou

    return float(np.mean([binary_iou(p[..., 1] > thr, m[..., 0] > 0.5) for p, m in zip(probs, masks)]))


def cosine_lr(epoch: int, epochs: int, lr: float, warmup: int = 2, floor: float = 0.02) -> float:
    """Learning rate for ``epoch`` (0-based): linear warm-up, then cosine decay to ``floor * lr``."""
    if epoch < warmup:
        return lr * (epoch + 1) / (warmup + 1)
    t = (epoch - warmup) / max(1, epochs - warmup)
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


@dataclass
class _Prepared:
    spec: InputSpec
    train_pairs: list
    val_pairs: list
    train_samples: list
    xv: np.ndarray | None
    yv: np.ndarray | None
    # Recipe hooks (mobile_kit.recipe.prepare.attach_recipe): per-epoch batches, loss, epoch length.
    batches: object = None
    loss_fn: object = None
    steps_per_epoch: int | None = None


def prepare_data(data, spec: InputSpec, val_fraction: float, seed: int, max_images: int | None,
                 progress: Progress) -> _Prepared:
    """Validate ``data``, split it and decode the pairs (see :func:`train`)."""
    from mobile_kit.data.pipeline import eval_arrays, load_pairs_cached

    report = validate_dataset(data)
    report.raise_if_errors()
    pairs = report.pairs[:max_images] if max_images else report.pairs
    train_pairs, val_pairs = split_pairs(pairs, val_fraction, seed)
    if not train_pairs:
        raise MobileKitError(f"{data}: expected at least one training pair after the split, found none")
    cache_side = max(2 * spec.height, 384)
    train_samples = load_pairs_cached(train_pairs, cache_side, progress)
    val_samples = load_pairs_cached(val_pairs, cache_side, progress) if val_pairs else []
    xv, yv = eval_arrays(val_samples, spec) if val_samples else (None, None)
    return _Prepared(spec, train_pairs, val_pairs, train_samples, xv, yv)


def fit(model, prep: _Prepared, out: Path, epochs: int, batch_size: int, learning_rate: float, loss: str,
        seed: int, resume: bool, augment: bool, progress: Progress, label: str, warmup: int = 2,
        model_filename: str = "model.keras") -> tuple[list, dict]:
    """The training loop shared by :func:`train` and QAT fine-tuning.

    Keeps ``out/<model_filename>`` = best epoch by validation person IoU (model
    resolution), ``out/checkpoints`` + ``train_state.json`` for resuming,
    ``history.json`` and TensorBoard ``logs/``.

    Returns
    -------
    (history, best)
        Per-epoch rows and ``{"epoch", "val_iou"}`` of the best epoch.
    """
    import tensorflow as tf
    import tf_keras as keras

    from mobile_kit.data.pipeline import train_dataset
    from mobile_kit.losses import get_loss

    loss_fn = prep.loss_fn or get_loss(loss)
    state_path = out / STATE_FILENAME
    spec = prep.spec
    optimizer = keras.optimizers.Adam(learning_rate)
    epoch_var = tf.Variable(0, dtype=tf.int64, name="epoch")
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var)
    manager = tf.train.CheckpointManager(ckpt, str(out / "checkpoints"), max_to_keep=1)
    history: list[dict] = []
    best = {"epoch": -1, "val_iou": -1.0}
    if resume:
        if manager.latest_checkpoint is None or not state_path.exists():
            raise MobileKitError(f"{out}: --resume given but no checkpoint found in {out / 'checkpoints'}")
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        state = json.loads(state_path.read_text())
        history, best = state["history"], state["best"]
    out.mkdir(parents=True, exist_ok=True)
    start_epoch = int(epoch_var.numpy())

    @tf.function(reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            value = loss_fn(y, p)
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return value

    writer = tf.summary.create_file_writer(str(out / "logs"))
    steps_per_epoch = prep.steps_per_epoch or math.ceil(len(prep.train_samples) / batch_size)
    aug_cfg = AugmentConfig() if augment else None
    with progress.task(label, epochs) as bar:
        bar.advance(start_epoch)
        for epoch in range(start_epoch, epochs):
            lr = cosine_lr(epoch, epochs, learning_rate, warmup=warmup)
            optimizer.learning_rate.assign(lr)
            t_epoch = time.time()
            losses = []
            with progress.task(f"epoch {epoch + 1}/{epochs}", steps_per_epoch) as ebar:
                batches = (prep.batches(batch_size, seed, epoch, aug_cfg) if prep.batches is not None
                           else train_dataset(prep.train_samples, spec, batch_size, seed, epoch, aug_cfg))
                for x, y in batches:
                    losses.append(float(train_step(x, y)))
                    ebar.advance(loss=float(np.mean(losses)))
            row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": lr, "seconds": round(time.time() - t_epoch, 2)}
            if prep.xv is not None:
                probs = model.predict(prep.xv, batch_size=batch_size, verbose=0)
                row["val_loss"] = float(loss_fn(tf.constant(prep.yv), tf.constant(probs)))
                row["val_person_iou"] = _batch_person_iou(probs, prep.yv)
            history.append(row)
            with writer.as_default(step=epoch + 1):
                for k, v in row.items():
                    if k != "epoch":
                        tf.summary.scalar(k, v)
            score = row.get("val_person_iou", -row["loss"])
            if score > best["val_iou"]:
                best = {"epoch": epoch + 1, "val_iou": score}
                with atomic_path(out / model_filename) as tmp:
                    model.save(str(tmp))
            epoch_var.assign(epoch + 1)
            manager.save()
            atomic_write_text(state_path, json.dumps({"history": history, "best": best}, indent=1))
            atomic_write_text(out / "history.json", json.dumps(history, indent=1) + "\n")
            bar.advance(val_iou=row.get("val_person_iou", float("nan")), loss=row["loss"])
    writer.flush()
    return history, best


def val_figures(model_path: Path, meta: ModelMetadata, val_pairs, progress: Progress) -> dict:
    """Validation person IoU / mIoU at each image's own resolution."""
    from mobile_kit.eval.evaluate import evaluate_pairs
    from mobile_kit.runtime import Segmenter

    rows, pooled = evaluate_pairs(Segmenter(model_path, meta), val_pairs, progress=progress)
    return {
        "split": "val",
        "n_images": len(rows),
        "person_iou": float(np.mean([r["person_iou"] for r in rows])),
        "miou": float(np.mean([r["miou"] for r in rows])),
        "person_iou_pooled": pooled,
        "resolution": "each image's own",
    }


def train(
    data: str | Path,
    out: str | Path,
    arch: str = "likeunet",
    input_size: int = 256,
    grayscale: bool = False,
    epochs: int = 30,
    batch_size: int = 8,
    learning_rate: float = 2e-3,
    loss: str = "ce+dice",
    val_fraction: float = 0.2,
    seed: int = 0,
    resume: bool = False,
    augment: bool = True,
    max_images: int | None = None,
    arch_options: dict | None = None,
    acnet: bool = False,
    name: str | None = None,
    recipe=None,
    progress: Progress = NullProgress(),
) -> TrainResult:
    """Train ``arch`` on ``data`` and write a run folder ``out``.

    Parameters
    ----------
    data : path
        Dataset folder with ``images/`` and ``masks/`` (validated first).
    out : path
        Run folder. Must not hold a run already unless ``resume`` is True.
    arch : str
        Registered architecture (see :data:`mobile_kit.models.ARCHITECTURES`).
    input_size : int
        Square model input ``input_size x input_size``; multiple of 32.
    grayscale : bool
        1-channel input instead of RGB.
    epochs : int
        Total epochs (a resumed run continues up to this number).
    loss : str
        ``ce+dice`` (default), ``focal+dice`` or ``ce``.
    val_fraction, seed : float, int
        Deterministic split (:func:`mobile_kit.data.split_pairs`); ``seed`` also
        seeds weights and augmentation.
    resume : bool
        Continue from ``out/checkpoints`` (model, optimizer, epoch, history).
    max_images : int, optional
        Use only the first ``max_images`` valid pairs (quick experiments, tests).
    acnet : bool
        Build the architecture with ACNet blocks (fold before export; export
        folds automatically).
    recipe : mobile_kit.recipe.RecipeConfig, optional
        Extra datasets with weights, teacher distillation, unlabelled photos,
        negatives, copy-paste, boundary loss (all off by default). The val
        split of ``data`` still selects the best epoch.

    Returns
    -------
    TrainResult

    Raises
    ------
    DatasetError
        The dataset has fatal problems (listed).
    MobileKitError
        ``out`` holds a run and ``resume`` is False; bad size or names.
    """
    import tf_keras as keras

    from mobile_kit.losses import get_loss
    from mobile_kit.models import build_model

    t0 = time.time()
    out = Path(out)
    if (out / STATE_FILENAME).exists() and not resume:
        raise MobileKitError(f"{out}: expected an empty run folder, found an earlier run; pass --resume or another --out")
    get_loss(loss)  # unknown names fail before any work
    spec = InputSpec(input_size, input_size, 1 if grayscale else 3)
    keras.utils.set_random_seed(seed)
    options = dict(arch_options or {}, **({"acnet": True} if acnet else {}))
    model = build_model(arch, spec, 2, **options)
    prep = prepare_data(data, spec, val_fraction, seed, max_images, progress)
    recipe_info = None
    if recipe is not None and recipe.active:
        from mobile_kit.recipe.prepare import attach_recipe

        recipe_info = attach_recipe(prep, data, recipe, loss, val_fraction, seed, max_images, batch_size,
                                    progress)
    history, best = fit(model, prep, out, epochs, batch_size, learning_rate, loss, seed, resume, augment, progress,
                        f"training {arch}")
    recipe = {
        "data": str(data),
        "arch": arch,
        "arch_options": options,
        "acnet": acnet,
        "input_size": input_size,
        "channels": spec.channels,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": "adam",
        "learning_rate": learning_rate,
        "lr_schedule": "warmup 2 epochs + cosine to 2%",
        "loss": loss,
        "augmentation": AugmentConfig().to_dict() if augment else None,
        "val_fraction": val_fraction,
        "seed": seed,
        "n_train": len(prep.train_pairs),
        "n_val": len(prep.val_pairs),
        "max_images": max_images,
        "recipe": recipe_info,
        "best_epoch": best["epoch"],
        "seconds": round(sum(h.get("seconds", 0.0) for h in history), 1),  # summed over resumed sessions
    }
    meta = ModelMetadata(
        input=spec,
        output=OutputSpec(kind="softmax", labels=("background", "person"), person_index=1, threshold=0.5),
        name=name or f"{arch}-{input_size}",
        arch=arch,
        training=recipe,
    )
    meta_path = meta.save(out / METADATA_FILENAME)
    val_metrics: dict = {}
    if prep.val_pairs:
        val_metrics = val_figures(out / "model.keras", meta, prep.val_pairs, progress)
        meta.metrics = {"val": val_metrics}
        meta_path = meta.save(out / METADATA_FILENAME)
    return TrainResult(out, out / "model.keras", meta_path, best["epoch"], best["val_iou"], val_metrics,
                       len(history), time.time() - t0)
