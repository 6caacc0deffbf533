import numpy as np
import pytest

from mobile_kit.effects import apply_effect, portrait_blur
from mobile_kit.errors import UnknownNameError


def _scene():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    prob = np.zeros((120, 160), np.float32)
    prob[20:100, 50:110] = 0.9
    return img, prob


def test_blur_keeps_person_sharp_and_blurs_background():
    img, prob = _scene()
    out = portrait_blur(img, prob)
    inner = (slice(35, 85), slice(65, 95))
    assert np.abs(out[inner].astype(int) - img[inner]).max() <= 1
    bg = (slice(0, 15), slice(0, 40))
    assert out[bg].std() < 0.3 * img[bg].std()


def test_blur_background_has_no_person_halo():
    img = np.zeros((100, 100, 3), np.uint8)
    img[30:70, 30:70] = 255  # bright person on a black background
    prob = np.zeros((100, 100), np.float32)
    prob[30:70, 30:70] = 1
    out = portrait_blur(img, prob)
    # a few pixels outside the feathered edge stay black: the person's colour did not bleed
    assert out[30:70, 15].max() < 5


def test_mask_and_overlay():
    img, prob = _scene()
    m = apply_effect("mask", img, prob)
    assert m.shape == (120, 160) and set(np.unique(m)) == {0, 255} and m[60, 80] == 255
    ov = apply_effect("overlay", img, prob)
    assert ov.shape == img.shape and not np.array_equal(ov[60, 80], img[60, 80])
    assert np.array_equal(ov[5, 5], img[5, 5])
    with pytest.raises(UnknownNameError, match="blur, mask, overlay"):
        apply_effect("sepia", img, prob)
