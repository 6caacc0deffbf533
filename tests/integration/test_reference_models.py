"""Real-data checks of eval and of the shipped model."""
import json

import pytest

from mobile_kit.eval import evaluate
from mobile_kit.runtime import builtin_model_path, load_segmenter
from tests.conftest import MEDIAPIPE, need_shared

pytestmark = pytest.mark.slow


def test_eval_reproduces_mediapipe_published_figures(portrait_dir):
    """../shared/README.md measured MediaPipe selfie at person IoU 0.878, mIoU 0.916 on all 248 photos."""
    need_shared(MEDIAPIPE)
    seg = load_segmenter(MEDIAPIPE, input_norm="0..1", output_kind="sigmoid", num_threads=2)
    r = evaluate(seg, portrait_dir)
    assert r.n_images == 248
    assert r.person_iou == pytest.approx(0.878, abs=0.0015)
    assert r.miou == pytest.approx(0.916, abs=0.0015)


def test_builtin_metadata_val_figures_are_reproducible(portrait_dir):
    meta = json.loads((builtin_model_path().parent / "metadata.json").read_text())
    val = meta["metrics"]["val"]
    r = evaluate(load_segmenter(None), portrait_dir, split="val", val_fraction=meta["training"]["val_fraction"],
                 seed=meta["training"]["seed"])
    assert r.n_images == val["n_images"]
    assert r.person_iou == pytest.approx(val["person_iou"], abs=1e-4)
    assert r.miou == pytest.approx(val["miou"], abs=1e-4)
