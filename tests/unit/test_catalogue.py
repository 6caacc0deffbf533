"""The catalogue of bad inputs and faults (issue 10), run through the real CLI entry point.

Every row is one thing a careless or hostile user (or a full disk, a
read-only folder, Ctrl-C, SIGTERM) can do, with the exit status and a message
fragment the CLI must give: 2 and one line for a user error, 1 plus a crash
log for a bug, 130/143 for an interrupt, never a traceback. Cases that need a
model share one tiny untrained 32x32 likeunet and one tflite-fp32 export of
it, built once per session.
"""
from __future__ import annotations

import builtins
import errno
import io
import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import write_jpg, write_png

runner = CliRunner()


# ----------------------------------------------------------------------------------------------------------------
# Simulated file-system faults: a patched writer (chmod does not stop root, and mounting a read-only tmpfs needs
# privileges CI does not have).

class FsFault:
    """Make opening-for-write, mkdir and rename fail with ``err`` for paths that ``match`` (a predicate on str).

    ``partial=True`` lets the open succeed and fails the first write after half of its bytes were written
    (what a disk that fills up mid-file does).
    """

    def __init__(self, monkeypatch, match, err=errno.ENOSPC, partial=False):
        self.match, self.err, self.partial, self.hits = match, err, partial, 0
        real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir
        real_replace = os.replace

        def oserror(path):
            self.hits += 1
            return OSError(self.err, os.strerror(self.err), str(path))

        def writing(mode):
            return any(c in str(mode) for c in "wax+")

        def fake_open(file, mode="r", *a, **k):
            if isinstance(file, (str, os.PathLike)) and writing(mode) and self.match(os.fspath(file)):
                if not self.partial:
                    raise oserror(file)
                return _HalfWriter(real_open(file, mode, *a, **k), oserror(file))
            return real_open(file, mode, *a, **k)

        def fake_os_open(path, flags, *a, **k):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and self.match(os.fspath(path)) and not self.partial:
                raise oserror(path)
            return real_os_open(path, flags, *a, **k)

        def fake_mkdir(path, *a, **k):
            if self.match(os.fspath(path)) and not self.partial:
                raise oserror(path)
            return real_mkdir(path, *a, **k)

        def fake_replace(src, dst, *a, **k):
            if self.match(os.fspath(dst)) and not self.partial:
                raise oserror(dst)
            return real_replace(src, dst, *a, **k)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)
        monkeypatch.setattr(os, "replace", fake_replace)


class _HalfWriter:
    def __init__(self, f, error):
        self._f, self._error = f, error

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise self._error

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


# ----------------------------------------------------------------------------------------------------------------
# Inputs shared by the cases.

