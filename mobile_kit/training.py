"""Train a compact segmentation model on a folder of photos and masks.

Writes into the run folder:

- ``model.keras``  best checkpoint by the task's validation figure (its ``primary_metric``; no optimizer state)
- ``metadata.json`` input/output contract, training recipe, validation figures
- ``history.json`` per-epoch loss, validation figure and learning rate

What is predicted (labels, ground-truth decoding, loss, validation figure,
left/right flip) comes from the task (:mod:`mobile_kit.tasks`).
- ``checkpoints/`` model + optimizer + epoch, for ``resume=True``
- ``logs/`` TensorBoard event files
"""
from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mobile_kit.data.augment import AugmentConfig
from mobile_kit.data.dataset import split_pairs, validate_dataset
from mobile_kit.errors import MobileKitError
from mobile_kit.fileio import atomic_path, atomic_write_text
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import METADATA_FILENAME, InputSpec, ModelMetadata
from mobile_kit.tasks import DEFAULT_TASK

STATE_FILENAME = "train_state.json"
#: Key of the run state (history, best epoch, run config) inside the TensorFlow checkpoint.
STATE_CKPT_KEY = "state/.ATTRIBUTES/VARIABLE_VALUE"
#: Options that define the model or the data split; ``--resume`` refuses to change them.
RESUME_LOCKED = ("arch", "arch_options", "input_size", "grayscale", "acnet", "val_fraction", "seed", "max_images",
                 "task", "label_map", "input_height")
#: How the kept epoch is chosen: the task's best validation figure ({metric}: the task's ``primary_metric``), or
#: with no validation split the lowest training loss (ties: the earlier epoch).
SELECTION_RULES = {True: "highest {metric} (model resolution)", False: "lowest training loss (no "
                   "validation split)"}


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
    task: object = None
    # Recipe hooks (mobile_kit.recipe.prepare.attach_recipe): per-epoch batches, loss, epoch length.
    batches: object = None
    loss_fn: object = None
    steps_per_epoch: int | None = None


def prepare_data(data, spec: InputSpec, val_fraction: float, seed: int, max_images: int | None,
                 progress: Progress, task=None) -> _Prepared:
    """Validate ``data`` for ``task`` (default: the default task), split it and decode the pairs (see :func:`train`)."""
    from mobile_kit.data.pipeline import eval_arrays, load_pairs_cached
    from mobile_kit.tasks import get_task

    task = task or get_task()
    report = validate_dataset(data, task=task)
    report.raise_if_errors()
    pairs = report.pairs[:max_images] if max_images else report.pairs
    train_pairs, val_pairs = split_pairs(pairs, val_fraction, seed)
    if not train_pairs:
        raise MobileKitError(f"{data}: expected at least one training pair after the split, found none")
    cache_side = max(2 * spec.height, 384)
    train_samples = load_pairs_cached(train_pairs, cache_side, progress, task.load_target)
    val_samples = load_pairs_cached(val_pairs, cache_side, progress, task.load_target) if val_pairs else []
    xv, yv = eval_arrays(val_samples, spec) if val_samples else (None, None)
    return _Prepared(spec, train_pairs, val_pairs, train_samples, xv, yv, task)


