"""Swap a softmax segmentation head for a sigmoid or logits head.

Some mobile GPU delegates compute a channel softmax wrongly or slowly (the
portrait-segmentation project this toolkit grew from saw wrong masks on
Samsung GPUs). For two classes the sigmoid head is exact:

    softmax(z)[1] = e^z1 / (e^z0 + e^z1) = 1 / (1 + e^-(z1 - z0)) = sigmoid(z1 - z0)

so the final 1x1 (or kxk) convolution producing the logits ``z`` is replaced
by one output channel with kernel ``w1 - w0`` and bias ``b1 - b0`` followed
by a sigmoid: p(foreground) is unchanged. With more than two classes no single
sigmoid channel reproduces the softmax (each class's probability depends on
all logits), so only ``logits`` (argmax on device) is offered there.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tf_keras as keras
from tf_keras import layers

from mobile_kit.errors import ModelError, UnknownNameError
from mobile_kit.specs import OutputSpec

HEADS = ("softmax", "sigmoid", "logits")


def _find_head(model):
    """(logits conv layer, softmax is a separate layer?) for a model ending in softmax."""
    last = model.layers[-1]
    if isinstance(last, layers.Softmax) or (isinstance(last, layers.Activation)
                                            and keras.activations.serialize(last.activation) == "softmax"):
        src = last._inbound_nodes[0].inbound_layers
        if isinstance(src, layers.Conv2D) and keras.activations.serialize(src.activation) == "linear":
            return src, True
    if isinstance(last, layers.Conv2D) and keras.activations.serialize(last.activation) == "softmax":
        return last, False
    raise ModelError(f"model {model.name!r}: expected a head of Conv2D logits followed by a channel softmax, "
                     f"found last layer {last.name!r} ({type(last).__name__})")


def swap_head(model, head: str, out_spec: OutputSpec) -> tuple[keras.Model, OutputSpec]:
    """Return a new model with the requested head and its output contract.

    Parameters
    ----------
    model : tf_keras.Model
        Ends in ``Conv2D`` logits + softmax over the channel axis (NHWC);
        not modified.
    head : {"softmax", "sigmoid", "logits"}
        ``sigmoid``: 2 classes only, one channel p(foreground) (exact).
        ``logits``: the raw scores, C channels (argmax / softmax on device).
    out_spec : OutputSpec
        The model's current contract (labels, foreground channel, threshold).

    Returns
    -------
    (model, OutputSpec)

    Raises
    ------
    UnknownNameError
        Unknown head.
    ModelError
        No softmax head to swap, or ``sigmoid`` asked of more than 2 classes.
    """
    if head not in HEADS:
        raise UnknownNameError("head", head, HEADS)
    if head == "softmax":
        return model, out_spec
    conv, separate = _find_head(model)
    k, b = conv.kernel.numpy(), (conv.bias.numpy() if conv.use_bias else np.zeros(conv.filters, np.float32))
    c = k.shape[-1]
    feature = conv._inbound_nodes[0].inbound_layers.output if not isinstance(
        conv._inbound_nodes[0].inbound_layers, list) else None
    if feature is None:
        raise ModelError(f"layer {conv.name!r}: expected one input to the head convolution")
    cfg = conv.get_config()
    if head == "sigmoid":
        if c != 2:
            raise ModelError(
                f"--head sigmoid needs a 2-class softmax, found {c} classes ({', '.join(out_spec.labels)}): with more "
                "classes each probability depends on all logits, so no per-class sigmoid reproduces the softmax; "
                "use --head logits and take the argmax on device"
            )
        pi = out_spec.foreground_index
        new_k = (k[..., pi] - k[..., 1 - pi])[..., None].astype(np.float64)
        new_b = np.array([b[pi] - b[1 - pi]], np.float64)
        cfg.update(filters=1, activation="sigmoid", use_bias=True, name="head_sigmoid")
        spec = OutputSpec(kind="sigmoid", labels=(out_spec.labels[pi],), foreground_index=0, threshold=out_spec.threshold)
    else:
        new_k, new_b = k.astype(np.float64), b.astype(np.float64)
        cfg.update(activation="linear", use_bias=True, name="head_logits")
        spec = dataclasses.replace(out_spec, kind="logits")  # keeps labels, label_map, foreground channel
    new_conv = layers.Conv2D.from_config(cfg)
    out = new_conv(feature)  # reuses the trunk's layers: the new model shares them with ``model``
    new_conv.set_weights([new_k.astype(np.float32), new_b.astype(np.float32)])
    return keras.Model(model.inputs, out, name=f"{model.name}_{head}"), spec

