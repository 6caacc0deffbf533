"""Real-world folding: the humanMatting LikeUnet before (ACNet) and after its authors' own folding."""
import json

import numpy as np
import pytest

from mobile_kit.data.dataset import load_image
from mobile_kit.reparam.fold import fold_model, load_json_model
from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec
from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.slow
SEED = SHARED / "peers" / "seed004-likeunet"


@pytest.fixture(scope="module")
def seed_models():
    need_shared(SEED)
    pre = load_json_model(SEED / "dark-light-pre.json", SEED / "dark-light-pre-50-0.9735.h5")
    ref = load_json_model(SEED / "dark-light.json", SEED / "dark-light-50-0.9735.h5")
    return pre, ref


def real_gray_inputs(n=4):
    import cv2

    paths = sorted((SHARED / "photos" / "p3m").glob("*.jpg"))[:n] + [SHARED / "photos" / "grace_hopper.jpg"]
    out = []
    for p in paths:
        g = cv2.cvtColor(load_image(p), cv2.COLOR_RGB2GRAY)
        g = cv2.resize(g, (320, 416), interpolation=cv2.INTER_AREA)  # multiples of 32, portrait aspect
        out.append(g.astype(np.float32)[None, :, :, None])  # 0..255, as the authors trained
    return np.concatenate(out)


def test_our_fold_matches_the_authors_folded_model(seed_models):
    pre, ref = seed_models
    folded, rep = fold_model(pre)
    assert len(rep.acnet_patterns) == 10 and len(rep.batchnorms) == 15 and not rep.warnings
    x = real_gray_inputs()
    ours = folded(x).numpy()
    theirs = ref(x, training=False).numpy()
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.abs(ours - pre(x, training=False).numpy()).max() < 1e-5
    # a real person is found in the photos (the model works, not just agrees)
    assert (ours[..., 1] > 0.5).mean() > 0.05


def test_folded_seed_model_exports_to_tflite(seed_models, tmp_path):
    from mobile_kit.export import export_model

    folded, _ = fold_model(seed_models[0], input_shape=(416, 320, 1))
    folded.save(str(tmp_path / "model.keras"))
    ModelMetadata(input=InputSpec(416, 320, 1, scale=1.0, offset=0.0), output=OutputSpec(kind="softmax"),
                  name="humanmatting-likeunet", arch="likeunet (humanMatting, folded)",
                  provenance="GitHub toytag/humanMatting, MIT").save(tmp_path / "metadata.json")
    r = export_model(tmp_path, "tflite-fp32", tmp_path / "tflite", data=SHARED / "photos" / "p3m")
    assert r.parity["passed"] and r.parity["max_abs"] < 1e-5
    meta = json.loads(r.metadata_path.read_text())
    assert meta["input"]["channels"] == 1 and meta["training"]["fold"]["batchnorms"] == []


def test_fold_cli_on_the_seed_json(tmp_path):
    need_shared(SEED)
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    r = CliRunner().invoke(app, ["fold", str(SEED / "dark-light-pre.json"), "--weights",
                                 str(SEED / "dark-light-pre-50-0.9735.h5"), "--out", str(tmp_path / "f.keras"), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["params_after"] < d["params_before"] and d["max_abs_diff"] < 1e-4 and (tmp_path / "f.keras").is_file()
    r = CliRunner().invoke(app, ["fold", str(SEED / "dark-light-pre.json"), "--out", str(tmp_path / "g.keras")])
    assert r.exit_code == 2 and "--weights" in r.output and not (tmp_path / "g.keras").exists()
