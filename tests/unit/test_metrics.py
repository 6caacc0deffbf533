import numpy as np
import pytest

from mobile_kit.eval.metrics import PooledIoU, binary_iou, per_image_miou


def test_binary_iou_hand_computed():
    gt = np.zeros((4, 4), bool)
    gt[:2, :2] = True  # 4 px
    pred = np.zeros((4, 4), bool)
    pred[:2, 1:3] = True  # 4 px, overlap 2, union 6
    assert binary_iou(pred, gt) == pytest.approx(2 / 6)
    assert binary_iou(gt, gt) == 1.0
    assert binary_iou(~gt, gt) == 0.0
    assert binary_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        binary_iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_per_image_miou_counts_classes_in_gt_or_prediction():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 0, 1, 0]])
    # bg: inter 2, union 3 ; person: inter 1, union 2
    assert per_image_miou(pred, gt, 2) == pytest.approx((2 / 3 + 1 / 2) / 2)
    # class 2 absent from both -> not averaged in
    assert per_image_miou(pred, gt, 3) == pytest.approx((2 / 3 + 1 / 2) / 2)
    # a class only predicted counts with IoU 0
    pred2 = np.array([[0, 2, 1, 1]])
    assert per_image_miou(pred2, gt, 3) == pytest.approx((1 / 2 + 1 + 0) / 3)


def test_pooled_iou_sums_over_images():
    p = PooledIoU()
    p.update(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool))  # 1 / 2
    p.update(np.array([1, 1, 1, 1], bool), np.array([1, 1, 1, 1], bool))  # 4 / 4
    assert p.value == pytest.approx(5 / 6)
