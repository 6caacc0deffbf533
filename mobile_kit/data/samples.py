"""Real photos that ship inside a dependency (scikit-image), for use without any dataset.

Used as the default calibration set of int8 export and the fixed parity inputs
when no ``--data`` is given, and by ``mobilekit quickstart``.
"""
from __future__ import annotations

import numpy as np

from mobile_kit.errors import UnknownNameError

#: scikit-image sample photos bundled in its wheel (no download); 'astronaut'
#: (Eileen Collins) and 'camera' (the cameraman) show people.
SAMPLE_PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field")


def sample_photo(name: str) -> np.ndarray:
    """One bundled photo as ``(H, W, 3)`` uint8 RGB.

    Raises
    ------
    UnknownNameError
        If ``name`` is not in :data:`SAMPLE_PHOTOS`.
    """
    if name not in SAMPLE_PHOTOS:
        raise UnknownNameError("sample photo", name, SAMPLE_PHOTOS)
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3]).astype(np.uint8)


def sample_photos() -> list[np.ndarray]:
    """All :data:`SAMPLE_PHOTOS`, in that order."""
    return [sample_photo(n) for n in SAMPLE_PHOTOS]
