"""MobileNetV2 encoder + LR-ASPP-style global-context head + cheap-skip decoder.

A foreground segmenter sized for phones (about 47 M MACs, 75 K parameters and a
~135 KB int8 TFLite at 256x256, width 1.0), built only from ops that tensorflow-model-optimization
0.8.1 quantizes to int8 and that XNNPACK and the TFLite GPU delegate run:
``Conv2D``, ``DepthwiseConv2D``, ``BatchNormalization`` (folded), ``ReLU6``,
``Add``, ``GlobalAveragePooling2D``, nearest/bilinear ``UpSampling2D`` and the
softmax head. No hard-swish and no ``Multiply`` (tfmot has no quantize config
for them), so the squeeze-excite gate of MobileNetV3 is replaced by an
*additive* global-context branch.

Layout (strides relative to the input, width 1.0)::

    stem     conv3x3 s2, 16, BN, ReLU6                              1/2  -> skip
    stage 1  inverted residual t=1, 16, s2                           1/4  -> skip
    stage 2  2x inverted residual t=4, 24 (first s2)                 1/8  -> skip
    stage 3  3x inverted residual t=3, 40 (first s2), 5x5 depthwise  1/16
    stage 4  inverted residual t=4, 64, 3x3 depthwise                1/16

(the early stride-2 stages follow MobileNetV3-small: the expensive 1/2 and
1/4 resolutions carry few channels)
    head     conv1x1 48 + [GAP -> conv1x1 48 -> ReLU6 -> nearest broadcast]  (Add, ReLU6)
    decoder  at 1/8, 1/4, 1/2: bilinear x2 -> conv1x1 to the skip's width -> Add(skip)
             -> ReLU6 (-> depthwise 3x3 + conv1x1 refinement at 1/8 and 1/4)
    output   bilinear x2 to full resolution -> conv1x1 logits -> softmax

Inverted residual blocks follow Sandler et al., "MobileNetV2: Inverted
Residuals and Linear Bottlenecks" (CVPR 2018); the head follows the LR-ASPP of
Howard et al., "Searching for MobileNetV3" (ICCV 2019), with the sigmoid gate
(a Multiply) replaced by an Add of the pooled context; the decoder follows the
"x2 upsample -> 1x1 conv -> add skip" layout that MediaPipe's selfie model uses.
"""
from __future__ import annotations

import tf_keras as keras
from tf_keras import layers

from mobile_kit.models.blocks import softmax_head
from mobile_kit.models.registry import register_arch
from mobile_kit.specs import InputSpec

#: (expansion t, output channels c, repeats n, first stride s, depthwise kernel k) per encoder stage.
STAGES = (
    (1, 16, 1, 2, 3),
    (4, 24, 2, 2, 3),
    (3, 40, 3, 2, 5),
    (4, 64, 1, 1, 3),
)
HEAD_CHANNELS = 48
#: BatchNorm momentum: 0.9 instead of Keras' 0.99. With depthwise layers and a
#: high learning rate, 0.99 lags the fast-moving batch statistics so badly that
#: the inference-mode model predicted no foreground at all after 4 epochs while the
#: training-mode model scored IoU 0.85 on the same photos (measured).
BN_MOMENTUM = 0.9
#: Encoder stages whose output feeds the decoder (at 1/4, 1/8); the stem output is the 1/2 skip.
SKIP_STAGES = (0, 1)


