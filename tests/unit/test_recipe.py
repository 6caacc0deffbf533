"""Training-recipe features: sources, negatives, copy-paste, teacher maps through augmentation, losses."""
import json

import numpy as np
import pytest
import tensorflow as tf

from mobile_kit.data.augment import AugmentConfig
from mobile_kit.errors import DatasetError, UnknownNameError
from mobile_kit.losses import LOSSES, boundary_loss, distillation_loss, recipe_loss
from mobile_kit.recipe.mixing import (RecipeSample, boundary_band, copy_paste, draw_epoch, encode_target,
                                      foreground_free_crop, make_recipe_sample, negatives_from)
from mobile_kit.recipe.sources import (ccp_foreground_ids, load_ccp_pair, parse_source, source_label_map,
                                      source_split)
from mobile_kit.specs import InputSpec
from mobile_kit.tasks.label_map import LABEL_MAPS_DIR
from tests.conftest import write_jpg, write_png


def _square_mask(h=64, w=64, y0=16, y1=48, x0=16, x1=48):
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


# --- boundary band and loss ------------------------------------------------------------------------------------

def test_boundary_band_follows_the_mask_edge_with_its_width():
    m = _square_mask()
    band = boundary_band(m, 2)
    assert band[16, 32] == 1 and band[47, 32] == 1 and band[32, 16] == 1  # on the edge
    assert band[32, 32] == 0 and band[2, 2] == 0  # far inside, far outside
    assert band[16 - 4, 32] == 0  # beyond the half-width (Canny edge +- 2 px)
    assert boundary_band(m, 4).sum() > band.sum()
    assert boundary_band(np.zeros_like(m), 2).sum() == 0


def test_boundary_loss_counts_only_errors_in_the_band():
    m = _square_mask().astype(np.float32)
    band = boundary_band(_square_mask(), 2)
    far_wrong = m.copy()
    far_wrong[28:36, 28:36] = 0.0  # a hole in the middle, outside the band
    edge_wrong = m.copy()
    edge_wrong[band > 0] = 1.0 - edge_wrong[band > 0]  # every band pixel flipped
    t = tf.constant(m[None])
    b = tf.constant(band[None])
    lf = float(boundary_loss(t, tf.constant(np.clip(far_wrong, 0.1, 0.9)[None]), b)[0])
    le = float(boundary_loss(t, tf.constant(np.clip(edge_wrong, 0.1, 0.9)[None]), b)[0])
    assert lf == pytest.approx(-np.log(0.9), rel=1e-4)  # all band pixels right with p = 0.9
    assert le == pytest.approx(-np.log(0.1), rel=1e-4)  # all band pixels wrong with p = 0.1


# --- distillation and the blended loss -------------------------------------------------------------------------

def test_distillation_loss_is_minimal_at_the_teacher_probability():
    teacher = tf.constant(np.full((1, 4, 4), 0.3, np.float32))
    vals = {p: float(distillation_loss(teacher, tf.constant(np.full((1, 4, 4), p, np.float32)))[0])
            for p in (0.1, 0.3, 0.5)}
    assert vals[0.3] < vals[0.1] and vals[0.3] < vals[0.5]
    assert vals[0.3] == pytest.approx(-(0.3 * np.log(0.3) + 0.7 * np.log(0.7)), rel=1e-4)


def _probs(p1):
    p1 = np.asarray(p1, np.float32)
    return tf.constant(np.stack([1 - p1, p1], -1))


def test_recipe_loss_blends_ground_truth_and_teacher():
    rng = np.random.default_rng(0)
    m = _square_mask(16, 16, 4, 12, 4, 12)
    p1 = rng.uniform(0.05, 0.95, (1, 16, 16)).astype(np.float32)
    teacher = (rng.uniform(0, 255, (16, 16))).astype(np.uint8)
    y = tf.constant(encode_target(m, teacher, True, 0)[None])
    gt_only = float(recipe_loss("ce+dice")(y, _probs(p1)))
    # labelled, no teacher weight, no band: the plain ce+dice loss on the 1-channel mask
    plain = float(LOSSES["ce+dice"](tf.constant(m[None, ..., None].astype(np.float32)), _probs(p1)))
    assert gt_only == pytest.approx(plain, rel=1e-4)
    kd = float(tf.reduce_mean(distillation_loss(tf.constant(teacher[None] / 255.0, tf.float32), tf.constant(p1))))
    blended = float(recipe_loss("ce+dice", distill_weight=0.25)(y, _probs(p1)))
    assert blended == pytest.approx(0.75 * plain + 0.25 * kd, rel=1e-4)


