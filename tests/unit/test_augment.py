import numpy as np

from mobile_kit.data.augment import AugmentConfig, augment, photometric, random_crop, zoom_out

GEOMETRY_ONLY = AugmentConfig(brightness=0.0, contrast=(1, 1), gamma=(1, 1), saturation=(1, 1))


def _pair(h=60, w=80):
    m = np.zeros((h, w), np.uint8)
    m[10:50, 50:80] = 1  # a person cut by the right edge of the frame
    img = np.zeros((h, w, 3), np.uint8)
    img[m == 1] = (255, 0, 0)
    img[m == 0] = (0, 0, 255)
    return img, m


def test_geometry_keeps_image_and_mask_aligned():
    rng = np.random.default_rng(0)
    for _ in range(50):
        img, m = augment(*_pair(), rng, GEOMETRY_ONLY)
        assert img.shape[:2] == m.shape
        red = img[..., 0].astype(int) > img[..., 2].astype(int)
        if m.sum():  # resampling blends only the boundary pixels
            assert red[m == 1].mean() > 0.9


def test_flip_swaps_sides():
    img, m = _pair()
    cfg = AugmentConfig(crop_prob=0, zoom_out_prob=0, flip_prob=1.0, brightness=0.0, contrast=(1, 1), gamma=(1, 1),
                        saturation=(1, 1))
    img2, m2 = augment(img, m, np.random.default_rng(0), cfg)
    assert np.array_equal(m2, m[:, ::-1]) and m2[:, :30].sum() > 0 and m2[:, 50:].sum() == 0


def test_crop_keeps_partial_bodies_and_zoom_out_shrinks_person():
    rng = np.random.default_rng(1)
    img, m = _pair()
    seen_partial = False
    for _ in range(30):
        ci, cm = random_crop(img, m, rng, (0.3, 0.6))
        assert cm.shape[0] < 60 or cm.shape[1] < 80
        seen_partial |= 0 < cm.sum() < m.sum()
    assert seen_partial
    zi, zm = zoom_out(img, m, rng, (0.5, 0.5))
    assert zi.shape == img.shape and 0 < zm.sum() < m.sum()


def test_photometric_changes_pixels_but_is_seeded():
    img, _ = _pair()
    a = photometric(img, np.random.default_rng(3), AugmentConfig())
    b = photometric(img, np.random.default_rng(3), AugmentConfig())
    assert np.array_equal(a, b) and not np.array_equal(a, img)
