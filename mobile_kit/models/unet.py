"""A configurable compact U-Net (Ronneberger et al., MICCAI 2015), NHWC.

Each level is two ``conv3x3-BN-ReLU``; the decoder upsamples bilinearly x2,
concatenates the skip and applies two ``conv3x3-BN-ReLU``. Filters double per
level from ``base_filters``; the input must be a multiple of ``2**depth`` (32
is required so sizes are interchangeable with likeunet).
"""
from __future__ import annotations

import tf_keras as keras
from tf_keras import layers

from mobile_kit.models.blocks import conv_bn_relu, softmax_head
from mobile_kit.models.registry import register_arch
from mobile_kit.specs import InputSpec


@register_arch("unet", multiple_of=32)
def unet(spec: InputSpec, num_classes: int, base_filters: int = 8, depth: int = 4, acnet: bool = False) -> keras.Model:
    """Build a U-Net with ``depth`` down-sampling levels of ``base_filters * 2**level`` filters.

    Returns
    -------
    tf_keras.Model
        NHWC softmax probabilities ``(None, H, W, num_classes)``.
    """
    if not 1 <= depth <= 5:
        from mobile_kit.errors import MobileKitError

        raise MobileKitError(f"--depth: expected 1..5, found {depth}")
    inp = layers.Input((spec.height, spec.width, spec.channels), name="image")
    x = inp
    skips = []
    for d in range(depth):
        n = base_filters * 2**d
        x = conv_bn_relu(x, n, f"enc{d}_a", acnet=acnet)
        x = conv_bn_relu(x, n, f"enc{d}_b", acnet=acnet)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{d}_pool")(x)
    n = base_filters * 2**depth
    x = conv_bn_relu(x, n, "mid_a", acnet=acnet)
    x = conv_bn_relu(x, n, "mid_b", acnet=acnet)
    for d in reversed(range(depth)):
        n = base_filters * 2**d
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{d}_up")(x)
        x = layers.Concatenate(name=f"dec{d}_skip")([skips[d], x])
        x = conv_bn_relu(x, n, f"dec{d}_a", acnet=acnet)
        x = conv_bn_relu(x, n, f"dec{d}_b", acnet=acnet)
    out = softmax_head(x, num_classes)
    return keras.Model(inp, out, name="unet")