def test_unlabelled_images_are_trained_on_the_teacher_only():
    rng = np.random.default_rng(1)
    p1 = rng.uniform(0.05, 0.95, (2, 16, 16)).astype(np.float32)
    teacher = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    lab = encode_target(_square_mask(16, 16, 4, 12, 4, 12), teacher, True, 2)
    unl_a = encode_target(np.zeros((16, 16), np.uint8), teacher, False, 2)
    unl_b = encode_target(_square_mask(16, 16, 0, 16, 0, 8), teacher, False, 2)  # its mask must be ignored
    assert unl_b[..., 0].sum() == 0 and unl_b[..., 3].sum() == 0
    loss = recipe_loss("ce+dice", distill_weight=0.5, boundary_weight=1.0)
    a = float(loss(tf.constant(np.stack([lab, unl_a])), _probs(p1)))
    b = float(loss(tf.constant(np.stack([lab, unl_b])), _probs(p1)))
    assert a == pytest.approx(b, rel=1e-6)
    only_gt = recipe_loss("ce+dice", distill_weight=0.0, boundary_weight=1.0)
    # without distillation the unlabelled image contributes nothing at all
    assert float(only_gt(tf.constant(np.stack([lab, unl_a])), _probs(p1))) == pytest.approx(
        float(only_gt(tf.constant(lab[None]), _probs(p1[:1]))), rel=1e-5)


def test_recipe_loss_rejects_bad_names_and_weights():
    with pytest.raises(UnknownNameError):
        recipe_loss("dice-only")
    with pytest.raises(ValueError):
        recipe_loss("ce", distill_weight=1.5)


# --- negatives, copy-paste, sampling --------------------------------------------------------------------------

def test_foreground_free_crop_holds_no_foreground_pixel():
    rng = np.random.default_rng(0)
    m = _square_mask(100, 100, 0, 100, 0, 50)  # left half is person
    for _ in range(5):
        y, x, h, w = foreground_free_crop(m, rng, min_side=20, margin=4)
        assert m[y : y + h, x : x + w].sum() == 0 and x >= 54
    assert foreground_free_crop(np.ones((64, 64), np.uint8), rng) is None


def test_negatives_are_background_regions_of_labelled_photos_with_empty_masks():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
    m = _square_mask(160, 160, 0, 160, 0, 80)
    negs = negatives_from([RecipeSample(img, m, None, True), RecipeSample(img, m, None, False)], rng)
    assert len(negs) == 1  # unlabelled photos give none: their people are unknown
    n = negs[0]
    assert n.mask.sum() == 0 and n.teacher.sum() == 0 and n.labelled
    h, w = n.mask.shape
    hits = [(y, x) for y in range(160 - h + 1) for x in range(80, 160 - w + 1)
            if np.array_equal(img[y : y + h, x : x + w], n.image)]
    assert hits


def test_copy_paste_keeps_the_person_and_replaces_the_background():
    img = np.full((20, 30, 3), 200, np.uint8)
    bg = np.zeros((40, 60, 3), np.uint8)
    bg[..., 2] = 50
    m = _square_mask(20, 30, 5, 15, 5, 15)
    out = copy_paste(img, m, bg)
    assert (out[m == 1] == 200).all() and (out[m == 0] == [0, 0, 50]).all()


def test_draw_epoch_follows_the_weights_and_skips_empty_pools():
    rng = np.random.default_rng(0)
    draws = draw_epoch([10, 0, 40], [3.0, 5.0, 1.0], 4000, rng)
    pools = np.array([p for p, _ in draws])
    assert (pools != 1).all()
    assert np.mean(pools == 0) == pytest.approx(0.75, abs=0.03)
    first = [i for p, i in draws if p == 0][:10]
    assert sorted(first) == list(range(10))  # a whole pass over the pool before any repeat


def test_teacher_map_travels_with_the_mask_through_augmentation():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    m = _square_mask(64, 96, 0, 64, 0, 30)  # person on the left only
    s = RecipeSample(img, m, (m * 255).astype(np.uint8), True)
    aug = AugmentConfig(crop_prob=1.0, crop_scale=(0.5, 0.8), flip_prob=1.0, zoom_out_prob=0.0)
    for _ in range(4):
        x, y = make_recipe_sample(s, InputSpec(32, 32, 3), rng, aug, band_width=1)
        assert y.shape == (32, 32, 4) and x.shape == (32, 32, 3)
        assert np.abs(y[..., 2] - y[..., 0]).mean() < 0.05  # teacher cropped and flipped like the mask
        if y[..., 0].any():
            assert y[:, -1, 0].mean() >= y[:, 0, 0].mean()  # flipped: the person is now on the right
        assert (y[..., 1] == 1).all()


# --- sources --------------------------------------------------------------------------------------------------

def _write_ccp(root, n=5):
    rng = np.random.default_rng(0)
    names = ["null", "bag", "hair", "skin", "purse", "wallet", "shirt"]
    (root / "classes.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "classes.json").write_text(json.dumps({"classes": names, "background": 0}))
    for i in range(n):
        lab = np.zeros((40, 30), np.uint8)
        lab[5:20, 5:25] = 2 + i % 5  # hair..shirt
        lab[25:35, 5:15] = 1  # a bag
        write_jpg(root / "images" / f"{i:04d}.jpg", rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))
        write_png(root / "labels" / f"{i:04d}.png", lab)
    return root


