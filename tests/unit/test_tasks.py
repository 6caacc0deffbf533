"""Task registry, label maps, left/right flip, contest metrics, TTA and part areas (fast, synthetic)."""
import json

import numpy as np
import pytest

from mobile_kit.data.augment import hflip
from mobile_kit.data.dataset import load_label
from mobile_kit.errors import DatasetError, MobileKitError, UnknownNameError
from mobile_kit.eval.metrics import confusion_matrix, miou_from_confusion, per_class_iou, per_image_miou, pixel_accuracy
from mobile_kit.specs import ModelMetadata
from mobile_kit.tasks import get_task, task_names, task_of
from mobile_kit.tasks.label_map import LABEL_MAPS_DIR, load_label_map, swap_lut
from tests.conftest import ROOT, SHARED, need_shared, write_png

CIHP = SHARED / "data" / "cihp-5"
CIHP_PAIRS = [(14, 15), (16, 17), (18, 19)]  # left/right arm, leg, shoe


def test_registry_lists_tasks_and_refuses_unknown():
    assert {"person", "parsing"} <= set(task_names())
    with pytest.raises(UnknownNameError, match="parsing"):
        get_task("instances")


def test_person_task_refuses_a_label_map():
    with pytest.raises(MobileKitError, match="--label-map"):
        get_task("person", label_map="ccp-8")


def test_v1_metadata_is_read_as_person_and_written_as_v2():
    d = json.loads((ROOT / "mobile_kit/assets/builtin/metadata.json").read_text())
    assert d["schema_version"] == 1 and "task" not in d
    meta = ModelMetadata.from_dict(d)
    assert meta.task == {"name": "person"} and task_of(meta).name == "person"
    out = meta.to_dict()
    assert out["schema_version"] == 2 and out["task"]["name"] == "person"
    assert "label_map" not in out["output"]  # person contracts unchanged apart from the task field


def test_shipped_ccp_grouping_maps_every_source_class():
    lm = load_label_map("ccp-8")
    assert lm.classes[0] == "background" and len(lm.classes) == 8
    assert set(lm.mapping) == set(lm.source_classes) and len(lm.source_classes) == 59
    lut = lm.lut()
    assert lut[lm.source_classes.index("hair")] == lm.classes.index("hair")
    assert lut[lm.source_classes.index("sneakers")] == lm.classes.index("shoes")
    assert lut[lm.source_classes.index("null")] == 0
    assert (LABEL_MAPS_DIR / "ccp-8.json").is_file()


def test_label_map_regroups_ids_and_refuses_unmapped(tmp_path):
    f = tmp_path / "map.json"
    f.write_text(json.dumps({"classes": ["bg", "top"], "source_classes": ["null", "shirt", "coat", "bag"],
                             "map": {"null": 0, "shirt": 1, "coat": 1}}))
    task = get_task("parsing", label_map=f)
    lab = np.array([[0, 1, 2, 0]], np.uint8)
    got = task.load_target(write_png(tmp_path / "l.png", lab))
    assert got.tolist() == [[0, 1, 1, 0]]
    with pytest.raises(DatasetError, match="unmapped id.*3"):
        task.load_target(write_png(tmp_path / "m.png", np.array([[0, 3]], np.uint8)))
    f.write_text(json.dumps({"classes": ["bg"], "map": {"null": 4}}))
    with pytest.raises(DatasetError, match=r"map\['null'\]"):
        load_label_map(f)


def test_label_out_of_range_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="class ids 0..2, found 5"):
        load_label(write_png(tmp_path / "l.png", np.array([[0, 5]], np.uint8)), num_classes=3)


def test_flip_swaps_left_right_classes_synthetic():
    img = np.zeros((2, 4, 3), np.uint8)
    img[:, 0] = 200
    lab = np.array([[1, 1, 0, 2], [3, 0, 0, 0]], np.uint8)  # 1 = left arm, 2 = right arm, 3 = unpaired
    lut = swap_lut(4, [(1, 2)])
    fi, fl = hflip(img, lab, lut)
    assert fl.tolist() == [[1, 0, 2, 2], [0, 0, 0, 3]]
    assert fi[0, 3, 0] == 200  # the image is mirrored too
    _, plain = hflip(img, lab)
    assert plain.tolist() == [[2, 0, 1, 1], [0, 0, 0, 3]]  # without pairs: mirrored only


def test_flip_on_cihp_moves_each_side_to_the_other_class():
    need_shared(CIHP)
    task = get_task("parsing", label_map="cihp-20")  # flip pairs declared in the shipped CIHP label map
    assert sorted(task.flip_pairs) == CIHP_PAIRS
    lut = task.flip_lut()
    seen = 0
    for p in sorted((CIHP / "labels").glob("*.png")):
        lab = task.load_target(p)
        img = np.zeros(lab.shape + (3,), np.uint8)
        _, fl = hflip(img, lab, lut)
        for a, b in CIHP_PAIRS:
            assert np.array_equal(fl == a, (lab == b)[:, ::-1])
            assert np.array_equal(fl == b, (lab == a)[:, ::-1])
            seen += int((lab == a).any())
        others = ~np.isin(lab, [c for pair in CIHP_PAIRS for c in pair])
        assert np.array_equal(fl[others[:, ::-1]], lab[:, ::-1][others[:, ::-1]])
    assert seen >= 3  # the photos do contain left/right parts


