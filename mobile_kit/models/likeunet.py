"""LikeUnet: the compact U-Net of the humanMatting project (toytag/humanMatting).

Layout (read from the authors' ``dark-light.json``): a 3x3 ReLU stem of 8
filters; five levels of ``conv3x3-BN-ReLU-maxpool2`` with 16/32/32/32/64
filters; a 64-filter bottleneck; a mirrored decoder whose stages are
``conv3x3-BN-ReLU -> transposed conv3x3-BN-ReLU -> bilinear x2 upsampling``
concatenated with the matching encoder output; a 3x3 ReLU conv of 8 filters and
a 1x1 softmax head. About 0.22 M parameters at 3 input channels; H and W must
be multiples of 32.
"""
from __future__ import annotations

import tf_keras as keras
from tf_keras import layers

from mobile_kit.models.blocks import conv_bn_relu, deconv_bn_relu, softmax_head
from mobile_kit.models.registry import register_arch
from mobile_kit.specs import InputSpec

ENCODER_FILTERS = (16, 32, 32, 32, 64)
DECODER_FILTERS = (64, 32, 32, 32, 16)


@register_arch("likeunet", multiple_of=32)
def likeunet(spec: InputSpec, num_classes: int, width_multiplier: float = 1.0, acnet: bool = False) -> keras.Model:
    """Build LikeUnet.

    Parameters
    ----------
    spec : InputSpec
        ``(H, W, C)`` input, H and W multiples of 32, C = 3 (RGB) or 1 (gray).
    num_classes : int
        Softmax classes (the task's labels; :func:`mobile_kit.models.build_model` supplies the default).
    width_multiplier : float
        Scales every filter count (1.0 = the original).
    acnet : bool
        Train-time ACNet blocks in place of the encoder/decoder 3x3 conv + BN
        (fold with :func:`mobile_kit.reparam.fold_model` after training).

    Returns
    -------
    tf_keras.Model
        NHWC softmax probabilities ``(None, H, W, num_classes)``.
    """

    def f(n):
        return max(4, int(round(n * width_multiplier)))

    inp = layers.Input((spec.height, spec.width, spec.channels), name="image")
    x = layers.Conv2D(f(8), 3, padding="same", activation="relu", name="stem_conv")(inp)
    skips = []
    for i, n in enumerate(ENCODER_FILTERS):
        x = conv_bn_relu(x, f(n), name=f"enc{i + 1}", acnet=acnet)
        x = layers.MaxPooling2D(2, name=f"enc{i + 1}_pool")(x)
        skips.append(x)
    x = conv_bn_relu(x, f(64), name="bottleneck", acnet=acnet)
    for i, n in enumerate(DECODER_FILTERS):
        if i > 0:
            x = conv_bn_relu(x, f(n), name=f"dec{i}", acnet=acnet)
        x = deconv_bn_relu(x, f(n), name=f"dec{i}_t")
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{i}_up")(x)
        if i < len(DECODER_FILTERS) - 1:
            x = layers.Concatenate(name=f"dec{i}_skip")([skips[-2 - i], x])
    x = layers.Conv2D(f(8), 3, padding="same", activation="relu", name="out_conv")(x)
    out = softmax_head(x, num_classes)
    return keras.Model(inp, out, name="likeunet")
