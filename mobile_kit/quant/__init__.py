"""Quantization helpers: representative-dataset calibration."""
from mobile_kit.quant.calibration import calibration_images, representative_dataset

__all__ = ["calibration_images", "representative_dataset"]