def test_contest_metrics_hand_computed():
    gt = np.array([[0, 0, 1, 1, 2, 2]])
    pred = np.array([[0, 1, 1, 1, 2, 0]])
    cm = confusion_matrix(pred, gt, 4)
    ious = per_class_iou(cm)
    assert ious[0] == pytest.approx(1 / 3) and ious[1] == pytest.approx(2 / 3) and ious[2] == pytest.approx(1 / 2)
    assert np.isnan(ious[3])  # in neither map
    assert pixel_accuracy(cm) == pytest.approx(4 / 6)
    assert per_image_miou(pred, gt, 4) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert per_image_miou(pred, gt, 4, exclude=[0]) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert miou_from_confusion(confusion_matrix(np.zeros(3), np.zeros(3), 2), exclude=[0]) == 1.0


def _side_model(img):
    """A 'model' that calls the left half of its input class 1 and the right half class 2 (left/right-aware)."""
    h, w = img.shape[:2]
    p = np.full((h, w, 3), 0.05, np.float32)
    p[:, : w // 2, 1] = 0.9
    p[:, w // 2:, 2] = 0.9
    return p / p.sum(-1, keepdims=True)


def test_flip_tta_swaps_channels_back():
    from mobile_kit.tta import tta_probabilities

    img = np.zeros((8, 8, 3), np.uint8)
    plain = _side_model(img).argmax(-1)
    swapped = tta_probabilities(_side_model, img, "flip", flip_pairs=[(1, 2)]).argmax(-1)
    assert np.array_equal(swapped, plain)
    unswapped = tta_probabilities(_side_model, img, "flip", flip_pairs=[]).argmax(-1)
    assert not np.array_equal(unswapped, plain)  # without the swap the mirrored run contradicts


def test_scale_tta_is_a_normalised_product_over_covering_scales():
    from mobile_kit.tta import tta_probabilities

    def colour_model(img):  # class from the red channel: scale-invariant
        r = img[..., 0:1].astype(np.float32) / 255.0
        p = np.concatenate([1 - r, r], -1) * 0.8 + 0.1
        return p / p.sum(-1, keepdims=True)

    img = np.zeros((40, 30, 3), np.uint8)
    img[10:30, 8:22, 0] = 255
    p = tta_probabilities(colour_model, img, "flip+scales")
    assert p.shape == (40, 30, 2) and np.allclose(p.sum(-1), 1.0, atol=1e-5)
    assert np.array_equal(p.argmax(-1), colour_model(img).argmax(-1))
    with pytest.raises(UnknownNameError):
        tta_probabilities(colour_model, img, "rotate")


def test_part_areas_pixels_fractions_and_cm2(tmp_path):
    from mobile_kit.measure import part_areas, write_results

    cmap = np.zeros((200, 50), np.uint8)
    cmap[50:150, 10:20] = 1  # 1000 px, person 100 px tall
    cmap[140:150, 20:30] = 2  # 100 px beside it
    r = part_areas(cmap, ["background", "skin", "shoes"], height_cm=170.0, source="x.jpg")
    assert r.body_height_px == 100 and r.cm_per_px == pytest.approx(1.7)
    assert r.parts["skin"]["pixels"] == 1000 and r.parts["shoes"]["pixels"] == 100
    assert r.parts["shoes"]["fraction_of_body"] == pytest.approx(100 / 1100)
    assert r.parts["skin"]["fraction_of_image"] == pytest.approx(1000 / 10000)
    assert r.parts["skin"]["area_cm2"] == pytest.approx(1000 * 1.7 ** 2)
    assert "background" not in r.parts
    assert part_areas(cmap, ["background", "skin", "shoes"]).parts["skin"]["area_cm2"] is None
    csv_text = write_results([r], tmp_path / "a.csv").read_text().splitlines()
    assert csv_text[0].startswith("source,part,pixels") and csv_text[2].startswith("x.jpg,shoes,100,")
    doc = json.loads(write_results([r], tmp_path / "a.json").read_text())
    assert "upright" in doc["assumption"] and doc["photos"][0]["parts"]["shoes"]["pixels"] == 100
    with pytest.raises(MobileKitError, match="--out"):
        write_results([r], tmp_path / "a.txt")
    with pytest.raises(MobileKitError, match="--height-cm"):
        part_areas(cmap, ["background", "skin", "shoes"], height_cm=0)


def test_parts_overlay_colours_parts_and_adds_legend():
    from mobile_kit.effects.parts import palette, parts_overlay

    img = np.full((60, 40, 3), 128, np.uint8)
    cmap = np.zeros((60, 40), np.uint8)
    cmap[10:20, 10:20] = 2
    out = parts_overlay(img, cmap, ["background", "hair", "skin"])
    assert out.shape[0] == 60 and out.shape[1] > 40  # legend strip on the right
    assert np.array_equal(out[0, 0], img[0, 0])  # background untouched
    c = palette(3)[2].astype(float)
    assert np.allclose(out[15, 15], 128 * 0.45 + c * 0.55, atol=1.5)
