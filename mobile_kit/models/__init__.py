"""Compact segmentation architectures, registered by name."""
from mobile_kit.models.registry import ARCHITECTURES, build_model, register_arch

# Importing the modules registers their architectures.
from mobile_kit.models import likeunet as _likeunet  # noqa: F401,E402
from mobile_kit.models import unet as _unet  # noqa: F401,E402
from mobile_kit.models import mbv2_lraspp as _mbv2_lraspp  # noqa: F401,E402

__all__ = ["ARCHITECTURES", "build_model", "register_arch"]
