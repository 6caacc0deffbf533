"""Effects of multi-class (parsing) models: a colour overlay of the parts with a legend, and the class-id PNG.

Both take the photo ``(H, W, 3)`` uint8 RGB, the class map ``(H, W)`` uint8
at the photo's resolution and the class names (channel order).
"""
from __future__ import annotations

import cv2
import numpy as np


def palette(k: int) -> np.ndarray:
    """``(k, 3)`` uint8 RGB colours: class 0 black, then the PASCAL VOC bit-interleaved palette."""
    out = np.zeros((k, 3), np.uint8)
    for i in range(k):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out[i] = (r, g, b)
    return out


def parts_overlay(image: np.ndarray, class_map: np.ndarray, labels, alpha: float = 0.55) -> np.ndarray:
    """Tint every non-background pixel with its class colour and add a legend strip on the right.

    Returns
    -------
    numpy.ndarray
        ``(H, W + legend_width, 3)`` uint8 RGB; the legend lists the classes present with their
        colour and share of the image's pixels.
    """
    h, w = class_map.shape
    k = len(labels)
    colors = palette(k)
    out = image.astype(np.float32)
    fg = class_map > 0
    out[fg] = out[fg] * (1 - alpha) + colors[class_map[fg]].astype(np.float32) * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    scale = max(0.4, h / 900.0)
    row = int(round(30 * scale))
    counts = np.bincount(class_map.ravel(), minlength=k)
    present = [i for i in range(1, k) if counts[i] > 0]
    legend_w = int(round(230 * scale))
    legend = np.full((h, legend_w, 3), 255, np.uint8)
    for n, i in enumerate(present):
        y = int(row * (n + 0.5))
        if y + row > h:
            break
        cv2.rectangle(legend, (int(8 * scale), y), (int(8 * scale) + row - 6, y + row - 6), tuple(int(c) for c in colors[i]), -1)
        cv2.putText(legend, f"{labels[i]} {100 * counts[i] / class_map.size:.1f}%", (int(14 * scale) + row, y + row - 10),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, (0, 0, 0), max(1, int(scale)), cv2.LINE_AA)
    return np.concatenate([out, legend], axis=1)


def label_image(image: np.ndarray, class_map: np.ndarray, labels) -> np.ndarray:
    """The class map itself, ``(H, W)`` uint8 class ids (channel order of ``labels``), for other tools."""
    return class_map.astype(np.uint8)


#: Effects drawn from the class map: name -> f(image, class_map, labels).
CLASS_EFFECTS = {"parts": parts_overlay, "labels": label_image}
