"""mobilekit: train compact segmentation models (foreground and body parts) and ship them to phones.

Importing this package sets ``TF_USE_LEGACY_KERAS=1`` (unless already set) so
that TensorFlow resolves ``tf.keras`` to tf_keras (Keras 2): the TFLite
converter's Keras path and tensorflow-model-optimization reject Keras 3 models.
TensorFlow itself is imported lazily by the modules that need it.
"""
import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from mobile_kit.errors import (  # noqa: E402
    DatasetError,
    ExportError,
    MobileKitError,
    ParityError,
    UnknownNameError,
)
from mobile_kit.specs import InputSpec, ModelMetadata, OutputSpec  # noqa: E402

__all__ = [
    "__version__",
    "MobileKitError",
    "DatasetError",
    "ExportError",
    "ParityError",
    "UnknownNameError",
    "InputSpec",
    "OutputSpec",
    "ModelMetadata",
]