def read_run_state(out: str | Path) -> dict | None:
    """The run state of ``out``: ``{"history", "best", "config"}`` from its latest checkpoint.

    The state is saved inside the checkpoint (one atomic step with the
    weights); ``train_state.json`` is a readable mirror, used only for runs
    written before the state moved into the checkpoint. ``None`` if ``out``
    holds no run.
    """
    import tensorflow as tf

    out = Path(out)
    latest = tf.train.latest_checkpoint(str(out / "checkpoints")) if (out / "checkpoints").is_dir() else None
    try:
        if latest is not None:
            try:
                raw = tf.train.load_variable(latest, STATE_CKPT_KEY)
            except (tf.errors.NotFoundError, ValueError):  # a checkpoint from before the state moved into it
                raw = b""
            if raw:
                return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        if (out / STATE_FILENAME).is_file():
            return json.loads((out / STATE_FILENAME).read_text())
    except (tf.errors.OpError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise MobileKitError(f"{out}: expected a readable run state in its checkpoint or {STATE_FILENAME}, found "
                             f"one that cannot be read ({type(e).__name__}: {str(e).strip().splitlines()[0][:200]}); "
                             "train into another --out") from None
    return None


def has_run(out: str | Path) -> bool:
    """True if ``out`` holds a checkpoint or a run state (a run that ``--resume`` can continue)."""
    out = Path(out)
    return (out / STATE_FILENAME).exists() or (out / "checkpoints" / "checkpoint").exists()


def _score(row: dict, metric: str) -> float:
    """Higher is better: the task's validation figure ``metric``, or minus the training loss without validation."""
    return row[metric] if metric in row else -row["loss"]


def fit(model, prep: _Prepared, out: Path, epochs: int, batch_size: int, learning_rate: float, loss: str,
        seed: int, resume: bool, augment: bool, progress: Progress, label: str, warmup: int = 2,
        model_filename: str = "model.keras", config: dict | None = None) -> tuple[list, dict]:
    """The training loop shared by :func:`train` and QAT fine-tuning.

    Keeps ``out/<model_filename>`` = the kept epoch (:data:`SELECTION_RULES`:
    best validation figure of the task (:attr:`~mobile_kit.tasks.base.Task.primary_metric`) at model resolution; lowest training loss when
    there is no validation split), ``out/checkpoints`` for resuming,
    ``history.json``, ``train_state.json`` and TensorBoard ``logs/``.

    After each epoch the weights, optimizer, epoch counter and the run state
    (history rows, kept epoch, ``config``) are saved as one TensorFlow
    checkpoint: a kill at any moment loses at most the epoch in progress.
    The kept model file is written after the checkpoint and rewritten on
    resume if a kill came between the two.

    Returns
    -------
    (history, best)
        Per-epoch rows and ``{"epoch", "val_iou", "loss", "criterion"}`` of the kept epoch.
    """
    import tensorflow as tf
    import tf_keras as keras

    from mobile_kit.data.pipeline import train_dataset

    task = prep.task
    loss_fn = prep.loss_fn or task.loss(loss)
    metric = task.primary_metric
    flip_lut = task.flip_lut()
    state_path = out / STATE_FILENAME
    spec = prep.spec
    optimizer = keras.optimizers.Adam(learning_rate)
    epoch_var = tf.Variable(0, dtype=tf.int64, name="epoch")
    state_var = tf.Variable("", dtype=tf.string, name="state")
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var, state=state_var)
    manager = tf.train.CheckpointManager(ckpt, str(out / "checkpoints"), max_to_keep=1)
    history: list[dict] = []
    best = {"epoch": -1, "val_iou": None, "loss": None, "criterion": SELECTION_RULES[prep.xv is not None].format(metric=metric)}
    if resume:
        if manager.latest_checkpoint is None:
            raise MobileKitError(f"{out}: --resume given but no checkpoint found in {out / 'checkpoints'}")
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        raw = state_var.numpy()
        state = json.loads(raw.decode("utf-8")) if raw else read_run_state(out)
        if state is None:
            raise MobileKitError(f"{out}: --resume given but the checkpoint holds no run state and "
                                 f"{STATE_FILENAME} is missing")
        done = int(epoch_var.numpy())
        history = [h for h in state["history"] if h["epoch"] <= done]
        best = dict(best, **state["best"])
        if best["epoch"] == done and done > 0:  # a kill may have come between the checkpoint and the model file
            with atomic_path(out / model_filename) as tmp:
                model.save(str(tmp))
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
                           else train_dataset(prep.train_samples, spec, batch_size, seed, epoch, aug_cfg, flip_lut))
                for x, y in batches:
                    losses.append(float(train_step(x, y)))
                    ebar.advance(loss=float(np.mean(losses)))
            row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": lr, "seconds": round(time.time() - t_epoch, 2)}
            if prep.xv is not None:
                probs = model.predict(prep.xv, batch_size=batch_size, verbose=0)
                row["val_loss"] = float(loss_fn(tf.constant(prep.yv), tf.constant(probs)))
                row[metric] = task.val_score(probs, prep.yv)
            history.append(row)
            with writer.as_default(step=epoch + 1):
                for k, v in row.items():
                    if k != "epoch":
                        tf.summary.scalar(k, v)
            kept_before = [h for h in history if h["epoch"] == best["epoch"]]
            improved = not kept_before or _score(row, metric) > _score(kept_before[0], metric)
            if improved:
                best = dict(best, epoch=epoch + 1, val_iou=row.get(metric), loss=row["loss"])
            epoch_var.assign(epoch + 1)
            state = {"history": history, "best": best, "config": config}
            state_var.assign(json.dumps(state))
            manager.save()  # weights + optimizer + epoch + history: one checkpoint, one atomic step
            if improved:
                with atomic_path(out / model_filename) as tmp:
                    model.save(str(tmp))
            atomic_write_text(state_path, json.dumps(state, indent=1))
            atomic_write_text(out / "history.json", json.dumps(history, indent=1) + "\n")
            bar.advance(val_iou=row.get(metric, float("nan")), loss=row["loss"])
    writer.flush()
    if not (out / model_filename).is_file():
        raise MobileKitError(f"{out}: expected a kept model {model_filename} after {len(history)} epoch(s), found "
                             "none (no epoch finished)")
    return history, best


