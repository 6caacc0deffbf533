"""``mobilekit``: train, export, eval, bench, predict and quickstart.

Every command is a thin layer over one library function; errors that are the
user's to fix (:class:`~mobile_kit.errors.MobileKitError`) print one message
and exit with status 2, without a traceback.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import List, Optional

import typer

import mobile_kit  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from mobile_kit.cli.output import print_json, print_kv, print_table, stderr
from mobile_kit.errors import MobileKitError
from mobile_kit.fileio import ensure_output_dir, ensure_output_file
from mobile_kit.tasks import DEFAULT_TASK, builtins_help, headline_label, task_names, tasks_help

app = typer.Typer(
    name="mobilekit",
    help=f"Train compact segmentation models (tasks: {', '.join(task_names())}) and ship them to phones: "
    "train -> export (TFLite fp32/fp16/int8) -> eval -> bench -> predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

BUILTIN_HELP = f"Model: a run folder, .keras or .tflite, or {builtins_help()}."


def _arch_names() -> str:
    from mobile_kit.models import ARCHITECTURES

    return ", ".join(sorted(ARCHITECTURES))


def _target_names(sep: str = ", ") -> str:
    from mobile_kit.export.registry import target_names

    return sep.join(target_names())


def _option_help(name: str) -> str:
    """``--help`` of a target option, from the target that declares it (:mod:`mobile_kit.export.registry`)."""
    from mobile_kit.export.registry import ALL_OPTIONS, target_names

    target_names()
    o = ALL_OPTIONS[name]
    return o.help + (f" Default {o.default}." if o.default is not None else "")


def _ensure_model_output(path: Path, option: str) -> Path:
    """fold --out: a ``.keras``/``.h5`` file, or a folder that gets ``model.keras``."""
    return (ensure_output_file if Path(path).suffix in (".keras", ".h5") else ensure_output_dir)(path, option)


#: Output-path kinds checked before a command starts (see :func:`user_errors`).
OUTPUT_CHECKS = {"dir": ensure_output_dir, "file": ensure_output_file, "model": _ensure_model_output}

#: Messages of errors raised by C++ code (TensorFlow's file writers) that mean the user's disk, not a bug.
USER_OS_MESSAGES = ("No space left on device", "Read-only file system", "Disk quota exceeded")


def _log_dir() -> Path:
    import os

    return Path(os.environ.get("MOBILEKIT_LOG_DIR") or Path.home() / ".cache" / "mobilekit" / "logs")


def write_crash_log(exc: BaseException, command: str) -> Path | None:
    """Write ``exc``'s traceback to a new file in ``$MOBILEKIT_LOG_DIR`` (default ``~/.cache/mobilekit/logs``).

    Falls back to the system temp folder; returns ``None`` if nothing can be written.
    """
    import datetime as dt
    import os
    import sys
    import tempfile
    import traceback

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = (f"mobilekit {command} crashed at {dt.datetime.now().isoformat()}\nargv: {sys.argv!r}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for d in (_log_dir(), Path(tempfile.gettempdir())):
        try:
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"mobilekit-crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _error(message: str) -> None:
    from rich.markup import escape

    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)


def _install_signal_handlers():
    """SIGINT and SIGTERM raise KeyboardInterrupt (so ``finally`` blocks clean up) and are remembered.

    Returns the previous handlers, or ``None`` when not on the main thread.
    """
    import signal
    import threading

    from mobile_kit.fileio import note_interrupt

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_signal(signum, frame):
        note_interrupt(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    return {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore_signal_handlers(previous) -> None:
    import signal

    for s, h in (previous or {}).items():
        signal.signal(s, h)


def user_errors(fn=None, *, outputs: dict | None = None):
    """The CLI's one error rule, applied to every command.

    - :class:`MobileKitError` (bad input, failed check) and OS errors on the
      user's paths (full disk, read-only folder, a file in the way): one line,
      exit 2.
    - Ctrl-C / SIGTERM: ``finally`` blocks remove temp and staging files; one
      line, exit 130 (SIGINT) or 143 (SIGTERM), also when a library swallowed
      the KeyboardInterrupt.
    - Anything else is a bug: one line naming a log file that holds the
      traceback, exit 1.

    ``outputs`` maps a parameter name to ``(option, kind)`` with kind ``dir``,
    ``file`` or ``model`` (see :data:`OUTPUT_CHECKS`); those paths are checked
    before the command does any work. The command runs with :mod:`tempfile`
    pointed at a private folder removed at the end (converter temp folders).
    """
    if fn is None:
        return lambda f: user_errors(f, outputs=outputs)

    import click

    from mobile_kit.errors import is_user_os_error, os_error_message

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from mobile_kit.fileio import clear_interrupt, interrupt_signal, private_tempdir

        clear_interrupt()
        previous = _install_signal_handlers()
        try:
            for name, (option, kind) in (outputs or {}).items():
                if kwargs.get(name) is not None:
                    OUTPUT_CHECKS[kind](kwargs[name], option)
            with private_tempdir():
                result = fn(*args, **kwargs)
            if interrupt_signal() is not None:  # a converter swallowed the KeyboardInterrupt
                raise KeyboardInterrupt
            return result
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except (KeyboardInterrupt, Exception) as e:
            # A signal arrived: our handler raised KeyboardInterrupt, which C code may have turned into another
            # error on its way up (an extension module's import says "ImportError: initialization failed").
            if isinstance(e, KeyboardInterrupt) or interrupt_signal() is not None:
                sig = interrupt_signal() or 2
                _error(f"interrupted (signal {sig}); nothing half written was left in the output folder")
                raise typer.Exit(128 + sig) from None
            if isinstance(e, MobileKitError):
                _error(str(e))
                raise typer.Exit(e.exit_code) from None
            if is_user_os_error(e):
                _error(os_error_message(e))
                raise typer.Exit(2) from None
            if any(m in str(e) for m in USER_OS_MESSAGES):
                _error(f"could not write the output: {str(e).strip().splitlines()[0]}")
                raise typer.Exit(2) from None
            log = write_crash_log(e, fn.__name__)
            _error(f"internal error {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''} "
                   f"(a bug in mobilekit; traceback written to {log or 'nowhere: no writable log folder'})")
            raise typer.Exit(1) from None
        finally:
            _restore_signal_handlers(previous)
            clear_interrupt()

    return wrapper


def _positive(value):
    """Option callback: a number > 0 (learning rates, timeouts)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"expected a number > 0, found {value}")
    return value