def _make_divisible(v: float, divisor: int = 8, min_value: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (the MobileNet rule: never below 90% of ``v``)."""
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu: bool = True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x) if relu else x


def _dw_bn(x, kernel: int, stride: int, name: str, relu: bool = True, acnet: bool = False):
    """Depthwise ``kernel`` x ``kernel`` + BN (+ ReLU6); with ``acnet`` a 3x3 becomes a :class:`DepthwiseACBlock`."""
    if acnet and kernel == 3:
        from mobile_kit.reparam.acnet import DepthwiseACBlock

        x = DepthwiseACBlock(stride, "same", mode="branch_bn", bn_momentum=BN_MOMENTUM, name=f"{name}_dwacb")(x)
    else:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dwbn")(x)
    return layers.ReLU(6.0, name=f"{name}_dwrelu")(x) if relu else x


def inverted_residual(x, expansion: int, out_ch: int, stride: int, kernel: int, name: str, acnet: bool = False):
    """MobileNetV2 block: 1x1 expand (ReLU6) -> kxk depthwise (ReLU6) -> 1x1 linear project (+ identity).

    ``acnet``: a 3x3 depthwise is trained as an ACNet block (3x3 + 1x3 + 3x1).
    """
    in_ch = x.shape[-1]
    y = x
    if expansion != 1:
        y = _conv_bn(y, in_ch * expansion, 1, 1, f"{name}_expand")
    y = _dw_bn(y, kernel, stride, name, acnet=acnet)
    y = _conv_bn(y, out_ch, 1, 1, f"{name}_project", relu=False)
    if stride == 1 and in_ch == out_ch:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


@register_arch("mbv2_lraspp", multiple_of=32)
def mbv2_lraspp(spec: InputSpec, num_classes: int, width_multiplier: float = 1.0,
                acnet: bool = False) -> keras.Model:
    """Build the MobileNetV2 + LR-ASPP-style segmenter.

    Parameters
    ----------
    spec : InputSpec
        ``(H, W, C)`` input; H and W multiples of 32 (non-square allowed,
        e.g. 192x320), C = 3 (RGB) or 1 (gray).
    num_classes : int
        Softmax classes (the task's labels; :func:`mobile_kit.models.build_model` supplies the default).
    width_multiplier : float
        Scales every channel count (rounded to multiples of 8, at least 8).
        See ``mobilekit inspect`` for the exact MACs of a built model.
    acnet : bool
        Train every 3x3 depthwise convolution (the stride-1 and stride-2
        inverted residuals with k=3 and the decoder refinements) as a
        :class:`~mobile_kit.reparam.acnet.DepthwiseACBlock`: depthwise 3x3 +
        1x3 + 3x1, each with its own BatchNorm (Ding et al., "ACNet", ICCV
        2019). ``fold_model`` (and so ``export`` and ``qat``) folds each back
        into one depthwise 3x3, so the deployed graph, its size and its MACs
        are those of ``acnet=False``. The 5x5 depthwise of stage 3 and the
        stem's full 3x3 convolution stay as they are.

    Returns
    -------
    tf_keras.Model
        Input ``(None, H, W, C)`` float32; output NHWC softmax probabilities
        ``(None, H, W, num_classes)``.
    """

    def ch(n):
        return _make_divisible(n * width_multiplier)

    inp = layers.Input((spec.height, spec.width, spec.channels), name="image")
    x = _conv_bn(inp, ch(16), 3, 2, "stem")
    skips = [x]
    for si, (t, c, n, s, k) in enumerate(STAGES):
        for j in range(n):
            x = inverted_residual(x, t, ch(c), s if j == 0 else 1, k, f"s{si + 1}b{j + 1}", acnet=acnet)
        if si in SKIP_STAGES:
            skips.append(x)
    # LR-ASPP-style head: a 1x1 branch plus pooled global context, broadcast back by nearest upsampling.
    hh, hw = spec.height // 16, spec.width // 16
    a = _conv_bn(x, ch(HEAD_CHANNELS), 1, 1, "head_local")
    g = layers.GlobalAveragePooling2D(keepdims=True, name="head_pool")(x)
    g = layers.Conv2D(ch(HEAD_CHANNELS), 1, name="head_context_conv")(g)
    g = layers.ReLU(6.0, name="head_context_relu")(g)
    g = layers.UpSampling2D((hh, hw), interpolation="nearest", name="head_context_broadcast")(g)
    x = layers.Add(name="head_add")([a, g])
    x = layers.ReLU(6.0, name="head_relu")(x)
    # Decoder: bilinear x2 -> 1x1 conv to the skip's width -> add skip -> depthwise-separable refinement.
    for i, skip in enumerate(reversed(skips)):
        level = f"dec{i + 1}"
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{level}_up")(x)
        x = _conv_bn(x, skip.shape[-1], 1, 1, f"{level}_proj", relu=False)
        x = layers.Add(name=f"{level}_add")([x, skip])
        x = layers.ReLU(6.0, name=f"{level}_relu")(x)
        if i < len(skips) - 1:  # no refinement at 1/2: it would cost as much as a whole encoder stage
            x = _dw_bn(x, 3, 1, f"{level}_refine", acnet=acnet)
            x = _conv_bn(x, skip.shape[-1], 1, 1, f"{level}_refine_pw")
    x = layers.UpSampling2D(2, interpolation="bilinear", name="out_up")(x)
    out = softmax_head(x, num_classes)
    return keras.Model(inp, out, name="mbv2_lraspp")