def check_resume(out: Path, config: dict) -> None:
    """Refuse ``--resume`` when an option that defines the model or the split differs from the run's.

    Raises
    ------
    MobileKitError
        ``out`` holds no run, or names each changed option (see :data:`RESUME_LOCKED`) with the run's value
        and the given one.
    """
    state = read_run_state(out)
    if state is None:
        raise MobileKitError(f"{out}: --resume given but no checkpoint found in {out / 'checkpoints'}")
    saved = state.get("config")
    if not saved:  # a run written before the config was saved: nothing to compare
        return
    flags = {"arch_options": "--base-filters/--depth"}
    changed = [f"{flags.get(k, '--' + k.replace('_', '-'))} (run: {saved.get(k)!r}, given: {config.get(k)!r})"
               for k in RESUME_LOCKED if k in saved and saved.get(k) != config.get(k)]
    if changed:
        raise MobileKitError(f"{out}: --resume continues the run with its own model and split; expected the same "
                             f"options, found changed {'; '.join(changed)} (drop them, or train into another --out)")


def val_figures(model_path: Path, meta: ModelMetadata, val_pairs, progress: Progress) -> dict:
    """The task's validation figures at each image's own resolution (:meth:`Task.val_figures`: binary tasks IoU of
    the foreground class / mIoU; K-class tasks per-image mIoU, per-class IoU, pixel accuracy)."""
    from mobile_kit.runtime import Segmenter
    from mobile_kit.tasks import task_of

    return task_of(meta).val_figures(Segmenter(model_path, meta), val_pairs, progress)


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
    task: str = DEFAULT_TASK,
    label_map: str | Path | None = None,
    input_height: int | None = None,
    recipe=None,
    progress: Progress = NullProgress(),
) -> TrainResult:
    """Train ``arch`` on ``data`` and write a run folder ``out``.

    Parameters
    ----------
    data : path
        Dataset folder with ``images/`` and ``masks/`` (``labels/`` for parsing; validated first).
    out : path
        Run folder. Must not hold a run already unless ``resume`` is True.
    arch : str
        Registered architecture (see :data:`mobile_kit.models.ARCHITECTURES`).
    input_size : int
        Model input width (and height unless ``input_height``); multiple of 32.
    input_height : int, optional
        Model input height when not square (e.g. 256 x 192 for full-body photos).
    task : str
        Registered task (:func:`mobile_kit.tasks.task_names`; default :data:`mobile_kit.tasks.DEFAULT_TASK`).
    label_map : path, optional
        ``parsing``: JSON grouping source classes into model classes, or a shipped
        map's name (``ccp-8``); see :mod:`mobile_kit.tasks.label_map`.
    grayscale : bool
        1-channel input instead of RGB.
    epochs : int
        Total epochs (a resumed run continues up to this number).
    loss : str
        ``ce+dice`` (default), ``focal+dice`` or ``ce``.
    val_fraction, seed : float, int
        Deterministic split (:func:`mobile_kit.data.split_pairs`); ``seed`` also
        seeds weights and augmentation. ``val_fraction`` in ``[0, 1)``; with no
        validation pair (0, or a one-photo dataset) the epoch with the lowest
        training loss is kept (:data:`SELECTION_RULES`).
    resume : bool
        Continue from ``out/checkpoints`` (weights, optimizer, epoch, history,
        kept epoch). The options in :data:`RESUME_LOCKED` must match the run's
        (:func:`check_resume`); epochs, batch size, learning rate, loss and
        augmentation may change.
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
        ``out`` holds a run and ``resume`` is False; ``resume`` with changed
        model/split options (named); bad size, names or ranges.
    """
    import tf_keras as keras

    from mobile_kit.losses import get_loss
    from mobile_kit.models import build_model

    t0 = time.time()
    out = Path(out)
    if has_run(out) and not resume:
        raise MobileKitError(f"{out}: expected an empty run folder, found an earlier run; pass --resume or another --out")
    get_loss(loss)  # unknown names fail before any work
    if max_images is not None and max_images < 1:
        raise MobileKitError(f"--max-images: expected a positive number of pairs, found {max_images}")
    if not 0.0 <= val_fraction < 1.0:
        raise MobileKitError(f"--val-fraction: expected 0 <= fraction < 1, found {val_fraction}")
    from mobile_kit.tasks import get_task

    task_obj = get_task(task, label_map=label_map, data=data)
    spec = InputSpec(input_height or input_size, input_size, 1 if grayscale else 3)
    keras.utils.set_random_seed(seed)
    options = dict(arch_options or {}, **({"acnet": True} if acnet else {}))
    config = {"arch": arch, "arch_options": dict(arch_options or {}), "input_size": input_size,
              "grayscale": grayscale, "acnet": acnet, "val_fraction": val_fraction, "seed": seed,
              "max_images": max_images, "task": task,
              "label_map": str(label_map) if label_map is not None else None, "input_height": input_height}
    if resume:
        check_resume(out, config)
    model = build_model(arch, spec, task_obj.num_classes, **options)
    existed = out.exists()
    fresh = not existed or not any(out.iterdir())
    recipe_info = None
    try:
        prep = prepare_data(data, spec, val_fraction, seed, max_images, progress, task_obj)
        if recipe is not None and recipe.active:
            if not getattr(task_obj, "supports_recipe", False):
                raise MobileKitError(f"training recipe options (extra --data, teacher, unlabelled, negatives, "
                                     f"copy-paste, boundary, epoch size) build binary foreground targets; expected none "
                                     f"with --task {task_obj.name}, found {recipe.to_dict()}")
            from mobile_kit.recipe.prepare import attach_recipe

            recipe_info = attach_recipe(prep, data, recipe, loss, val_fraction, seed, max_images, batch_size,
                                        progress)
        history, best = fit(model, prep, out, epochs, batch_size, learning_rate, loss, seed, resume, augment,
                            progress, f"training {arch}", config=config)
    except BaseException:
        if fresh and out.is_dir() and not has_run(out):  # nothing resumable was made: leave no half run behind
            for p in ([out] if not existed else list(out.iterdir())):  # an empty folder the user made stays
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        raise
    recipe = {
        "data": str(data),
        "arch": arch,
        "arch_options": options,
        "acnet": acnet,
        "input_size": input_size,
        "input_hw": list(spec.input_hw),
        "task": task,
        "label_map": str(label_map) if label_map is not None else None,
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
        "kept_epoch_rule": best.get("criterion", SELECTION_RULES[bool(prep.val_pairs)].format(
            metric=task_obj.primary_metric)),
        "seconds": round(sum(h.get("seconds", 0.0) for h in history), 1),  # summed over resumed sessions
    }
    meta = ModelMetadata(
        input=spec,
        output=task_obj.output_spec(),
        task=task_obj.config(),
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
