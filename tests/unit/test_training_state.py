"""Training state: checkpoint + history as one step, --resume refusals, a kept model without validation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobile_kit.cli.app import app
from tests.conftest import write_jpg, write_png

runner = CliRunner()
FAST = dict(input_size=32, batch_size=1, augment=False, learning_rate=2e-3)


@pytest.fixture(scope="module")
def one_photo(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_photo")
    rng = np.random.default_rng(1)
    m = np.zeros((48, 64), np.uint8)
    m[10:30, 10:40] = 255
    write_jpg(root / "images" / "a.jpg", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    write_png(root / "masks" / "a.png", m)
    return root


class Killed(BaseException):
    """Stands for kill -9: nothing after the raise runs (it is not an Exception, so nothing handles it)."""


def _kill_at(monkeypatch, module_attr: str, when):
    """Replace ``mobile_kit.training.<module_attr>`` by a wrapper that raises :class:`Killed` when ``when(args)``."""
    import mobile_kit.training as training

    real = getattr(training, module_attr)

    def wrapper(*args, **kwargs):
        if when(*args):
            raise Killed()
        return real(*args, **kwargs)

    monkeypatch.setattr(training, module_attr, wrapper)


@pytest.mark.slow
def test_kill_between_checkpoint_and_state_file_loses_no_history_row(one_photo, tmp_path, monkeypatch):
    from mobile_kit.training import STATE_FILENAME, train

    out = tmp_path / "run"
    ref = tmp_path / "ref"
    train(one_photo, ref, epochs=3, val_fraction=0.0, **FAST)
    ref_hist = json.loads((ref / "history.json").read_text())

    # killed right after epoch 2's checkpoint, before train_state.json / history.json were rewritten
    _kill_at(monkeypatch, "atomic_write_text",
             lambda path, text: Path(path).name == STATE_FILENAME and len(json.loads(text)["history"]) == 2)
    with pytest.raises(Killed):
        train(one_photo, out, epochs=3, val_fraction=0.0, **FAST)
    monkeypatch.undo()
    assert len(json.loads((out / "history.json").read_text())) == 1  # the mirror is one epoch behind
    r = train(one_photo, out, epochs=3, val_fraction=0.0, resume=True, **FAST)
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3] and r.epochs_run == 3
    # epoch 2's row came back from the checkpoint (not re-run), and the run matches an uninterrupted one
    np.testing.assert_allclose([h["loss"] for h in hist], [h["loss"] for h in ref_hist], rtol=1e-4)


def test_kill_between_checkpoint_and_model_file_is_repaired_on_resume(one_photo, tmp_path, monkeypatch):
    from mobile_kit.runtime import load_keras_model
    from mobile_kit.training import read_run_state, train

    out = tmp_path / "run"
    saves = []
    _kill_at(monkeypatch, "atomic_path", lambda path: Path(path).name == "model.keras" and saves.append(1) is None
             and len(saves) == 2)
    with pytest.raises(Killed):
        train(one_photo, out, epochs=2, val_fraction=0.0, **FAST)
    monkeypatch.undo()
    state = read_run_state(out)
    assert state["best"]["epoch"] == 2  # the checkpoint says epoch 2 is kept, model.keras still holds epoch 1
    w1 = load_keras_model(out / "model.keras").get_weights()
    train(one_photo, out, epochs=2, val_fraction=0.0, resume=True, **FAST)
    w2 = load_keras_model(out / "model.keras").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(w1, w2))


def test_no_validation_keeps_lowest_loss_epoch_and_resume_refuses_model_changes(one_photo, tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(app, ["train", "--data", str(one_photo), "--out", str(out), "--input-size", "32", "--epochs",
                            "3", "--batch-size", "1", "--no-augment", "--json", "--quiet"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    hist = json.loads((out / "history.json").read_text())
    assert Path(d["model"]).is_file() and d["best_epoch"] == 1 + int(np.argmin([h["loss"] for h in hist]))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["training"]["kept_epoch_rule"].startswith("lowest training loss")
    before = (out / "metadata.json").read_bytes()

    r = runner.invoke(app, ["train", "--data", str(one_photo), "--out", str(out), "--input-size", "64", "--acnet",
                            "--epochs", "4", "--resume"])
    assert r.exit_code == 2 and "--input-size (run: 32, given: 64)" in r.output and "--acnet" in r.output, r.output
    assert "--epochs" not in r.output  # more epochs are allowed
    assert (out / "metadata.json").read_bytes() == before  # nothing rewritten
    r = runner.invoke(app, ["train", "--data", str(one_photo), "--out", str(out), "--input-size", "32"])
    assert r.exit_code == 2 and "--resume" in r.output


def test_failure_before_the_first_checkpoint_empties_the_run_but_keeps_a_users_folder(one_photo, tmp_path,
                                                                                       monkeypatch):
    import mobile_kit.training as training

    def fit(model, prep, out, *a, **k):
        (out / "logs").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "fit", fit)
    mine = tmp_path / "mine"
    mine.mkdir()  # an empty folder the user made (a mount point, say)
    for out in (mine, tmp_path / "new"):
        with pytest.raises(KeyboardInterrupt):
            training.train(one_photo, out, epochs=1, val_fraction=0.0, **FAST)
    assert mine.is_dir() and list(mine.iterdir()) == [] and not (tmp_path / "new").exists()
