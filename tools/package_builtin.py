"""Copy a training run into the package as the built-in model (maintainers only).

    python tools/package_builtin.py RUN_DIR

Writes mobile_kit/assets/builtin/{model.keras, metadata.json, history.json}
with the data provenance stated in the metadata.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from mobile_kit.runtime import BUILTIN_DIR
from mobile_kit.specs import ModelMetadata

PROVENANCE = (
    "Trained by mobilekit on the train split (val_fraction 0.2, seed 0) of the portrait-248 set: 248 photos "
    "with person masks from GitHub VikramShenoy97/Human-Segmentation-Dataset (masks made with remove.bg; no "
    "licence stated). The photos are not redistributed; only the trained weights ship."
)


RECIPE_PROVENANCE = (
    "Trained by mobilekit with the distillation recipe (mobile_kit/recipe): the train split (val_fraction 0.2, "
    "seed 0) of portrait-248 (GitHub VikramShenoy97/Human-Segmentation-Dataset, masks made with remove.bg, no "
    "licence stated) and of Clothing Co-Parsing read as binary person, bags/purses/wallets counted as person "
    "(GitHub bearpaw/clothing-co-parsing, Apache-2.0; third-party street-fashion photos), its 1,094 unlabelled "
    "photos labelled by the teacher, person-free background crops of those photos; teacher: MediaPipe Selfie "
    "Segmentation selfie_segmentation.tflite (PyPI wheel mediapipe==0.10.21, Apache-2.0). The photos and the "
    "teacher are not redistributed; only the trained weights ship."
)


def main(run: str) -> None:
    run_dir = Path(run)
    meta = ModelMetadata.load(run_dir / "metadata.json")
    recipe = (meta.training or {}).get("recipe")
    meta.name = f"mobilekit-portrait-{meta.arch}-{meta.input.height}"
    meta.version = "2" if recipe else "1"
    meta.provenance = RECIPE_PROVENANCE if recipe else PROVENANCE
    meta.training["data"] = "portrait-248 (../shared/data/portrait-248)" + (
        " + ccp (../shared/data/ccp) + ccp/unlabelled (teacher labels) + negatives" if recipe else "")
    BUILTIN_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "model.keras", BUILTIN_DIR / "model.keras")
    shutil.copyfile(run_dir / "history.json", BUILTIN_DIR / "history.json")
    meta.save(BUILTIN_DIR / "metadata.json")
    print(json.dumps(meta.metrics, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
