"""The pipeline outside mobile_kit/tasks/ is task-generic; the contract field is foreground_index (legacy name read)."""
import copy
import json
import re

import numpy as np
import pytest

from mobile_kit.errors import ModelError
from mobile_kit.specs import ModelMetadata, OutputSpec, validate_metadata
from mobile_kit.tasks import (DEFAULT_TASK, LEGACY_OUTPUT_FIELDS, builtin_models, default_labels,
                              headline_label, headline_metrics, headline_of, task_class, task_names)
from tests.conftest import ROOT

PKG = ROOT / "mobile_kit"
#: Not code: packaged model assets and JSON schemas may name tasks and classes.
NON_CODE = ("tasks", "assets", "schemas")
#: ``num_classes`` defaulting to a number, or a labels tuple/list spelled out: class counts and labels belong to tasks.
CLASS_COUNT = re.compile(r"num_classes\s*(?::\s*int\s*)?=\s*\d")
LABELS_TUPLE = re.compile(r"""[(\[]\s*["']background["']\s*,""")


def _code_files():
    for p in sorted(PKG.rglob("*")):
        rel = p.relative_to(PKG)
        if p.is_file() and rel.parts[0] not in NON_CODE and "__pycache__" not in rel.parts:
            yield rel.as_posix(), p.read_text(errors="replace")


def test_no_code_outside_the_task_registry_mentions_person():
    files = dict(_code_files())
    assert "runtime.py" in files and "cli/app.py" in files and "recipe/sources.py" in files  # the walk sees code
    hits = [f"{rel}:{i}: {line.strip()}" for rel, text in files.items()
            for i, line in enumerate(text.splitlines(), 1) if "person" in line.lower()]
    assert not hits, "\n".join(hits)