def test_ccp_every_nonzero_label_is_foreground_and_bags_count_by_the_shipped_map(tmp_path):
    import dataclasses

    root = _write_ccp(tmp_path / "ccp")
    shipped = source_label_map("ccp")  # the default task's data: which CCP classes are foreground
    assert shipped.mapping["null"] == 0 and all(shipped.mapping[n] == 1 for n in ("bag", "purse", "wallet", "skin"))
    assert "bag" in json.loads((LABEL_MAPS_DIR / f"{shipped.name}.json").read_text())["description"]
    with_bags = ccp_foreground_ids(root / "classes.json")
    no_carried = dataclasses.replace(shipped, mapping=dict(shipped.mapping, bag=0, purse=0, wallet=0))
    without = ccp_foreground_ids(root / "classes.json", no_carried)
    assert sorted(with_bags.tolist()) == [1, 2, 3, 4, 5, 6]
    assert sorted(without.tolist()) == [2, 3, 6]
    spec = parse_source(f"ccp:{root}", 2.0)
    assert spec.kind == "ccp" and spec.weight == 2.0
    train, val, load = source_split(spec, 0.2, 0)
    assert len(train) == 4 and len(val) == 1 and not {p.stem for p in train} & {p.stem for p in val}
    img, m = load(train[0])
    assert img.shape == (40, 30, 3) and m.dtype == np.uint8
    assert m[10, 10] == 1 and m[30, 10] == 1 and m[2, 2] == 0  # clothes and the bag are foreground
    _, m2 = load_ccp_pair(train[0], without)
    assert m2[30, 10] == 0 and m2[10, 10] == 1


def test_parse_source_errors_name_the_entry(tmp_path, make_dataset):
    ds = make_dataset()
    assert parse_source(str(ds)).kind == "masks"
    with pytest.raises(UnknownNameError, match="ccp"):
        parse_source(f"coco:{ds}")
    with pytest.raises(DatasetError, match="no folder"):
        parse_source(f"ccp:{tmp_path / 'nope'}")
    with pytest.raises(DatasetError, match="positive weight"):
        parse_source(str(ds), 0.0)


# --- train command end to end ---------------------------------------------------------------------------------

def test_train_with_the_full_recipe_records_it(tiny_run, make_dataset, tmp_path):
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    ds = make_dataset(n=6)
    ccp = _write_ccp(tmp_path / "ccp", n=5)
    unl = tmp_path / "unl"
    for i in range(3):
        write_jpg(unl / f"u{i}.jpg", np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    out = tmp_path / "run"
    args = ["train", "--data", str(ds), "--data", f"ccp:{ccp}", "--data-weight", "2", "--data-weight", "1",
            "--teacher", str(tiny_run), "--unlabelled", str(unl), "--negatives", "0.2", "--copy-paste", "0.5",
            "--boundary-weight", "1", "--arch", "mbv2_lraspp", "--input-size", "64", "--width-multiplier", "0.5",
            "--epochs", "1", "--batch-size", "4", "--epoch-size", "10", "--out", str(out), "--json", "--quiet"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "metadata.json").read_text())
    rec = meta["training"]["recipe"]
    assert meta["arch"] == "mbv2_lraspp" and meta["training"]["arch_options"] == {"width_multiplier": 0.5}
    assert rec["distill_weight"] == 0.5 and rec["teacher"]["path"] == str(tiny_run)
    assert [s["kind"] for s in rec["sources"]] == ["masks", "ccp"] and rec["sources"][0]["weight"] == 2.0
    assert rec["pool_sizes"]["unlabelled"] == 3 and rec["pool_sizes"]["1:ccp:ccp"] == 4  # CCP val held out
    assert rec["ccp_label_map"] == source_label_map("ccp").name and rec["epoch_size"] == 10
    hist = json.loads((out / "history.json").read_text())
    assert len(hist) == 1 and np.isfinite(hist[0]["loss"])


def test_train_recipe_errors_exit_2(make_dataset, tmp_path):
    from typer.testing import CliRunner

    from mobile_kit.cli.app import app

    ds = make_dataset(n=3)
    base = ["train", "--data", str(ds), "--out", str(tmp_path / "r"), "--epochs", "1", "--quiet"]
    r = CliRunner().invoke(app, base + ["--data-weight", "1", "--data-weight", "2"])
    assert r.exit_code == 2 and "one weight per --data (1), found 2" in r.output
    r = CliRunner().invoke(app, base + ["--unlabelled", str(ds / "images")])
    assert r.exit_code == 2 and "expected --teacher" in r.output
    r = CliRunner().invoke(app, ["train", "--data", f"ccp:{ds}", "--out", str(tmp_path / "r2"), "--quiet"])
    assert r.exit_code == 2 and "first --data" in r.output
    assert not (tmp_path / "r" / "metadata.json").exists()
