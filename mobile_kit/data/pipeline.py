"""tf.data pipelines over in-memory pairs.

Photos are decoded once and kept at most ``cache_side`` pixels on the long side
(so augmentation stays cheap on 2 cores); each epoch draws augmentations from
``numpy.random.default_rng(seed + epoch)`` and resizes to the model input.
"""
from __future__ import annotations

import cv2
import numpy as np

from mobile_kit.data.augment import AugmentConfig, augment
from mobile_kit.data.dataset import Pair, load_pair
from mobile_kit.preprocess import to_model_input
from mobile_kit.progress import NullProgress, Progress
from mobile_kit.specs import InputSpec


def load_pairs_cached(pairs: list[Pair], cache_side: int, progress: Progress = NullProgress(), load_target=None):
    """Decode pairs and downscale so the long side is at most ``cache_side`` pixels.

    ``load_target`` decodes the ground truth (the task's :meth:`~mobile_kit.tasks.base.Task.load_target`;
    default binary masks).

    Returns
    -------
    list of (image, target)
        ``(H, W, 3)`` uint8 RGB and ``(H, W)`` uint8 class ids.
    """
    out = []
    with progress.task("loading images", len(pairs)) as t:
        for p in pairs:
            img, m = load_pair(p, load_target=load_target)
            h, w = m.shape
            s = cache_side / max(h, w)
            if s < 1.0:
                size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                m = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
            out.append((img, m))
            t.advance()
    return out


def make_sample(image, mask, spec: InputSpec):
    """Resize a pair to the model input: ``x`` (h, w, C) float32 and ``y`` (h, w, 1) float32 class ids."""
    x = to_model_input(image, spec)
    y = cv2.resize(mask, (spec.width, spec.height), interpolation=cv2.INTER_NEAREST)
    return x, y[:, :, None].astype(np.float32)


def eval_arrays(samples, spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """Stack un-augmented samples: ``X`` (N, h, w, C) float32, ``Y`` (N, h, w, 1) float32."""
    xs, ys = zip(*(make_sample(i, m, spec) for i, m in samples))
    return np.stack(xs), np.stack(ys)


def train_dataset(samples, spec: InputSpec, batch_size: int, seed: int, epoch: int,
                  aug: AugmentConfig | None = AugmentConfig(), flip_lut=None):
    """A ``tf.data.Dataset`` of one augmented, shuffled epoch, batched and prefetched.

    Yields ``(x, y)`` with x ``(B, h, w, C)`` float32 normalised per ``spec`` and
    y ``(B, h, w, 1)`` float32 class ids. ``flip_lut`` swaps left/right classes of flipped targets.
    """
    import tensorflow as tf

    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(samples))

    def gen():
        for i in order:
            img, m = samples[i]
            if aug is not None:
                img, m = augment(img, m, rng, aug, flip_lut)
            yield make_sample(img, m, spec)

    sig = (
        tf.TensorSpec((spec.height, spec.width, spec.channels), tf.float32),
        tf.TensorSpec((spec.height, spec.width, 1), tf.float32),
    )
    return tf.data.Dataset.from_generator(gen, output_signature=sig).batch(batch_size).prefetch(tf.data.AUTOTUNE)