def _fraction(value):
    """Option callback: a fraction 0 <= f < 1 (validation split)."""
    if value is not None and not 0 <= value < 1:
        raise typer.BadParameter(f"expected a fraction with 0 <= f < 1, found {value}")
    return value


def _progress(quiet: bool):
    from mobile_kit.progress import NullProgress, RichProgress

    return NullProgress() if quiet else RichProgress(stderr)


@app.command()
@user_errors
def validate(
    data: Path = typer.Argument(..., help="Dataset folder with images/ and masks/ paired by file stem."),
    task: str = typer.Option(DEFAULT_TASK, "--task", help=f"{tasks_help()}."),
    label_map: Optional[Path] = typer.Option(None, "--label-map", help="parsing: label map JSON or shipped name "
                                             "(ccp-8); every source id must be mapped."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """Check a dataset: pairing, readable/complete files, the task's ground truth (binary masks, or class ids
    every one of which the label map maps), mask sizes."""
    from mobile_kit.data import validate_dataset
    from mobile_kit.tasks import get_task

    rep = validate_dataset(data, task=get_task(task, label_map=label_map, data=data))
    if as_json:
        print_json(rep.to_dict())
    else:
        print_kv(f"dataset {data}", {"valid pairs": len(rep.pairs), "resized masks": rep.resized_masks,
                                     "grayscale images": rep.grayscale_images, "errors": len(rep.errors)})
        for e in rep.errors:
            stderr.print(f"[red]  {e}", highlight=False)
    rep.raise_if_errors()


@app.command()
@user_errors(outputs={"out": ("--out", "dir")})
def train(
    data: List[str] = typer.Option(..., "--data", help="Dataset [KIND:]PATH; repeat to mix several. The first is an "
                                   "images/ + masks/ folder whose val split picks the best epoch; KIND ccp reads "
                                   "Clothing Co-Parsing labels as binary foreground through the task's shipped "
                                   "CCP label map (carried bags count as foreground). "
                                   "--task parsing: one images/ + labels/ folder."),
    out: Path = typer.Option(..., "--out", help="Run folder to write (model.keras, metadata.json, history.json, logs/)."),
    task: str = typer.Option(DEFAULT_TASK, "--task", help=f"What the model predicts: {tasks_help()}."),
    label_map: Optional[Path] = typer.Option(None, "--label-map", help="parsing: JSON grouping the dataset's classes "
                                             "into model classes (classes, map, flip_pairs), or a shipped map's name: "
                                             "ccp-8 (CCP's 59 classes -> 8 body parts/garments), cihp-20."),
    input_height: Optional[int] = typer.Option(None, help="Input height when not square (default: --input-size), "
                                               "e.g. 256 with --input-size 192 for full-body photos."),
    arch: str = typer.Option("likeunet", help="Architecture (registered: likeunet, mbv2_lraspp, unet)."),
    input_size: int = typer.Option(256, help="Square input size in pixels, a multiple of 32."),
    grayscale: bool = typer.Option(False, "--grayscale", help="1-channel input instead of RGB."),
    epochs: int = typer.Option(30, min=1),
    batch_size: int = typer.Option(8, min=1),
    learning_rate: float = typer.Option(2e-3, "--lr", callback=_positive,
                                        help="Peak Adam learning rate (warm-up then cosine decay), > 0."),
    loss: str = typer.Option("ce+dice", help="ce+dice | focal+dice | ce"),
    val_fraction: float = typer.Option(0.2, callback=_fraction,
                                       help="Fraction of pairs held out for validation, 0 <= f < 1 (0: no "
                                       "validation; the epoch with the lowest training loss is kept)."),
    seed: int = typer.Option(0, min=0, help="Seed of the split, the weights and the augmentation (>= 0)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from its last checkpoint."),
    no_augment: bool = typer.Option(False, "--no-augment", help="Train without augmentation."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Use only the first N pairs (quick experiments)."),
    base_filters: Optional[int] = typer.Option(None, min=1, help="unet only: filters of the first level."),
    width_multiplier: Optional[float] = typer.Option(None, help="likeunet, mbv2_lraspp: scale every channel count "
                                                     "(default 1.0)."),
    depth: Optional[int] = typer.Option(None, min=1, help="unet only: number of down-sampling levels."),
    acnet: bool = typer.Option(False, "--acnet", help="ACNet blocks (3x3 + 1x3 + 3x1, each with BN) in place of 3x3 "
                               "conv + BN (likeunet, unet) or 3x3 depthwise + BN (mbv2_lraspp); fold/export merge "
                               "them back into one 3x3."),
    data_weight: Optional[List[float]] = typer.Option(None, "--data-weight", help="Sampling weight of each --data, "
                                                      "in the same order (default 1 each)."),
    teacher: Optional[Path] = typer.Option(None, "--teacher", help="Distil from this model (run folder, .keras, "
                                           ".tflite, .onnx), run through our runtime with its own contract."),
    teacher_input_norm: Optional[str] = typer.Option(None, help="Teacher without metadata.json: input "
                                                     "normalisation 0..1 | -1..1 | 0..255 (MediaPipe selfie: 0..1)."),
    teacher_output_kind: Optional[str] = typer.Option(None, help="Teacher without metadata.json: softmax | sigmoid "
                                                      "| logits (MediaPipe selfie: sigmoid)."),
    teacher_licence: Optional[str] = typer.Option(None, help="Teacher's licence, recorded in metadata.json (default: "
                                                  "the first line of a LICENSE file beside it, else 'not stated')."),
    distill_weight: float = typer.Option(0.5, min=0.0, max=1.0, help="With --teacher: a in (1-a)*GT loss + a*soft "
                                         "cross-entropy to the teacher's probabilities."),
    unlabelled: Optional[Path] = typer.Option(None, "--unlabelled", help="Folder of photos trained on teacher "
                                              "labels only (needs --teacher)."),
    unlabelled_weight: float = typer.Option(1.0, min=0.0, help="Sampling weight of the --unlabelled photos."),
    negatives: float = typer.Option(0.0, min=0.0, max=0.9, help="Fraction of each epoch that is foreground-free crops "
                                    "(background of labelled photos, empty masks). 0 = off."),
    copy_paste: float = typer.Option(0.0, min=0.0, max=1.0, help="Probability of pasting the labelled foreground of "
                                     "one photo onto a foreground-free background. 0 = off."),
    boundary_weight: float = typer.Option(0.0, min=0.0, help="Weight of the cross-entropy over a Canny band around "
                                          "mask edges, added to the loss. 0 = off."),
    boundary_width: int = typer.Option(3, min=1, help="Half-width in model pixels of that band."),
    epoch_size: Optional[int] = typer.Option(None, min=1, help="Samples drawn per epoch with the recipe (default: "
                                             "all training samples of every source)."),
    qat_epochs: int = typer.Option(0, "--qat", min=0, help="After training, N epochs of quantization-aware fine-tuning "
                                   "into RUN/qat (0 = none)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
):
    """Train a segmentation model; the best epoch by the task's validation figure is kept
    (binary tasks: IoU of the foreground class; K-class tasks: per-image mIoU)."""
    from mobile_kit.recipe import RecipeConfig, TeacherSpec, parse_source
    from mobile_kit.training import train as train_fn

    weights = list(data_weight or [])
    if weights and len(weights) != len(data):
        raise MobileKitError(f"--data-weight: expected one weight per --data ({len(data)}), found {len(weights)}")
    weights = weights or [1.0] * len(data)
    sources = [parse_source(d, w) for d, w in zip(data, weights)]
    if sources[0].kind != "masks":
        raise MobileKitError(f"--data {data[0]}: expected the first --data to be an images/ + masks/ folder (its val "
                             f"split picks the best epoch), found kind {sources[0].kind!r}")
    recipe = RecipeConfig(
        primary_weight=sources[0].weight, extra_sources=sources[1:],
        teacher=TeacherSpec(teacher, teacher_input_norm, teacher_output_kind, teacher_licence) if teacher else None,
        distill_weight=distill_weight, unlabelled=str(unlabelled) if unlabelled else None,
        unlabelled_weight=unlabelled_weight, negatives=negatives, copy_paste=copy_paste,
        boundary_weight=boundary_weight, boundary_width=boundary_width, epoch_size=epoch_size)
    data = sources[0].path
    opts = {k: v for k, v in (("base_filters", base_filters), ("depth", depth),
                              ("width_multiplier", width_multiplier)) if v is not None}
    r = train_fn(data, out, arch=arch, input_size=input_size, grayscale=grayscale, epochs=epochs,
                 batch_size=batch_size, learning_rate=learning_rate, loss=loss, val_fraction=val_fraction,
                 seed=seed, resume=resume, augment=not no_augment, max_images=max_images, arch_options=opts,
                 acnet=acnet, recipe=recipe, task=task, label_map=label_map, input_height=input_height,
                 progress=_progress(quiet))
    res = r.to_dict()
    if qat_epochs:
        from mobile_kit.quant.qat import qat as qat_fn

        res["qat"] = qat_fn(r.run_dir, data, r.run_dir / "qat", epochs=qat_epochs, batch_size=batch_size,
                            max_images=max_images, progress=_progress(quiet)).to_dict()
    if as_json:
        print_json(res)
    else:
        rows = {"model": r.model_path, "best epoch": r.best_epoch}
        rows.update({f"val {k} (image res)": v for k, v in r.val_metrics.items() if isinstance(v, float)})
        rows["seconds"] = round(r.seconds, 1)
        if qat_epochs:
            rows.update({"QAT int8": res["qat"]["int8_artifact"],
                         f"QAT int8 val {headline_label()}": _headline(res["qat"]["val_metrics_int8"])})
        print_kv(f"trained {arch} -> {r.run_dir}", rows)


@app.command()
@user_errors(outputs={"out": ("--out", "model")})
def fold(
    model: Path = typer.Argument(..., help="A .keras/.h5 model, run folder, or legacy architecture .json."),
    out: Path = typer.Option(..., "--out", help="Folded model file (.keras) or folder (writes model.keras)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="HDF5 weights for an architecture .json."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Fold ACNet branches and BatchNorm into plain convolutions (same outputs, fewer layers)."""
    from mobile_kit.reparam.fold import fold_file

    r = fold_file(model, out, weights=weights)
    if as_json:
        print_json(r)
    else:
        print_kv(f"folded {model}", {"written": r["model"], "ACBlocks": len(r["acblocks"]),
                                     "ACNet Add patterns": len(r["acnet_patterns"]),
                                     "BatchNorms": len(r["batchnorms"]), "parameters": f"{r['params_before']:,} -> "
                                     f"{r['params_after']:,}", "max |diff| on check input": r["max_abs_diff"]})
        for w in r["warnings"]:
            stderr.print(f"[yellow]warning:[/] {w}", highlight=False)
        if not r["changed"]:
            stderr.print("nothing to fold: wrote an identical model")


@app.command()
@user_errors(outputs={"out": ("--out", "dir")})
def qat(
    model: Optional[Path] = typer.Argument(None, help="Trained run folder or .keras (default: the built-in model)."),
    data: Path = typer.Option(..., "--data", help="Dataset folder (split like the model's training)."),
    out: Path = typer.Option(..., "--out", help="QAT run folder (model.h5, metadata.json, tflite-int8/)."),
    epochs: int = typer.Option(5, min=1),
    batch_size: int = typer.Option(8, min=1),
    learning_rate: float = typer.Option(1e-4, "--lr", callback=_positive, help="Adam learning rate, > 0."),
    int8_io: str = typer.Option("int8", help="int8 | uint8 input/output tensors."),
    max_images: Optional[int] = typer.Option(None, min=1, help="Use only the first N pairs."),
    resume: bool = typer.Option(False, "--resume"),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Quantization-aware fine-tuning (tfmot) of a folded model, then full-integer int8 TFLite export."""
    from mobile_kit.quant.qat import check_int8_io, qat as qat_fn

    check_int8_io(int8_io)  # before any training
    r = qat_fn(model, data, out, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, int8_io=int8_io,
               max_images=max_images, resume=resume, progress=_progress(quiet))
    d = r.to_dict()
    if as_json:
        print_json(d)
    else:
        ops = d["op_report"]
        print_kv(f"QAT -> {r.run_dir}", {
            "QAT model": r.model_path, "int8 artifact": r.int8_artifact,
            f"val {headline_label()} (QAT Keras)": _headline(r.val_metrics),
            f"val {headline_label()} (int8 TFLite)": _headline(r.int8_val_metrics),
            "ops": ", ".join(f"{k} x{v}" for k, v in ops["op_counts"].items()),
            "float ops between quantize/dequantize": ", ".join(ops["float_ops"]) or "none"})


@app.command()
@user_errors(outputs={"out": ("--out", "dir"), "bundle": ("--bundle", "dir")})
def export(
    model: Optional[Path] = typer.Argument(None, help="Run folder, .keras or .h5 (default: the built-in model)."),
    target: str = typer.Option("tflite-int8", "--target", help=f"Export target: {_target_names(' | ')}."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the artifact and its metadata.json."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Like --out, plus labels.txt, the metadata "
                                          "JSON Schema and golden/ test vectors (TFLite): everything an app needs."),
    head: str = typer.Option("softmax", help="Output head: softmax | sigmoid (2-class models only, exact) | logits "
                             "(K-class models: argmax on device)."),
    layout: Optional[str] = typer.Option(None, help=_option_help("layout")),
    opset: Optional[int] = typer.Option(None, min=1, help=_option_help("opset")),
    precision: Optional[str] = typer.Option(None, help=_option_help("precision")),
    compress: Optional[str] = typer.Option(None, help=_option_help("compress")),
    data: Optional[Path] = typer.Option(None, "--data", help="Photos for int8 calibration and parity (default: scikit-image's)."),
    int8_io: Optional[str] = typer.Option(None, help=_option_help("int8_io")),
    num_calibration: Optional[int] = typer.Option(None, min=1, help=_option_help("num_calibration")),
    skip_parity: bool = typer.Option(False, "--skip-parity", help="Keep the artifact even if parity fails."),
    split: str = typer.Option("all", help="Part of a --data dataset for calibration/parity: all | train | val."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Convert a Keras model, check parity against it and write the artifact + metadata.json.

    Each target takes only its own options (an option for another target is an error). The contract is also
    embedded in the artifact; TFLite exports carry standard TFLite metadata that MediaPipe Tasks and the LiteRT
    Support library read."""
    from mobile_kit.export import export_model

    if (out is None) == (bundle is None):
        raise MobileKitError("expected exactly one of --out DIR or --bundle DIR, found "
                             + ("neither" if out is None else "both"))
    r = export_model(model, target, out or bundle, data=data, int8_io=int8_io, num_calibration=num_calibration,
                     skip_parity=skip_parity, split=split, head=head, layout=layout, opset=opset,
                     precision=precision, compress=compress, bundle=bundle is not None, progress=_progress(quiet))
    if as_json:
        print_json(r.to_dict())
    else:
        p = r.parity
        print_kv(f"exported {target}", {
            "artifact": r.artifact, "metadata": r.metadata_path, "size_bytes": r.size_bytes,
            "parity": p["criterion"] + (" (NOT ENFORCED)" if p.get("skipped_enforcement") else ""),
            "max_abs": p.get("max_abs", "not run"), "mask IoU vs Keras": p.get("mask_iou", "not run"),
            **({"class-map agreement vs Keras": p["class_agreement"]} if "class_agreement" in p else {}),
            "parity inputs": p.get("inputs", "none (structural checks only)")})
    for w in r.warnings:
        stderr.print(f"[bold yellow]warning:[/] {w}", highlight=False, markup=True, soft_wrap=True)


def _segmenter(model, input_norm, output_kind, threads=None):
    from mobile_kit.runtime import load_segmenter

    return load_segmenter(model, input_norm=input_norm, output_kind=output_kind, num_threads=threads)


@app.command("eval")
@user_errors
def eval_cmd(
    model: Optional[Path] = typer.Argument(None, help=BUILTIN_HELP),
    data: Path = typer.Option(..., "--data", help="Dataset folder with images/ and masks/ (parsing: labels/)."),
    split: str = typer.Option("all", help="all | train | val (the training split, see --val-fraction/--seed)."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Multi-class models: a class left out of "
                                                "the per-image mIoU (repeatable), e.g. --exclude background."),
    tta: Optional[str] = typer.Option(None, "--tta", help="Test-time augmentation: flip | scales | flip+scales "
                                      "(scales 0.9/1.0/1.1, probabilities multiplied; flip swaps left/right classes)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the full result (per class, per image) as JSON."),
    val_fraction: float = typer.Option(0.2, callback=_fraction, help="As in train: 0 <= f < 1."),
    seed: int = typer.Option(0, min=0, help="As in train: seed of the split (>= 0)."),
    threshold: Optional[float] = typer.Option(None, min=0.0, max=1.0,
                                              help="p(foreground) threshold in 0..1 of binary tasks (default: "
                                              "the model's, 0.5)."),
    input_norm: Optional[str] = typer.Option(None, help="Third-party .tflite: 0..1 | -1..1 | 0..255."),
    output_kind: Optional[str] = typer.Option(None, help="Third-party .tflite: softmax | sigmoid | logits."),
    limit: Optional[int] = typer.Option(None, min=1, help="Only the first N pairs."),
    per_image: bool = typer.Option(False, "--per-image", help="Include per-image figures in --json output."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Accuracy at each image's own resolution, as the model's task reports it.

    Binary tasks: IoU of the foreground class (per image and pooled) and mIoU over both classes.
    K-class tasks: per-class IoU table, per-image mIoU over the classes present in ground truth or prediction
    (contest convention; --exclude drops classes), pixel accuracy."""
    import json as _json

    from mobile_kit.eval import evaluate
    from mobile_kit.fileio import atomic_write_text

    seg = _segmenter(model, input_norm, output_kind, threads=2)
    r = evaluate(seg, data, split=split, val_fraction=val_fraction, seed=seed, threshold=threshold, limit=limit,
                 exclude=tuple(exclude or ()), tta=tta, progress=_progress(quiet))
    if out is not None:
        atomic_write_text(out, _json.dumps(r.to_dict(), indent=2) + "\n")
    if as_json:
        print_json(r.to_dict() if per_image else r.summary())
    else:
        print_kv(f"eval {seg.path.name} on {data} ({split})", r.table())
        if hasattr(r, "class_rows"):
            print_table("IoU per class (pooled over images)", ["class", "IoU"], r.class_rows())
        if out is not None:
            stderr.print(f"written: {out}")


@app.command()
@user_errors(outputs={"out": ("--out", "file")})
def bench(
    models: List[Path] = typer.Argument(..., help=".tflite artifacts (or the folders holding them)."),
    device: str = typer.Option("local", help="local (LiteRT interpreter here) | adb (benchmark_model on phones)."),
    threads: int = typer.Option(2, min=1),
    runs: int = typer.Option(50, min=1),
    warmup: int = typer.Option(5, min=0),
    data: Optional[Path] = typer.Option(None, "--data", help="Also measure accuracy on this dataset (on this machine)."),
    split: str = typer.Option("all", help="Split of --data: all | train | val."),
    input_norm: Optional[str] = typer.Option(None, help="Third-party .tflite: 0..1 | -1..1 | 0..255."),
    output_kind: Optional[str] = typer.Option(None, help="Third-party .tflite: softmax | sigmoid | logits."),
    serial: Optional[List[str]] = typer.Option(None, "--serial", help="adb: device serial(s); default all ready."),
    delegate: str = typer.Option("cpu", help="adb: comma-separated delegates, one run each: cpu,gpu,nnapi."),
    benchmark_binary: Optional[Path] = typer.Option(None, help="adb: benchmark_model for the phone's ABI "
                                                    "(default: cached download of the official prebuilt)."),
    benchmark_sha256: Optional[str] = typer.Option(None, help="adb: expected SHA-256 of the binary."),
    inference_diff_binary: Optional[Path] = typer.Option(None, help="adb: TFLite inference_diff binary; compares "
                                                         "each non-CPU delegate's outputs with the CPU."),
    op_profiling: bool = typer.Option(False, "--op-profiling", help="adb: per-op timings (--enable_op_profiling)."),
    adb: str = typer.Option("adb", "--adb", help="adb executable."),
    timeout: float = typer.Option(600.0, callback=_positive, help="adb: seconds allowed for each adb command, > 0."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON here."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Latency (microseconds), size, memory and optional accuracy of .tflite artifacts, here or on phones."""
    import json

    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.runtime import resolve_model_path

    if device not in ("local", "adb"):
        raise MobileKitError(f"--device: expected 'local' or 'adb', found {device!r}")
    paths = [resolve_model_path(m) for m in models]
    acc = {}
    if data is not None:
        from mobile_kit.eval import evaluate

        for p in paths:
            acc[p] = evaluate(_segmenter(p, input_norm, output_kind, threads), data, split=split,
                              progress=_progress(quiet)).summary()
    if device == "adb":
        from mobile_kit.bench.adb import Adb, bench_adb

        rows, skipped = [], []
        for p in paths:
            r = bench_adb([p], serials=serial, delegates=[d.strip() for d in delegate.split(",") if d.strip()],
                          threads=threads, runs=runs, warmup=warmup, binary=benchmark_binary,
                          adb=Adb(adb, timeout_s=timeout), op_profiling=op_profiling, timeout_s=timeout,
                          binary_sha256=benchmark_sha256, inference_diff=inference_diff_binary, accuracy=acc.get(p))
            rows += r["results"]
            skipped = r["skipped_devices"]
        doc = {"results": rows, "skipped_devices": skipped}
    else:
        from mobile_kit.bench import bench_local

        rows = [bench_local(p, threads=threads, runs=runs, warmup=warmup, accuracy=acc.get(p),
                            progress=_progress(quiet)).to_dict() for p in paths]
        doc = {"results": rows, "skipped_devices": []}
    if out is not None:
        try:
            atomic_write_text(out, json.dumps(doc, indent=2) + "\n")
        except OSError as e:  # e.g. the disk filled up during the run: print the measurement, do not lose it
            from mobile_kit.errors import OutputError, os_error_message

            print_json(doc)
            raise OutputError(os_error_message(e, "--out") + "; the results were printed to stdout instead") from None
    if as_json:
        print_json(doc)
        return
    good = [r for r in rows if "error" not in r]
    table = []
    for r in good:
        lat = r["latency_us"]
        table.append([Path(r["artifact"]).name, r["device"].get("model") or r["device"].get("cpu"), r["delegate"],
                      r["threads"], r["size_bytes"], lat["min"], lat.get("p50", "n/a"), lat.get("p90", lat.get("p95", "n/a")),
                      _headline(r.get("accuracy")), "; ".join(r.get("flags", []))])
    print_table(f"benchmark ({device})", ["artifact", "device", "delegate", "threads", "size_bytes", "min (us)",
                                         "p50 (us)", "p90/p95 (us)", headline_label(), "flags"], table)
    for r in rows:
        if "error" in r:
            stderr.print(f"[red]failed[/] {r.get('device', {}).get('serial', '')} {r.get('delegate', '')}: {r['error']}",
                         highlight=False)
    for s in doc["skipped_devices"]:
        stderr.print(f"[yellow]skipped[/] {s['serial']} ({s['state']}): {s['reason']}", highlight=False)
    if out is not None:
        stderr.print(f"written: {out}")
    if rows and not good:
        raise typer.Exit(1)


@app.command()
@user_errors(outputs={"out": ("--out", "dir")})
def report(
    results: List[Path] = typer.Argument(..., help="Result JSON files from `mobilekit bench --out`."),
    out: Path = typer.Option(..., "--out", help="Folder for report.md and report.png."),
    as_json: bool = typer.Option(False, "--json"),
):
    """One Markdown table and an accuracy-vs-latency-vs-size plot from local and adb results."""
    from mobile_kit.bench.report import report as report_fn

    r = report_fn(results, out)
    if as_json:
        print_json(r)
    else:
        print_kv("report", r)


def _headline(acc):
    from mobile_kit.bench.report import headline_accuracy

    v = headline_accuracy(acc)
    return "n/a" if v is None else v


def _photo_inputs(paths: list[Path], sample: Optional[str]) -> list:
    """Photo paths (read one at a time by predict) plus an optional bundled sample photo."""
    from mobile_kit.data.samples import sample_photo

    items: list = list(paths)
    if sample:
        items.append((sample, sample_photo(sample)))
    if not items:
        raise MobileKitError("expected at least one IMAGE or --sample NAME, found none")
    return items


@app.command()
@user_errors(outputs={"out": ("--out", "dir")})
def predict(
    model: Optional[Path] = typer.Argument(None, help=BUILTIN_HELP),
    images: Optional[List[Path]] = typer.Argument(None, help="Photos (.jpg/.png)."),
    out: Path = typer.Option(..., "--out", help="Folder for the outputs (<name>_<effect>.png); for a video "
                             "(.mp4/.mov/.avi/.mkv) the output video file."),
    effect: str = typer.Option("mask", help="mask | overlay | blur (portrait mode); multi-class models also "
                               "parts (colour overlay with legend) | labels (class-id PNG)."),
    sample: Optional[str] = typer.Option(None, help="Also segment a photo bundled with scikit-image (astronaut, camera)."),
    threshold: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Foreground probability "
                                              "threshold in 0..1 (default: the model's, 0.5)."),
    tta: Optional[str] = typer.Option(None, "--tta", help="Test-time augmentation: flip | scales | flip+scales."),
    input_norm: Optional[str] = typer.Option(None, help="Third-party .tflite: 0..1 | -1..1 | 0..255."),
    output_kind: Optional[str] = typer.Option(None, help="Third-party .tflite: softmax | sigmoid | logits."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Segment photos: a mask, an overlay or a portrait-mode blur at each photo's own resolution.

    MODEL may be omitted only with --sample and no IMAGE; otherwise give a model
    path first (use 'builtin' for the built-in model).

    A video (clip.mp4 --out out.mp4) is processed frame by frame with the apps' temporal smoothing
    (EMA of p(foreground)); frames per second and flicker with and without smoothing are reported.
    """
    from mobile_kit.predict import predict as predict_fn
    from mobile_kit.video import is_video

    if (model is not None and is_video(model)) or any(is_video(p) for p in images or []):
        return _predict_video(model, images, out, effect, threshold, input_norm, output_kind, as_json, quiet)
    if model is not None and model.suffix.lower() in (".jpg", ".jpeg", ".png") and model.is_file():
        images = [model] + list(images or [])
        model = None
    if model is not None and str(model) == "builtin":
        model = None
    seg = _segmenter(model, input_norm, output_kind, threads=2)
    from mobile_kit.errors import DatasetError

    res = predict_fn(seg, _photo_inputs(list(images or []), sample), out, effect=effect, threshold=threshold,
                     tta=tta, progress=_progress(quiet))
    if as_json:
        print_json([r.to_dict() for r in res])
    else:
        print_table(f"predict ({seg.path.name}, {effect})", ["source", "size", "foreground %", "written"],
                    [[r.source, f"{r.width}x{r.height}", f"{100 * r.foreground_fraction:.1f}", r.output]
                     for r in res if r.error is None])
    bad = [r for r in res if r.error is not None]
    if bad:
        from rich.markup import escape

        for r in bad:
            stderr.print("[red]skipped[/] " + escape(r.error), highlight=False)
        raise DatasetError(f"{len(bad)} of {len(res)} photos could not be read (listed above); "
                           f"the other {len(res) - len(bad)} were written")


@app.command()
@user_errors(outputs={"out": ("--out", "file")})
def measure(
    model: Optional[Path] = typer.Argument(None, help="A multi-class (parsing) model, e.g. builtin:parsing, a run "
                                           "folder, .keras or .tflite."),
    images: Optional[List[Path]] = typer.Argument(None, help="Photos (.jpg/.png), one subject each."),
    out: Path = typer.Option(..., "--out", help="Result file: .json (with the area assumption) or .csv "
                             "(one row per photo and part)."),
    height_cm: Optional[float] = typer.Option(None, "--height-cm", help="The subject's height in cm: adds an "
                                              "approximate area in cm^2 per part (upright, whole body in frame, "
                                              "facing the camera; projected area, see mobile_kit/measure.py)."),
    tta: Optional[str] = typer.Option(None, "--tta", help="Test-time augmentation: flip | scales | flip+scales."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Each body part's area per photo: pixels, fraction of the photo and of the body, and with --height-cm
    an approximate area in cm^2 (the body-part contest's product)."""
    from mobile_kit.measure import measure as measure_fn
    from mobile_kit.measure import write_results

    if model is None:
        raise MobileKitError("expected a MODEL (e.g. builtin:parsing) followed by photos, found none")
    seg = _segmenter(model, None, None, threads=2)
    from mobile_kit.data.dataset import load_image

    if not images:
        raise MobileKitError("expected at least one IMAGE after the MODEL, found none")
    res = measure_fn(seg, [(p.name, load_image(p)) for p in images], height_cm=height_cm, tta=tta,
                     progress=_progress(quiet))
    path = write_results(res, out)
    if as_json:
        print_json({"written": str(path), "photos": [r.to_dict() for r in res]})
        return
    parts = list(res[0].parts) if res else []
    key = "area_cm2" if height_cm else "fraction_of_body"
    print_table(f"part areas ({seg.path.name}; {'cm^2' if height_cm else '% of body'})", ["photo"] + parts,
                [[r.source] + [(f"{r.parts[p][key]:.0f}" if height_cm else f"{100 * r.parts[p][key]:.1f}")
                               for p in parts] for r in res])
    stderr.print(f"written: {path}")


def _predict_video(model, paths, out, effect, threshold, input_norm, output_kind, as_json, quiet):
    """``predict clip.mp4 --out out.mp4``: a video through the effect with the apps' temporal smoothing."""
    from mobile_kit.video import is_video, process_video

    paths = list(paths or [])
    if model is not None and is_video(model):
        paths, model = [model] + paths, None
    if model is not None and str(model) == "builtin":
        model = None
    if len(paths) != 1 or not is_video(paths[0]):
        raise MobileKitError(f"expected one video file (and optionally a MODEL before it), found {[str(p) for p in paths]}")
    dest = out if is_video(out) else out / f"{paths[0].stem}_{effect}.mp4"
    seg = _segmenter(model, input_norm, output_kind, threads=2)
    r = process_video(seg, paths[0], dest, effect=effect, threshold=threshold, progress=_progress(quiet))
    if as_json:
        print_json(r.to_dict())
    else:
        print_kv(f"predict video ({seg.path.name}, {effect})", {
            "written": r.output, "frames": r.frames, "size": f"{r.width}x{r.height}", "source FPS": r.source_fps,
            "processing FPS": r.processing_fps, f"flicker raw (mean |dmask|)": r.flicker_raw,
            f"flicker with EMA alpha={r.ema_alpha}": r.flicker_smoothed, "foreground %": 100 * r.foreground_fraction})


@app.command()
@user_errors(outputs={"out": ("--out", "dir")})
def quickstart(
    out: Path = typer.Option(Path("mobilekit-quickstart"), "--out", help="Folder for everything written."),
    threads: int = typer.Option(2, min=1),
    runs: int = typer.Option(50, min=1),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """The main job on built-in defaults: export the built-in model to tflite-int8,
    benchmark it locally and blur the background of scikit-image's astronaut photo."""
    from mobile_kit.quickstart import quickstart as qs

    r = qs(out, threads=threads, runs=runs, progress=_progress(quiet))
    if as_json:
        print_json(r)
    else:
        print_kv("mobilekit quickstart", r["summary"])


#: Channel orders ``import --channel-order`` accepts.
CHANNEL_ORDERS = ("RGB", "BGR")


@app.command("import")
@user_errors(outputs={"out": ("--out", "dir")})
def import_cmd(
    model: Path = typer.Argument(..., help="An ONNX segmentation model (.onnx), NCHW or NHWC image input."),
    out: Path = typer.Option(..., "--out", help="Folder for model.tflite, saved_model/ and metadata.json."),
    input_norm: Optional[str] = typer.Option(None, help="Preset: 0..1 | -1..1 | 0..255 (default 0..1)."),
    scale: Optional[str] = typer.Option(None, help="pixel*scale+offset: one value or one per channel, comma-separated."),
    offset: Optional[str] = typer.Option(None, help="See --scale."),
    channel_order: str = typer.Option("RGB", help="RGB | BGR."),
    output_kind: str = typer.Option("logits", help="softmax | sigmoid | logits."),
    foreground_index: int = typer.Option(1, min=0, help="Output channel of the foreground class (0-based)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Photos for the parity check (default: scikit-image's)."),
    as_json: bool = typer.Option(False, "--json"),
    quiet: bool = typer.Option(False, "--quiet"),
):
    """Bring an ONNX model in (onnx2tf -> SavedModel + TFLite), checked against onnxruntime."""
    from mobile_kit.errors import UnknownNameError
    from mobile_kit.importers import import_onnx
    from mobile_kit.specs import normalization_from_name

    if channel_order not in CHANNEL_ORDERS:
        raise UnknownNameError("--channel-order", channel_order, CHANNEL_ORDERS)

    sc, of = normalization_from_name(input_norm or "0..1")

    def parse(v, default):
        if v is None:
            return default
        try:
            vals = tuple(float(x) for x in v.split(","))
        except ValueError:
            raise MobileKitError(f"--scale/--offset: expected numbers separated by commas, found {v!r}") from None
        return vals[0] if len(vals) == 1 else vals

    r = import_onnx(model, out, scale=parse(scale, sc), offset=parse(offset, of), channel_order=channel_order,
                    output_kind=output_kind, foreground_index=foreground_index, data=data, progress=_progress(quiet))
    if as_json:
        print_json(r.to_dict())
    else:
        print_kv(f"imported {model.name}", {"tflite": r.tflite, "saved_model": r.saved_model,
                                            "metadata": r.metadata_path, "parity": r.parity["criterion"],
                                            "seconds": round(r.seconds, 1)})


@app.command()
@user_errors
def inspect(
    model: Optional[Path] = typer.Argument(None, help=".keras/.h5, .tflite, .onnx or .mlpackage (default: the "
                                           "built-in model)."),
    gpu: bool = typer.Option(True, "--gpu/--no-gpu", help=".tflite: run TFLite's GPU-delegate compatibility check."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Parameters, MACs, activation memory, ops, inputs/outputs and GPU-delegate compatibility."""
    from mobile_kit.inspect import inspect_model

    r = inspect_model(model, gpu=gpu)
    if as_json:
        print_json(r)
        return
    rows = {"path": r["path"], "format": r["format"]}
    for k in ("parameters", "macs", "size_bytes"):
        if k in r:
            rows[k] = r[k]
    for k, v in r.get("activation_memory_bytes", {}).items():
        rows[f"activations: {k} (bytes)"] = v
    ops = r.get("op_counts") or r.get("layers") or {}
    rows["ops / layers"] = ", ".join(f"{k} x{v}" for k, v in ops.items())
    io = r.get("io") or {"input": r.get("input"), "output": r.get("output")}
    rows["input"] = io["input"]
    rows["output"] = io["output"]
    if "output_description" in r:  # Core ML
        rows["output description"] = r["output_description"]
        rows["preview labels"] = ", ".join(r["preview_labels"] or []) or "none"
    if "fully_integer" in r:
        rows["fully integer"] = r["fully_integer"]
    if "gpu_delegate" in r:
        g = r["gpu_delegate"]
        rows["GPU delegate"] = "compatible" if g["compatible"] else "INCOMPATIBLE: " + "; ".join(
            f"node {o['node']} {o['op']}: {o['reason']}" for o in g["incompatible_ops"])
    m = r.get("metadata")
    rows["contract"] = (f"{m['source']}: {m['target']}, input {m['input']['height']}x{m['input']['width']}x"
                        f"{m['input']['channels']} x*{m['input']['scale']:.6g}+{m['input']['offset']}, "
                        f"output {m['output']['kind']} {', '.join(m['output']['labels'])}") if m else "none"
    e = r.get("embedded_metadata")
    rows["embedded contract"] = (f"{e['name']} v{e['version']} {e['target']} ({e['precision']}), parity: "
                                 f"{(e.get('parity') or {}).get('criterion', 'n/a')}") if e else "none"
    t = r.get("tflite_metadata")
    if t is not None:
        rows["TFLite metadata"] = _describe_tflite_metadata(t)
    print_kv("inspect", rows)


def _describe_tflite_metadata(t: dict) -> str:
    if "unavailable" in t:
        return t["unavailable"]
    sub = (t.get("subgraph_metadata") or [{}])[0]
    inp = (sub.get("input_tensor_metadata") or [{}])[0]
    norm = next((u["options"] for u in inp.get("process_units") or [] if u.get("options_type") == "NormalizationOptions"),
                None)
    files = [f["name"] for o in sub.get("output_tensor_metadata") or [] for f in o.get("associated_files") or []]
    files += [f["name"] for f in t.get("associated_files") or []]
    return (f"{t.get('name')} v{t.get('version')} by {t.get('author')}; input "
            f"{(inp.get('content') or {}).get('content_properties', {}).get('color_space', '?')}"
            + (f" mean {norm['mean']} std {norm['std']}" if norm else " (quantized, no normalisation)")
            + f"; files {', '.join(files)}; min parser {t.get('min_parser_version')}")


@app.command()
@user_errors(outputs={"bundle": ("BUNDLE", "dir")})
def golden(
    bundle: Path = typer.Argument(..., help="Bundle folder written by `mobilekit export --bundle` (model.tflite + metadata.json)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest summary as JSON."),
):
    """(Re)write BUNDLE/golden/: test vectors the app cores must reproduce.

    Runs the bundle's model.tflite with LiteRT on four scikit-image photos delivered as camera frames (ARGB, not at the model's size, one rotated 90 degrees, one rotated 270 degrees and mirrored).

    Stores each case's input tensor, raw output, probabilities, mask and portrait composite (for a parsing model also the class maps and the parts overlay) as little-endian binaries plus golden/manifest.json (format: android_demo/GOLDEN.md). Check them with android_demo's GoldenCheck.
    """
    import json as _json

    from mobile_kit.export.golden import write_golden

    path = write_golden(bundle)
    m = _json.loads(path.read_text())
    if as_json:
        print_json({"manifest": str(path), "cases": m["cases"], "tolerances": m["tolerances"]})
    else:
        print_table(f"golden vectors ({path})", ["case", "frame", "rotation", "mirror", "upright", "resize", "foreground %"],
                    [[c["name"], f"{c['frame_width']}x{c['frame_height']}", c["rotation_degrees"], c["mirror"],
                      f"{c['width']}x{c['height']}", c["resize"], f"{100 * c['foreground_fraction']:.1f}"] for c in m["cases"]])


#: Exit statuses of an interrupted command (128 + SIGINT, 128 + SIGTERM).
INTERRUPTED_EXIT_CODES = (130, 143)


def main():  # console-script entry point
    """Run the CLI; an interrupted command ends with exactly 130/143.

    CPython ends a process by re-raising SIGINT on itself (status -2) if a
    KeyboardInterrupt ever escaped code run through ``exec`` of a string, even
    one that was caught later; everything has been cleaned up by then, so the
    status is set with :func:`os._exit` after flushing the output.
    """
    import os
    import sys

    try:
        app()
    except SystemExit as e:
        if e.code in INTERRUPTED_EXIT_CODES:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(e.code)
        raise


if __name__ == "__main__":
    main()
