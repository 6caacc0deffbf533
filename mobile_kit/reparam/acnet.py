"""Asymmetric Convolution Blocks.

Ding, Guo, Ding, Han: "ACNet: Strengthening the Kernel Skeletons for Powerful
CNN via Asymmetric Convolution Blocks", ICCV 2019. A 3x3, a 1x3 and a 3x1
convolution run in parallel at training time and are folded into one 3x3
convolution for inference: the asymmetric kernels are added onto the centre
row / column of the square kernel (convolution is linear in the kernel).

The same applies per channel to a 3x3 *depthwise* convolution
(:class:`DepthwiseACBlock`): three depthwise branches, 3x3 + 1x3 + 3x1, each
with its own BatchNorm, fold into one ``DepthwiseConv2D`` 3x3, channel by
channel (the kernel of a depthwise convolution is ``(kh, kw, C, 1)``; each
channel is an independent single-channel convolution, to which the ACNet
argument applies unchanged).

Two forms:

- ``mode="branch_bn"`` (the paper): each convolution without bias, followed by
  its own BatchNorm; the three normalised branches are summed.
- ``mode="add_bn"`` (the humanMatting LikeUnet): three convolutions with
  biases summed by an Add and followed by one BatchNorm.

Alignment: the asymmetric branches read the *same* padded input as the 3x3
branch, cropped by one pixel on the axis of length 1, so their taps sit on the
3x3 window's centre row/column for every stride, for ``same`` and ``valid``
padding and for odd or even input sizes. Stock Keras ``padding="same"``
convolutions do not guarantee this for stride 2 (TensorFlow pads asymmetrically
and the 1-wide kernel gets no padding); see :mod:`mobile_kit.reparam.fold`.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tf_keras import layers

MODES = ("branch_bn", "add_bn")


def embed_kernel(kernel: np.ndarray, size: tuple[int, int] = (3, 3), offset: tuple[int, int] | None = None) -> np.ndarray:
    """Place a ``(kh, kw, c_in, c_out)`` kernel inside a zero ``(size[0], size[1], c_in, c_out)`` kernel.

    ``offset`` is the (row, col) of its top-left tap; default centred.
    """
    kh, kw = kernel.shape[:2]
    if offset is None:
        offset = ((size[0] - kh) // 2, (size[1] - kw) // 2)
    out = np.zeros((size[0], size[1]) + kernel.shape[2:], dtype=kernel.dtype)
    out[offset[0] : offset[0] + kh, offset[1] : offset[1] + kw] = kernel
    return out


def bn_scale_shift(bn: layers.BatchNormalization) -> tuple[np.ndarray, np.ndarray]:
    """Inference-time BatchNorm as ``y = x * scale + shift`` per channel (float64)."""
    w = {v.name.split("/")[-1].split(":")[0]: v.numpy().astype(np.float64) for v in bn.weights}
    var, mean = w["moving_variance"], w["moving_mean"]
    gamma = w.get("gamma", np.ones_like(var))
    beta = w.get("beta", np.zeros_like(var))
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


@keras.utils.register_keras_serializable(package="mobile_kit")
class ACBlock(layers.Layer):
    """3x3 + 1x3 + 3x1 convolutions trained in parallel, foldable into one 3x3 convolution.

    Parameters
    ----------
    filters : int
        Output channels.
    strides : int or (int, int)
        Stride of all three branches.
    padding : {"same", "valid"}
        As for a 3x3 ``Conv2D``; the folded layer uses the same value.
    mode : {"branch_bn", "add_bn"}
        See the module docstring.
    bn_momentum : float
        Momentum of the block's BatchNorm layers (Keras default 0.99).

    Input ``(N, H, W, C_in)`` float32 NHWC; output ``(N, H', W', filters)``
    identical in shape to ``Conv2D(filters, 3, strides, padding)``.
    """

    def __init__(self, filters: int, strides=1, padding: str = "same", mode: str = "branch_bn",
                 kernel_initializer="glorot_uniform", bn_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"ACBlock mode: expected one of {MODES}, found {mode!r}")
        if padding not in ("same", "valid"):
            raise ValueError(f"ACBlock padding: expected 'same' or 'valid', found {padding!r}")
        self.filters = None if filters is None else int(filters)  # None: set in build (depthwise)
        self.strides = (strides, strides) if isinstance(strides, int) else tuple(strides)
        self.padding = padding
        self.mode = mode
        self.bn_momentum = float(bn_momentum)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        bias = mode == "add_bn"
        init_cfg = keras.initializers.serialize(self.kernel_initializer)
        # one initializer instance per branch: a shared unseeded instance repeats its values
        common = dict(strides=self.strides, padding="valid", use_bias=bias)
        init = lambda: keras.initializers.deserialize(init_cfg)  # noqa: E731
        self.square = self._branch((3, 3), "square", init(), common)
        self.hor = self._branch((1, 3), "hor", init(), common)
        self.ver = self._branch((3, 1), "ver", init(), common)
        bn = dict(momentum=self.bn_momentum)
        if mode == "branch_bn":
            self.square_bn = layers.BatchNormalization(name="square_bn", **bn)
            self.hor_bn = layers.BatchNormalization(name="hor_bn", **bn)
            self.ver_bn = layers.BatchNormalization(name="ver_bn", **bn)
        else:
            self.bn = layers.BatchNormalization(name="bn", **bn)

    def _branch(self, kernel_size, name, initializer, common):
        """One training-time branch (``Conv2D`` here; depthwise in :class:`DepthwiseACBlock`)."""
        return layers.Conv2D(self.filters, kernel_size, name=name, kernel_initializer=initializer, **common)

    @staticmethod
    def _kernel(conv) -> np.ndarray:
        return conv.kernel.numpy()

    def _scaled(self, kernel: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """``kernel`` with output channel ``o`` multiplied by ``scale[o]``."""
        return kernel * scale

    def folded_layer(self, name: str | None = None) -> layers.Layer:
        """The plain layer that :meth:`fused_kernel_bias` is the weights of (built by ``fold_model``)."""
        return layers.Conv2D(self.filters, 3, strides=self.strides, padding=self.padding, name=name or self.name)

    def build(self, input_shape):
        c = input_shape[-1]
        if self.filters is None:  # depthwise: one output channel per input channel
            self.filters = int(c)
        h = (None, None, None, c)
        self.square.build(h)
        self.hor.build(h)
        self.ver.build(h)
        out = (None, None, None, self.filters)
        if self.mode == "branch_bn":
            for bn in (self.square_bn, self.hor_bn, self.ver_bn):
                bn.build(out)
        else:
            self.bn.build(out)
        super().build(input_shape)

    def _pad_same(self, x):
        """Pad as TensorFlow's SAME padding does for a 3x3 kernel (extra pixel at the end)."""
        shape = tf.shape(x)
        pads = []
        for i, s in ((1, self.strides[0]), (2, self.strides[1])):
            n = shape[i]
            out = (n + s - 1) // s
            total = tf.maximum((out - 1) * s + 3 - n, 0)
            pads.append([total // 2, total - total // 2])
        return tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]])

    def call(self, x, training=None):
        if self.padding == "same":
            x = self._pad_same(x)
        sq = self.square(x)
        ho = self.hor(x[:, 1:-1, :, :])
        ve = self.ver(x[:, :, 1:-1, :])
        if self.mode == "branch_bn":
            return (self.square_bn(sq, training=training) + self.hor_bn(ho, training=training)
                    + self.ver_bn(ve, training=training))
        return self.bn(sq + ho + ve, training=training)

    def fused_kernel_bias(self) -> tuple[np.ndarray, np.ndarray]:
        """The equivalent single 3x3 convolution at inference.

        Returns
        -------
        (kernel, bias)
            ``kernel`` ``(3, 3, c_in, filters)`` and ``bias`` ``(filters,)``,
            float32, for ``Conv2D(filters, 3, strides, padding, use_bias=True)``.
        """
        k3 = self._kernel(self.square).astype(np.float64)
        k13 = self._kernel(self.hor).astype(np.float64)
        k31 = self._kernel(self.ver).astype(np.float64)
        if self.mode == "branch_bn":
            kernel = np.zeros_like(k3)
            bias = np.zeros(self.filters)
            for k, bn in ((k3, self.square_bn), (k13, self.hor_bn), (k31, self.ver_bn)):
                scale, shift = bn_scale_shift(bn)
                kernel += self._scaled(embed_kernel(k, (3, 3)), scale)
                bias += shift
        else:
            kernel = k3 + embed_kernel(k13) + embed_kernel(k31)
            b = sum(c.bias.numpy().astype(np.float64) for c in (self.square, self.hor, self.ver))
            scale, shift = bn_scale_shift(self.bn)
            kernel = self._scaled(kernel, scale)
            bias = b * scale + shift
        return kernel.astype(np.float32), bias.astype(np.float32)

    def compute_output_shape(self, input_shape):
        def size(n, st):
            if n is None:
                return None
            return -(-n // st) if self.padding == "same" else (n - 3) // st + 1

        return tf.TensorShape((input_shape[0], size(input_shape[1], self.strides[0]),
                               size(input_shape[2], self.strides[1]), self.filters))

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, strides=self.strides, padding=self.padding, mode=self.mode,
                   bn_momentum=self.bn_momentum,
                   kernel_initializer=keras.initializers.serialize(self.kernel_initializer))
        return cfg


