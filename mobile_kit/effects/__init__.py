"""Portrait-mode effects on a photo and its foreground probability map."""
from mobile_kit.effects.portrait import EFFECTS, apply_effect, feather, overlay, portrait_blur

__all__ = ["EFFECTS", "apply_effect", "feather", "overlay", "portrait_blur"]
