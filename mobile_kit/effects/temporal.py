"""Temporal smoothing of foreground probabilities across video frames.

One definition for the toolkit (``mobilekit predict clip.mp4``) and the app
cores (``android_demo/core`` ``Temporal.EMA_ALPHA``, ``ios_demo``
``Temporal.emaAlpha``): the golden manifest carries :data:`EMA_ALPHA` and the
cores' golden checks compare their constant with it.
"""
from __future__ import annotations

import numpy as np

#: Weight of the newest frame in the exponential moving average of p(foreground):
#: ``s_t = EMA_ALPHA * p_t + (1 - EMA_ALPHA) * s_{t-1}``, ``s_0 = p_0``. 0.5 halves
#: the flicker of a jittering mask at ~1 frame of lag (30 fps: ~33 ms).
EMA_ALPHA = 0.5


class ProbabilityEMA:
    """Exponential moving average of probability maps.

    Parameters
    ----------
    alpha : float
        Weight of the newest map, in (0, 1]; 1 = no smoothing.

    Notes
    -----
    The state is reset when the map size changes (camera switch, rotation).
    """

    def __init__(self, alpha: float = EMA_ALPHA):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"EMA alpha: expected a value in (0, 1], found {alpha}")
        self.alpha = float(alpha)
        self.state: np.ndarray | None = None

    def update(self, prob: np.ndarray) -> np.ndarray:
        """Feed one ``(H, W)`` float32 map in 0..1 and return the smoothed map (same shape, float32)."""
        p = np.asarray(prob, dtype=np.float32)
        if self.state is None or self.state.shape != p.shape:
            self.state = p.copy()
        else:
            self.state = (self.alpha * p + (1.0 - self.alpha) * self.state).astype(np.float32)
        return self.state
