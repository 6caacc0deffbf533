import numpy as np
import pytest

from mobile_kit.data import discover_pairs, load_pair, split_pairs, validate_dataset
from mobile_kit.data.dataset import load_mask
from mobile_kit.errors import DatasetError
from tests.conftest import write_png


def test_pairs_by_stem_and_resizes_masks_nearest(make_dataset):
    root = make_dataset(n=3, mask_scale=2)
    rep = validate_dataset(root)
    assert rep.ok and [p.stem for p in rep.pairs] == ["img0", "img1", "img2"]
    assert rep.resized_masks == 3
    img, m = load_pair(rep.pairs[0])
    assert img.shape == (48, 64, 3) and m.shape == (48, 64)
    assert set(np.unique(m)) == {0, 1}  # nearest-neighbour: still binary
    # the mask lands where the red channel marks the person
    assert img[m == 1, 0].mean() > 180 and img[m == 0, 0].mean() < 110


def test_missing_mask_and_orphan_mask_are_reported(make_dataset):
    root = make_dataset(n=3)
    (root / "masks" / "img1.png").rename(root / "masks" / "stray.png")
    rep = validate_dataset(root)
    assert [p.stem for p in rep.pairs] == ["img0", "img2"]
    assert any("img1.jpg" in e and "expected a mask" in e for e in rep.errors)
    assert any("stray.png" in e and "expected an image" in e for e in rep.errors)
    with pytest.raises(DatasetError, match="2 problem"):
        rep.raise_if_errors()


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        discover_pairs(tmp_path / "nope")
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="masks/"):
        discover_pairs(tmp_path)
    (tmp_path / "masks").mkdir()
    with pytest.raises(DatasetError, match="empty dataset"):
        discover_pairs(tmp_path)


def test_truncated_jpeg_is_an_error_naming_the_file(make_dataset):
    root = make_dataset(n=2)
    p = root / "images" / "img0.jpg"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    rep = validate_dataset(root)
    assert [x.stem for x in rep.pairs] == ["img1"]
    assert len(rep.errors) == 1 and "img0.jpg" in rep.errors[0] and "truncated" in rep.errors[0]


def test_garbage_file_is_an_error(make_dataset):
    root = make_dataset(n=1)
    (root / "images" / "img0.jpg").write_bytes(b"not an image at all")
    rep = validate_dataset(root)
    assert not rep.ok and "img0.jpg" in rep.errors[0]


def test_non_binary_mask_rejected_with_values(tmp_path):
    m = np.zeros((10, 10), np.uint8)
    m[2:5] = 128
    m[5:] = 255
    p = write_png(tmp_path / "m.png", m)
    with pytest.raises(DatasetError, match=r"m.png.*3 distinct values \(0, 128, 255\)"):
        load_mask(p)


def test_zero_one_masks_accepted(tmp_path):
    m = np.zeros((10, 10), np.uint8)
    m[3:6, 3:6] = 1
    p = write_png(tmp_path / "m.png", m)
    assert load_mask(p).sum() == 9


def test_mask_of_another_aspect_ratio_rejected(tmp_path):
    p = write_png(tmp_path / "m.png", np.zeros((10, 30), np.uint8))
    with pytest.raises(DatasetError, match=r"image's size 20x20.*found 30x10"):
        load_mask(p, hw=(20, 20))


def test_rgb_mask_with_equal_channels_ok_and_differing_channels_rejected(tmp_path):
    m = np.zeros((8, 8, 3), np.uint8)
    m[2:4] = 255
    assert load_mask(write_png(tmp_path / "a.png", m)).sum() == 16
    m[0, 0, 1] = 255
    with pytest.raises(DatasetError, match="differing channels"):
        load_mask(write_png(tmp_path / "b.png", m))


def test_grayscale_image_becomes_rgb(make_dataset):
    root = make_dataset(n=1)
    write_png(root / "images" / "img0.png", np.full((48, 64), 77, np.uint8))
    (root / "images" / "img0.jpg").unlink()
    rep = validate_dataset(root)
    assert rep.ok and rep.grayscale_images == 1
    img, _ = load_pair(rep.pairs[0])
    assert img.shape == (48, 64, 3) and np.all(img == 77)


def test_split_is_deterministic_disjoint_and_complete(make_dataset):
    root = make_dataset(n=10)
    pairs = discover_pairs(root).pairs
    tr1, va1 = split_pairs(pairs, 0.3, seed=1)
    tr2, va2 = split_pairs(list(reversed(pairs)), 0.3, seed=1)
    assert [p.stem for p in va1] == [p.stem for p in va2]
    assert len(va1) == 3 and len(tr1) == 7
    assert not {p.stem for p in tr1} & {p.stem for p in va1}
    with pytest.raises(DatasetError, match="val-fraction"):
        split_pairs(pairs, 1.0)