def test_no_hard_coded_class_count_or_labels_outside_the_task_registry():
    assert CLASS_COUNT.search("def f(x, num_classes: int = 2):") and CLASS_COUNT.search("f(num_classes=2)")
    assert LABELS_TUPLE.search('labels=("background", "person")') and not LABELS_TUPLE.search("labels=labels")
    hits = []
    for rel, text in _code_files():
        for i, line in enumerate(text.splitlines(), 1):
            if LABELS_TUPLE.search(line) or CLASS_COUNT.search(line):
                hits.append(f"{rel}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_default_contract_comes_from_the_default_task():
    cls = task_class(DEFAULT_TASK)
    assert default_labels() == tuple(cls.labels)
    spec = OutputSpec()
    assert spec.labels == default_labels() and spec.foreground_index == len(default_labels()) - 1
    assert OutputSpec("sigmoid", labels=("fg",)).foreground_index == 0


# --- metadata migration: old name read, new name written -------------------------------------------------------

def _builtin_v1():
    return json.loads((ROOT / "mobile_kit/assets/builtin/metadata.json").read_text())


def test_legacy_index_name_is_read_from_v1_and_early_v2_files(tmp_path):
    (old, new), = LEGACY_OUTPUT_FIELDS.items()
    v1 = _builtin_v1()
    assert v1["schema_version"] == 1 and old in v1["output"] and new not in v1["output"]  # a real v1 file
    v2_old = copy.deepcopy(v1)
    v2_old.update(schema_version=2, task={"name": DEFAULT_TASK})
    v2_old["output"][old] = 0  # an early v2 file: task present, index under its old name
    for d, want in ((v1, v1["output"][old]), (v2_old, 0)):
        validate_metadata(d)  # the schema accepts the legacy name
        path = tmp_path / "metadata.json"
        path.write_text(json.dumps(d))
        meta = ModelMetadata.load(path)
        assert meta.output.foreground_index == want and meta.task["name"] == DEFAULT_TASK
        written = meta.to_dict()
        assert written["schema_version"] == 2 and written["output"][new] == want and old not in written["output"]
        validate_metadata(written)
        assert ModelMetadata.from_dict(written).output == meta.output  # the new file reads back the same


def test_current_name_wins_and_a_contract_without_index_is_refused():
    (old, new), = LEGACY_OUTPUT_FIELDS.items()
    out = {"kind": "softmax", "labels": ["a", "b", "c"], old: 1, new: 2, "threshold": 0.5}
    assert OutputSpec.from_dict(out).foreground_index == 2
    assert OutputSpec.from_dict({k: v for k, v in out.items() if k != new}).foreground_index == 1
    d = _builtin_v1()
    del d["output"][old]
    with pytest.raises(ModelError, match="output"):
        validate_metadata(d, "m.json")


def test_shipped_v2_metadata_uses_the_current_name():
    (old, new), = LEGACY_OUTPUT_FIELDS.items()
    for folder in builtin_models().values():
        d = json.loads((folder / "metadata.json").read_text())
        if d["schema_version"] == 2:
            assert new in d["output"] and old not in d["output"], folder
        assert ModelMetadata.from_dict(d).output.foreground_index in range(len(d["output"]["labels"]))


# --- the registry drives built-ins, help texts and report headlines ---------------------------------------------

def test_builtins_and_cli_help_come_from_the_registry():
    import typer
    from typer.testing import CliRunner

    from mobile_kit.cli.app import BUILTIN_HELP, app
    from mobile_kit.runtime import BUILTINS, DEFAULT_BUILTIN, builtin_name, resolve_model_path

    assert BUILTINS == builtin_models() and DEFAULT_BUILTIN == DEFAULT_TASK
    assert next(iter(BUILTINS)) == DEFAULT_TASK
    for name, folder in BUILTINS.items():
        assert f"builtin:{name}" in BUILTIN_HELP and (folder / "model.keras").is_file()
        assert resolve_model_path(f"builtin:{name}") == folder / "model.keras"
    assert builtin_name("builtin") == DEFAULT_TASK
    assert CliRunner().invoke(app, ["train", "--help"]).exit_code == 0
    cmds = typer.main.get_command(app).commands
    for cmd in ("train", "validate"):
        task_help = next(p.help for p in cmds[cmd].params if p.name == "task")
        assert all(f"{n} ({task_class(n).help})" in task_help for n in task_names()), task_help


def test_headline_follows_the_summary_task():
    metrics = headline_metrics()
    assert set(metrics) == set(task_names()) and next(iter(metrics)) == DEFAULT_TASK
    for name, (key, label) in metrics.items():
        other = {k: 0.1 for k, _ in metrics.values() if k != key}
        assert headline_of({"task": name, key: 0.75, **other}) == 0.75
        assert label in headline_label()
    dkey = metrics[DEFAULT_TASK][0]
    assert headline_of({dkey: 0.5}) == 0.5 and headline_of({}) is None and headline_of(None) is None

    from mobile_kit.bench.report import headline_accuracy, markdown

    assert headline_accuracy({"task": DEFAULT_TASK, dkey: 0.42}) == 0.42
    row = {"artifact": "/x/m/model.tflite", "device": {"kind": "local", "cpu": "c"}, "delegate": "cpu", "threads": 1,
           "size_bytes": 1000, "latency_us": {"p50": 1000.0, "min": 900.0, "mean": 1000.0},
           "memory_mb": {"overall": 1.0}, "accuracy": {"task": DEFAULT_TASK, dkey: 0.42}}
    md = markdown([row], [])
    assert f"accuracy ({headline_label()})" in md and "0.42" in md


def test_foreground_probability_follows_the_task():
    from mobile_kit.preprocess import foreground_probability

    raw = np.array([[[0.2, 0.3, 0.5]]], np.float32)  # background, class 1, class 2
    labels = ("background", "b", "c")
    spec = OutputSpec("softmax", labels=labels, foreground_index=1)
    assert foreground_probability(raw, spec, (1, 1))[0, 0] == pytest.approx(0.3)  # the contract's channel
    multi = [t for t in (task_class(n)(labels=labels) for n in task_names()) if t.multi_class]
    assert multi, "a K-class task is registered"
    task = multi[0]
    assert task.foreground_probability(raw, spec, (1, 1))[0, 0] == pytest.approx(0.8)  # 1 - p(background)
    binary = task_class(DEFAULT_TASK)()
    assert binary.foreground_probability(raw[..., :2] / 0.5, OutputSpec("softmax"), (1, 1))[0, 0] == pytest.approx(0.6)


def test_segmenter_probability_is_the_task_foreground():
    from mobile_kit.runtime import BUILTINS, load_segmenter

    img = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    for name in BUILTINS:
        seg = load_segmenter(f"builtin:{name}")
        probs = seg.probabilities(img)
        want = seg.task.foreground(probs)
        if seg.task.multi_class:
            assert np.allclose(want, 1.0 - probs[..., 0])  # K-class: 1 - p(background), not one channel
        else:
            assert np.allclose(want, probs[..., seg.output_spec.foreground_index])
        assert np.allclose(seg.probability(img), want, atol=1e-5), name
