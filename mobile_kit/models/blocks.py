"""Shared building blocks (tf_keras layers, NHWC)."""
from __future__ import annotations

from tf_keras import layers


def conv_bn_relu(x, filters: int, name: str, kernel_size: int = 3, acnet: bool = False):
    """``Conv2D(kernel_size, same, bias) -> BatchNormalization -> ReLU``.

    With ``acnet=True`` (3x3 only) the convolution and BatchNorm are an
    :class:`~mobile_kit.reparam.ACBlock` (3x3 + 1x3 + 3x1 branches, each with
    its own BatchNorm), folded back to one 3x3 convolution by ``fold_model``.
    """
    if acnet and kernel_size == 3:
        from mobile_kit.reparam.acnet import ACBlock

        x = ACBlock(filters, 1, "same", mode="branch_bn", name=f"{name}_acb")(x)
    else:
        x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def deconv_bn_relu(x, filters: int, name: str):
    """``Conv2DTranspose(3x3, stride 1, same) -> BatchNormalization -> ReLU``."""
    x = layers.Conv2DTranspose(filters, 3, padding="same", name=f"{name}_deconv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def softmax_head(x, num_classes: int):
    """1x1 convolution to class logits followed by a softmax over channels."""
    x = layers.Conv2D(num_classes, 1, name="head_logits")(x)
    return layers.Softmax(axis=-1, name="head_softmax")(x)


