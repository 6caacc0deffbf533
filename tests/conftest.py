import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOBILEKIT_SHARED", ROOT.parent / "shared"))
PORTRAIT = SHARED / "data" / "portrait-248"
MEDIAPIPE = SHARED / "peers" / "mediapipe-selfie" / "selfie_segmentation.tflite"


def need_shared(path: Path = PORTRAIT):
    if not path.exists():
        pytest.skip(f"{path} not found: real data/peers live in ../shared (absent on a user's machine)")
    return path


@pytest.fixture
def portrait_dir():
    return need_shared(PORTRAIT)


def write_png(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), bgr)
    return path


def write_jpg(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def make_dataset(tmp_path):
    """Write a tiny dataset: n images 48x64 whose red channel encodes the mask."""

    def make(n=3, mask_scale=1, root=None):
        root = Path(root or tmp_path / "ds")
        rng = np.random.default_rng(0)
        for i in range(n):
            m = np.zeros((48, 64), np.uint8)
            y, x = rng.integers(4, 20), rng.integers(4, 30)
            m[y : y + 20, x : x + 24] = 1
            img = rng.integers(0, 100, size=(48, 64, 3), dtype=np.uint8)
            img[m == 1, 0] = 220
            write_jpg(root / "images" / f"img{i}.jpg", img)
            mm = cv2.resize(m * 255, (64 * mask_scale, 48 * mask_scale), interpolation=cv2.INTER_NEAREST)
            write_png(root / "masks" / f"img{i}.png", mm)
        return root

    return make


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """An untrained likeunet (32x32 RGB) saved as a run folder with metadata."""
    import tf_keras as keras

    from mobile_kit.models import build_model
    from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec

    keras.utils.set_random_seed(0)
    spec = InputSpec(32, 32, 3)
    m = build_model("likeunet", spec)
    run = tmp_path_factory.mktemp("tiny_run")
    m.save(str(run / "model.keras"))
    ModelMetadata(input=spec, output=OutputSpec(), name="tiny", arch="likeunet").save(run / "metadata.json")
    return run