@keras.utils.register_keras_serializable(package="mobile_kit")
class DepthwiseACBlock(ACBlock):
    """Depthwise 3x3 + 1x3 + 3x1 trained in parallel, foldable into one ``DepthwiseConv2D`` 3x3.

    The ACNet block of Ding et al. (ICCV 2019) applied to a depth-multiplier-1
    depthwise convolution, as used in the inverted-residual blocks of
    MobileNetV2 (:mod:`mobile_kit.models.mbv2_lraspp` with ``acnet=True``):
    every channel is its own single-channel convolution, so its 1x3 and 3x1
    kernels add onto the centre row and column of its 3x3 kernel after each
    branch's BatchNorm scale is applied per channel.

    Parameters
    ----------
    strides : int or (int, int)
        Stride of all three branches.
    padding : {"same", "valid"}
        As for a 3x3 ``DepthwiseConv2D``; the folded layer uses the same value.
    mode : {"branch_bn", "add_bn"}
        See the module docstring.
    bn_momentum : float
        Momentum of the block's BatchNorm layers (Keras default 0.99).

    Input ``(N, H, W, C)`` float32 NHWC; output ``(N, H', W', C)``, identical
    in shape to ``DepthwiseConv2D(3, strides, padding)``.
    """

    def __init__(self, strides=1, padding: str = "same", mode: str = "branch_bn",
                 kernel_initializer="glorot_uniform", bn_momentum: float = 0.99, **kwargs):
        kwargs.pop("filters", None)  # set from the input channels in build; kept out of the config
        super().__init__(None, strides, padding, mode, kernel_initializer=kernel_initializer,
                         bn_momentum=bn_momentum, **kwargs)

    def _branch(self, kernel_size, name, initializer, common):
        return layers.DepthwiseConv2D(kernel_size, name=name, depthwise_initializer=initializer, **common)

    @staticmethod
    def _kernel(conv) -> np.ndarray:
        return conv.depthwise_kernel.numpy()

    def _scaled(self, kernel: np.ndarray, scale: np.ndarray) -> np.ndarray:
        # (kh, kw, C, 1): output channel c is input channel c
        return kernel * scale.reshape(kernel.shape[2], kernel.shape[3])

    def folded_layer(self, name: str | None = None) -> layers.Layer:
        return layers.DepthwiseConv2D(3, strides=self.strides, padding=self.padding, name=name or self.name)

    def fused_kernel_bias(self) -> tuple[np.ndarray, np.ndarray]:
        """The equivalent single depthwise 3x3 convolution at inference.

        Returns
        -------
        (kernel, bias)
            ``kernel`` ``(3, 3, C, 1)`` and ``bias`` ``(C,)``, float32, for
            ``DepthwiseConv2D(3, strides, padding, use_bias=True)``.
        """
        return super().fused_kernel_bias()

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("filters", None)
        return cfg