@pytest.fixture(scope="session")
def world(tiny_run, tmp_path_factory):
    """Datasets, a tiny run, its tflite-fp32 export and broken variants of each (built once)."""
    from mobile_kit.export import export_model
    from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec

    w = tmp_path_factory.mktemp("world")
    rng = np.random.default_rng(0)
    ds = w / "ds"
    for i in range(3):
        m = np.zeros((48, 64), np.uint8)
        m[10:30, 10 + 5 * i: 40 + 5 * i] = 255
        write_jpg(ds / "images" / f"img{i}.jpg", rng.integers(0, 200, (48, 64, 3), dtype=np.uint8))
        write_png(ds / "masks" / f"img{i}.png", m)
    bad = w / "bad_ds"
    shutil.copytree(ds, bad)
    (bad / "images" / "img0.jpg").write_bytes((ds / "images" / "img0.jpg").read_bytes()[:150])
    write_png(bad / "masks" / "img1.png", np.full((48, 64), 7, np.uint8))
    (w / "empty_ds" / "images").mkdir(parents=True)
    (w / "empty_ds" / "masks").mkdir(parents=True)

    exp = export_model(tiny_run, "tflite-fp32", w / "fp32")
    tfl = exp.artifact
    (w / "garbage.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    (w / "trunc").mkdir()
    (w / "trunc" / "model.tflite").write_bytes(tfl.read_bytes()[: tfl.stat().st_size // 2])
    shutil.copy(exp.metadata_path, w / "trunc" / "metadata.json")
    (w / "fake.onnx").write_bytes(b"\x08\x07garbage protobuf" * 5)
    (w / "notes.txt").write_text("hello")
    (w / "corrupt_run").mkdir()
    (w / "corrupt_run" / "train_state.json").write_text('{"history": [')  # a hand-edited or truncated state
    (w / "afile").write_text("I am a file")
    # metadata that passes the schema but disagrees with the model: 64x64 contract on a 32x32 model
    for name, src in (("mismatch_run", tiny_run / "model.keras"), ("mismatch_tfl", tfl)):
        (w / name).mkdir()
        shutil.copy(src, w / name / src.name)
        ModelMetadata(input=InputSpec(64, 64, 3), output=OutputSpec(), name="tiny", arch="likeunet").save(
            w / name / "metadata.json")
    # a 2-channel softmax artifact next to sigmoid metadata (the wrong pair of a half-finished write)
    (w / "wrong_pair").mkdir()
    shutil.copy(tfl, w / "wrong_pair" / "model.tflite")
    ModelMetadata(input=InputSpec(32, 32, 3), output=OutputSpec(kind="sigmoid", labels=("person",), foreground_index=0),
                  name="tiny", arch="likeunet").save(w / "wrong_pair" / "metadata.json")
    # report inputs of the wrong shape
    for name, doc in {"list12": [1, 2], "num": 42, "nulls": [None], "err5": {"results": [{"error": 5}]},
                      "results7": {"results": 7}, "badfield": {"results": [{"schema_version": 1, "size_bytes": "x"}]},
                      "str": "hello"}.items():
        (w / f"{name}.json").write_text(json.dumps(doc))
    (w / "notjson.json").write_text("{results: [")
    (w / "latin1.json").write_bytes(b'{"results": ["caf\xe9"]}')
    # photos: a good one, an unreadable one, two with the same name in different folders
    write_jpg(w / "photos" / "good.jpg", rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
    (w / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    write_jpg(w / "photos" / "a" / "same.jpg", np.full((40, 50, 3), 10, np.uint8))
    write_jpg(w / "photos" / "b" / "same.jpg", np.full((40, 50, 3), 240, np.uint8))
    # an adb that answers with bytes that are not UTF-8
    adb = w / "adb_latin1"
    adb.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.buffer.write(b'List of devices attached\\n"
                   f"\\xff\\xfeSER\\xe91 unauthorized usb:1 \\xe9\\n\\n')\n")
    adb.chmod(0o755)
    return {"w": w, "ds": ds, "bad_ds": bad, "empty_ds": w / "empty_ds", "run": tiny_run, "tfl": tfl,
            "fp32": w / "fp32"}


@dataclass
class Case:
    id: str
    args: list
    code: int
    fragments: tuple
    fault: str | None = None
    check: str | None = None
    slow: bool = False
    extra: dict = field(default_factory=dict)


def C(id, args, code, *fragments, fault=None, check=None, slow=False):
    return Case(id, args.split(), code, fragments, fault, check, slow)


CASES = [
    # validate
    C("validate-missing", "validate {w}/nope", 2, "nope", "not found"),
    C("validate-file", "validate {w}/afile", 2, "afile"),
    C("validate-empty", "validate {empty_ds}", 2, "empty dataset"),
    C("validate-corrupt", "validate {bad_ds}", 2, "truncated"),
    # train: outputs, ranges, names
    C("train-out-is-file", "train --data {ds} --out {w}/afile --input-size 32", 2, "--out", "afile", "existing file"),
    C("train-out-under-file", "train --data {ds} --out {w}/afile/run --input-size 32", 2, "--out", "is a file"),
    C("train-out-proc", "train --data {ds} --out /proc/mobilekit-run --input-size 32", 2, "/proc", "virtual"),
    C("train-out-readonly", "train --data {ds} --out {tmp}/ro/run --input-size 32", 2, "--out", "read-only",
      fault="readonly_tmp"),
    C("train-out-full-disk", "train --data {ds} --out {tmp}/run --input-size 32", 2, "--out", "disk is full",
      fault="full_tmp"),
    C("train-max-images-neg", "train --data {ds} --out {tmp}/r --max-images -1", 2, "--max-images"),
    C("train-max-images-0", "train --data {ds} --out {tmp}/r --max-images 0", 2, "--max-images"),
    C("train-epochs-0", "train --data {ds} --out {tmp}/r --epochs 0", 2, "--epochs"),
    C("train-batch-0", "train --data {ds} --out {tmp}/r --batch-size 0", 2, "--batch-size"),
    C("train-lr-0", "train --data {ds} --out {tmp}/r --lr 0", 2, "--lr", "> 0"),
    C("train-lr-neg", "train --data {ds} --out {tmp}/r --lr -0.1", 2, "--lr"),
    C("train-val-fraction-1", "train --data {ds} --out {tmp}/r --val-fraction 1", 2, "--val-fraction"),
    C("train-val-fraction-neg", "train --data {ds} --out {tmp}/r --val-fraction -0.2", 2, "--val-fraction"),
    C("train-input-size-33", "train --data {ds} --out {tmp}/r --input-size 33", 2, "multiples of 32"),
    C("train-arch", "train --data {ds} --out {tmp}/r --arch resnet", 2, "valid architectures: likeunet"),
    C("train-loss", "train --data {ds} --out {tmp}/r --loss l7", 2, "l7"),
    C("train-qat-neg", "train --data {ds} --out {tmp}/r --qat -1", 2, "--qat"),
    C("train-base-filters-0", "train --data {ds} --out {tmp}/r --base-filters 0", 2, "--base-filters"),
    C("train-depth-0", "train --data {ds} --out {tmp}/r --depth 0", 2, "--depth"),
    C("train-resume-nothing", "train --data {ds} --out {tmp}/r --resume --input-size 32", 2, "--resume",
      "no checkpoint"),
    C("train-bad-dataset", "train --data {bad_ds} --out {tmp}/r --input-size 32", 2, "truncated",
      check="no_out_r"),
    C("train-full-disk-mid-run", "train --data {ds} --out {tmp}/r --input-size 32 --epochs 2 --batch-size 2 "
      "--no-augment", 2, "history.json", "disk is full", fault="full_history", check="resumable_no_tmp"),
    C("train-full-disk-first-epoch", "train --data {ds} --out {tmp}/r --input-size 32", 2, "disk is full",
      fault="full_in_first_epoch", check="no_out_r"),
    C("train-resume-corrupt-state", "train --data {ds} --out {w}/corrupt_run --input-size 32 --resume", 2,
      "train_state.json", "cannot be read"),
    C("train-seed-neg", "train --data {ds} --out {tmp}/r --seed -1", 2, "--seed"),
    C("train-data-missing", "train --data {w}/nods --out {tmp}/r --input-size 32", 2, "nods"),
    # eval
    C("eval-threshold-2", "eval {run} --data {ds} --threshold 2.0", 2, "--threshold"),
    C("eval-threshold-neg", "eval {run} --data {ds} --threshold -0.1", 2, "--threshold"),
    C("eval-limit-neg", "eval {run} --data {ds} --limit -1", 2, "--limit"),
    C("eval-limit-0", "eval {run} --data {ds} --limit 0", 2, "--limit"),
    C("eval-val-fraction", "eval {run} --data {ds} --val-fraction 1.5", 2, "--val-fraction"),
    C("eval-seed-neg", "eval {run} --data {ds} --seed -3", 2, "--seed"),
    C("eval-split", "eval {run} --data {ds} --split test", 2, "all, train, val"),
    C("eval-garbage-tflite", "eval {w}/garbage.tflite --data {ds} --input-norm 0..1 --output-kind softmax", 2,
      "garbage.tflite"),
    C("eval-truncated-tflite", "eval {w}/trunc/model.tflite --data {ds}", 2, "model.tflite", "TFLite"),
    C("eval-fake-onnx", "eval {w}/fake.onnx --data {ds}", 2, "fake.onnx"),
    C("eval-contract-keras", "eval {w}/mismatch_run --data {ds}", 2, "metadata.json", "[64, 64, 3]",
      "does not belong"),
    # (an exported .tflite also embeds its contract, so the stale metadata.json is caught by that comparison)
    C("eval-contract-tflite", "eval {w}/mismatch_tfl --data {ds}", 2, "metadata.json", "input.height"),
    C("eval-wrong-pair", "eval {w}/wrong_pair --data {ds}", 2, "metadata.json", "output"),
    C("eval-txt-model", "eval {w}/notes.txt --data {ds}", 2, "notes.txt", ".tflite"),
    C("eval-third-party-no-contract", "eval {w}/garbage.tflite --data {ds}", 2, "--input-norm"),
    # bench
    C("bench-timeout-neg", "bench {tfl} --timeout -5", 2, "--timeout", "> 0"),
    C("bench-timeout-0", "bench {tfl} --timeout 0", 2, "--timeout"),
    C("bench-runs-0", "bench {tfl} --runs 0", 2, "--runs"),
    C("bench-threads-0", "bench {tfl} --threads 0", 2, "--threads"),
    C("bench-warmup-neg", "bench {tfl} --warmup -1", 2, "--warmup"),
    C("bench-garbage", "bench {w}/garbage.tflite", 2, "garbage.tflite", "LiteRT cannot load"),
    C("bench-truncated", "bench {w}/trunc/model.tflite", 2, "model.tflite", "LiteRT cannot load"),
    C("bench-keras", "bench {run}/model.keras", 2, ".tflite"),
    C("bench-device", "bench {tfl} --device ios", 2, "'local' or 'adb'"),
    C("bench-out-folder", "bench {tfl} --out {w}", 2, "--out", "existing folder"),
    C("bench-out-proc", "bench {tfl} --out /proc/bench.json", 2, "/proc"),
    C("bench-out-readonly", "bench {tfl} --runs 2 --out {tmp}/ro/b.json", 2, "read-only", fault="readonly_tmp",
      check="not_measured"),
    C("bench-out-full-at-end", "bench {tfl} --runs 2 --warmup 0 --out {tmp}/b.json --json", 2, "disk is full",
      fault="full_at_result", check="result_printed"),
    C("bench-adb-not-utf8", "bench {tfl} --device adb --adb {w}/adb_latin1 --timeout 20", 2, "USB debugging"),
    C("bench-adb-not-executable", "bench {tfl} --device adb --adb {w}/notes.txt --timeout 5", 2, "notes.txt",
      "cannot be run"),
    # inspect
    C("inspect-garbage", "inspect {w}/garbage.tflite", 2, "garbage.tflite", "LiteRT cannot load"),
    C("inspect-truncated", "inspect {w}/trunc/model.tflite", 2, "model.tflite"),
    C("inspect-fake-onnx", "inspect {w}/fake.onnx", 2, "fake.onnx", "ONNX"),
    C("inspect-missing", "inspect {w}/missing.tflite", 2, "not found"),
    C("inspect-txt", "inspect {w}/notes.txt", 2, "notes.txt"),
    # report: well-formed JSON of the wrong shape, bad bytes, bad outputs
    C("report-list-of-numbers", "report {w}/list12.json --out {tmp}/rep", 2, "list12.json [0]", "result object"),
    C("report-number", "report {w}/num.json --out {tmp}/rep", 2, "num.json", "found a number"),
    C("report-null-row", "report {w}/nulls.json --out {tmp}/rep", 2, "nulls.json [0]", "found null"),
    C("report-error-5", "report {w}/err5.json --out {tmp}/rep", 2, "err5.json [0]", "error"),
    C("report-results-7", "report {w}/results7.json --out {tmp}/rep", 2, "results7.json"),
    C("report-bad-field", "report {w}/badfield.json --out {tmp}/rep", 2, "badfield.json [0]"),
    C("report-string", "report {w}/str.json --out {tmp}/rep", 2, "str.json"),
    C("report-not-json", "report {w}/notjson.json --out {tmp}/rep", 2, "notjson.json", "expected JSON"),
    C("report-not-utf8", "report {w}/latin1.json --out {tmp}/rep", 2, "latin1.json", "UTF-8"),
    C("report-missing", "report {w}/none.json --out {tmp}/rep", 2, "none.json", "not found"),
    C("report-out-file", "report {w}/num.json --out {w}/afile", 2, "--out", "existing file"),
    C("report-between-renames", "report {res} --out {tmp}/rep", 2, "injected", fault="fail_second_rename",
      check="old_report_kept"),
    C("report-full-disk-while-staging", "report {res} --out {tmp}/rep", 2, "disk is full", fault="full_staging",
      check="old_report_kept"),
    C("report-swallowed-ctrl-c", "report {res} --out {tmp}/rep", 130, "interrupted", fault="swallowed_interrupt",
      check="old_report_kept"),
    C("report-sigterm-turned-into-importerror", "report {res} --out {tmp}/rep", 143, "interrupted",
      fault="interrupt_as_import_error", check="old_report_kept"),
    # predict
    C("predict-threshold", "predict {tfl} {w}/photos/good.jpg --out {tmp}/p --threshold 1.5", 2, "--threshold"),
    C("predict-no-images", "predict {tfl} --out {tmp}/p", 2, "IMAGE"),
    C("predict-effect", "predict {tfl} {w}/photos/good.jpg --out {tmp}/p --effect sepia", 2, "blur, mask, overlay"),
    C("predict-out-file", "predict {tfl} {w}/photos/good.jpg --out {w}/afile", 2, "--out", "existing file"),
    C("predict-mixed-batch", "predict {tfl} {w}/photos/broken.jpg {w}/photos/good.jpg --out {tmp}/p", 2,
      "broken.jpg", "1 of 2", check="good_written"),
    C("predict-same-names", "predict {tfl} {w}/photos/a/same.jpg {w}/photos/b/same.jpg --out {tmp}/p --json", 0,
      "same-2_mask.png", check="both_written"),
    # export, fold, qat, import, quickstart
    C("export-out-file", "export {run} --target tflite-fp32 --out {w}/afile", 2, "--out", "existing file"),
    C("export-bundle-proc", "export {run} --target tflite-fp32 --bundle /proc/x", 2, "--bundle", "/proc"),
    C("export-target", "export {run} --target tflite-int4 --out {tmp}/e", 2, "tflite-fp32"),
    C("export-num-calibration", "export {run} --num-calibration 0 --out {tmp}/e", 2, "--num-calibration"),
    C("export-opset-0", "export {run} --target onnx --opset 0 --out {tmp}/e", 2, "--opset"),
    C("export-no-out", "export {run} --target tflite-fp32", 2, "--out"),
    C("export-contract", "export {w}/mismatch_run --target tflite-fp32 --out {tmp}/e", 2, "does not belong"),
    C("export-readonly", "export {run} --target tflite-fp32 --out {tmp}/ro/e", 2, "read-only",
      fault="readonly_tmp"),
    C("export-between-renames", "export {run} --target tflite-fp32 --out {tmp}/e", 2, "injected",
      fault="fail_second_rename_export", check="old_export_kept", slow=True),
    C("export-full-disk-mid-file", "export {run} --target tflite-fp32 --out {tmp}/e", 2, "disk is full",
      fault="half_write_staging", check="old_export_kept", slow=True),
    C("export-ctrl-c", "export {run} --target tflite-fp32 --out {tmp}/e", 130, "interrupted",
      fault="interrupt_parity", check="old_export_kept", slow=True),
    C("fold-out-file", "fold {run} --out {w}/afile", 2, "--out", "existing file"),
    C("fold-missing", "fold {w}/nope.keras --out {tmp}/f", 2, "nope.keras"),
    C("qat-int8-io", "qat {run} --data {ds} --out {tmp}/q --int8-io int4", 2, "int4", "int8, uint8",
      check="no_out_q"),
    C("qat-epochs-0", "qat {run} --data {ds} --out {tmp}/q --epochs 0", 2, "--epochs"),
    C("qat-lr-0", "qat {run} --data {ds} --out {tmp}/q --lr 0", 2, "--lr"),
    C("import-channel-order", "import {w}/fake.onnx --out {tmp}/i --channel-order XYZ", 2, "XYZ", "BGR, RGB"),
    C("import-foreground-index", "import {w}/fake.onnx --out {tmp}/i --foreground-index -1", 2, "--foreground-index"),
    C("import-out-file", "import {w}/fake.onnx --out {w}/afile", 2, "--out", "existing file"),
    C("import-fake-onnx", "import {w}/fake.onnx --out {tmp}/i", 2, "fake.onnx"),
    C("quickstart-out-file", "quickstart --out {w}/afile", 2, "--out", "existing file"),
    C("quickstart-runs-0", "quickstart --out {tmp}/qs --runs 0", 2, "--runs"),
    # interrupts and bugs
    C("sigterm-during-bench", "bench {tfl} --runs 2", 143, "interrupted", fault="sigterm_in_bench"),
    C("internal-error", "inspect {tfl}", 1, "internal error", "traceback written to", fault="bug_in_inspect",
      check="crash_log"),
]


def _report_results(w: Path, tmp: Path) -> Path:
    """A valid results file (one local benchmark row) and an existing report in tmp/rep to protect."""
    from mobile_kit.bench.local import local_device

    row = {"schema_version": 1, "artifact": "m.tflite", "model_sha256": "0" * 64, "size_bytes": 1000,
           "device": local_device(), "runtime": {"name": "litert-python"}, "delegate": "cpu", "threads": 1,
           "latency_us": {"min": 10.0, "mean": 12.0, "p50": 11.0}, "memory_mb": {"model_delta": 1.0},
           "toolkit_version": "0", "date": "2026-01-01"}
    res = tmp / "res.json"
    res.write_text(json.dumps({"results": [row]}))
    (tmp / "rep").mkdir()
    (tmp / "rep" / "report.md").write_text("OLD MD")
    (tmp / "rep" / "report.png").write_bytes(b"OLD PNG")
    return res


def _apply_fault(name, monkeypatch, tmp: Path, world):
    import mobile_kit.fileio as fileio

    if name == "readonly_tmp":
        (tmp / "ro").mkdir()
        FsFault(monkeypatch, lambda p: p.startswith(str(tmp / "ro")), errno.EROFS)
    elif name == "full_tmp":
        FsFault(monkeypatch, lambda p: p.startswith(str(tmp)), errno.ENOSPC)
    elif name == "full_at_result":
        FsFault(monkeypatch, lambda p: p.startswith(str(tmp)) and "probe" not in p, errno.ENOSPC)
    elif name == "full_history":  # the disk fills up while history.json is written after the first epoch
        FsFault(monkeypatch, lambda p: Path(p).name.startswith(".history."), errno.ENOSPC, partial=True)
    elif name == "full_in_first_epoch":  # TensorBoard logs/ exist, no checkpoint yet, then the disk is full
        import mobile_kit.training as training

        def fit(model, prep, out, *a, **k):
            (out / "logs").mkdir(parents=True)
            (out / "logs" / "events.out").write_bytes(b"x")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / "checkpoints" / "ckpt-1.index"))

        monkeypatch.setattr(training, "fit", fit)
    elif name == "full_staging":
        FsFault(monkeypatch, lambda p: fileio.STAGING_PREFIX in p, errno.ENOSPC)
    elif name == "half_write_staging":
        FsFault(monkeypatch, lambda p: fileio.STAGING_PREFIX in p and p.endswith(".json"), errno.ENOSPC,
                partial=True)
    elif name in ("fail_second_rename", "fail_second_rename_export"):
        real, calls = fileio._rename, []

        def second_new_rename(src, dest):  # the old files are moved away; the first new file is in place
            if fileio.STAGING_PREFIX in str(src):
                calls.append(dest)
                if len(calls) == 2:
                    raise OSError(errno.EIO, "injected failure between the two renames", str(dest))
            return real(src, dest)

        monkeypatch.setattr(fileio, "_rename", second_new_rename)
    elif name == "swallowed_interrupt":
        import mobile_kit.bench.report as rep

        real_plot = rep.plot

        def plot(results, path):
            fileio.note_interrupt(signal.SIGINT)  # what a converter's C++ code does when it eats the KeyboardInterrupt
            return real_plot(results, path)

        monkeypatch.setattr(rep, "plot", plot)
    elif name == "interrupt_as_import_error":
        import mobile_kit.bench.report as rep

        def plot(results, path):  # SIGTERM lands while a C extension initialises: it re-raises as ImportError
            fileio.note_interrupt(signal.SIGTERM)
            raise ImportError("initialization failed")

        monkeypatch.setattr(rep, "plot", plot)
    elif name == "interrupt_parity":
        import mobile_kit.verify as verify

        def parity_report(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(verify, "parity_report", parity_report)
    elif name == "sigterm_in_bench":
        import mobile_kit.bench as bench

        def bench_local(*a, **k):
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("SIGTERM did not interrupt")

        monkeypatch.setattr(bench, "bench_local", bench_local)
    elif name == "bug_in_inspect":
        import mobile_kit.inspect as insp

        def inspect_model(*a, **k):
            raise ValueError("boom: a bug")

        monkeypatch.setattr(insp, "inspect_model", inspect_model)
    else:
        raise AssertionError(name)


def _hidden_leftovers(folder: Path) -> list:
    return [p.name for p in folder.rglob(".*")] if folder.exists() else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in CASES])
def test_catalogue(case: Case, world, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setenv("MOBILEKIT_LOG_DIR", str(tmp_path / "logs"))
    tmp = tmp_path / "t"
    tmp.mkdir()
    fmt = {k: str(v) for k, v in world.items()}
    fmt["tmp"] = str(tmp)
    if "report" in case.id and case.fault:
        fmt["res"] = str(_report_results(world["w"], tmp))
    if case.check == "old_export_kept":
        (tmp / "e").mkdir()
        (tmp / "e" / "model.tflite").write_bytes(b"OLD MODEL")
        (tmp / "e" / "metadata.json").write_text("OLD META")
    calls = []
    if case.check == "not_measured":
        import mobile_kit.bench as bench

        monkeypatch.setattr(bench, "bench_local", lambda *a, **k: calls.append(1))
    if case.fault:
        _apply_fault(case.fault, monkeypatch, tmp, world)
    run_tmp_before = set(Path(tempfile.gettempdir()).glob("mobilekit-run-*"))
    r = runner.invoke(app, [a.format(**fmt) for a in case.args])
    out = r.output
    assert r.exit_code == case.code, out
    assert "Traceback" not in out and not isinstance(r.exception, (AssertionError, TypeError)), out
    for frag in case.fragments:
        assert frag.format(**fmt) in out, out
    if case.code != 0 and "Usage:" not in out:  # one error line (option-parsing errors get click's usage box)
        assert sum(1 for line in out.splitlines() if line.startswith("error:")) == 1, out
    assert set(Path(tempfile.gettempdir()).glob("mobilekit-run-*")) <= run_tmp_before  # private temp dir removed
    monkeypatch.undo()
    _check(case, tmp, world, out, calls, tmp_path)


def _check(case, tmp, world, out, calls, tmp_path):
    if case.check is None:
        return
    if case.check == "no_out_r":
        assert not (tmp / "r").exists()
    elif case.check == "resumable_no_tmp":
        from mobile_kit.training import read_run_state

        assert [h["epoch"] for h in read_run_state(tmp / "r")["history"]] == [1]  # epoch 1 is safe in its checkpoint
        assert not list((tmp / "r").glob(".*"))  # the half-written history file was removed
    elif case.check == "no_out_q":
        assert not (tmp / "q").exists()
    elif case.check == "not_measured":
        assert calls == []  # the output folder was refused before the benchmark ran
    elif case.check == "result_printed":
        doc = json.loads(out[out.index("{"): out.rindex("}") + 1])  # the measurement is not lost
        assert doc["results"][0]["latency_us"]["p50"] > 0
        assert not (tmp / "b.json").exists() and _hidden_leftovers(tmp) == []
    elif case.check == "old_report_kept":
        assert (tmp / "rep" / "report.md").read_text() == "OLD MD"
        assert (tmp / "rep" / "report.png").read_bytes() == b"OLD PNG"
        assert _hidden_leftovers(tmp / "rep") == []
    elif case.check == "old_export_kept":
        assert (tmp / "e" / "model.tflite").read_bytes() == b"OLD MODEL"
        assert (tmp / "e" / "metadata.json").read_text() == "OLD META"
        assert sorted(p.name for p in (tmp / "e").iterdir()) == ["metadata.json", "model.tflite"]
    elif case.check == "good_written":
        assert (tmp / "p" / "good_mask.png").is_file() and not list((tmp / "p").glob("broken*"))
    elif case.check == "both_written":
        rows = json.loads(out[out.index("["): out.rindex("]") + 1])
        assert [Path(r["output"]).name for r in rows] == ["same_mask.png", "same-2_mask.png"]
        assert {r["source"] for r in rows} == {str(world["w"] / "photos" / d / "same.jpg") for d in "ab"}
    elif case.check == "crash_log":
        logs = list((tmp_path / "logs").glob("mobilekit-crash-*.log"))
        assert len(logs) == 1 and str(logs[0]) in out.replace("\n", "")
        assert "ValueError: boom: a bug" in logs[0].read_text() and "Traceback" in logs[0].read_text()
    else:
        raise AssertionError(case.check)


def test_catalogue_is_large_and_covers_every_command():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    commands = {c.args[0] for c in CASES}
    assert commands >= {"validate", "train", "eval", "bench", "inspect", "report", "predict", "export", "fold",
                        "qat", "import", "quickstart"}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signal_during_a_real_export_leaves_nothing(tiny_run, tmp_path, sig):
    """A real process, a real signal while the model is folded or converted: exit 128+N, no temp folder, no output."""
    import subprocess
    import time

    tmpdir, out = tmp_path / "tmp", tmp_path / "out"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    p = subprocess.Popen([sys.executable, "-m", "mobile_kit.cli.app", "export", str(tiny_run), "--target",
                          "tflite-fp32", "--out", str(out), "--quiet"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t0 = time.time()
    while not list(tmpdir.glob("mobilekit-run-*")) and time.time() - t0 < 120 and p.poll() is None:
        time.sleep(0.05)
    time.sleep(2.0)  # model loaded, folding or converting
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + sig, err.decode()[-2000:]
    assert "interrupted" in err.decode() and "Traceback" not in err.decode()
    assert list(tmpdir.iterdir()) == [] and not out.exists()
