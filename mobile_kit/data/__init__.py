"""Datasets of photos with foreground masks or class-id maps: discovery, validation, augmentation, tf.data."""
from mobile_kit.data.dataset import (
    IMAGE_EXTENSIONS,
    Pair,
    ValidationReport,
    discover_pairs,
    load_image,
    load_pair,
    split_pairs,
    validate_dataset,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "Pair",
    "ValidationReport",
    "discover_pairs",
    "load_image",
    "load_pair",
    "split_pairs",
    "validate_dataset",
]
