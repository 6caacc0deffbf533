"""Fold ACNet branches and BatchNorm into plain convolutions.

:func:`fold_model` rebuilds a functional tf_keras model layer by layer and
returns a new model (its input is never modified) in which:

1. every :class:`~mobile_kit.reparam.acnet.ACBlock` became one ``Conv2D`` and every
   :class:`~mobile_kit.reparam.acnet.DepthwiseACBlock` one ``DepthwiseConv2D`` (the block's
   ``folded_layer()`` with the weights of its ``fused_kernel_bias()``);
2. every stock ACNet pattern -- three ``Conv2D`` 3x3 / 1x3 / 3x1 on the same
   input, joined by an ``Add`` -- became one ``Conv2D`` (kernels added on the
   3x3 kernel's taps, biases summed);
3. every ``BatchNormalization`` that follows a ``Conv2D``,
   ``DepthwiseConv2D`` or ``Conv2DTranspose`` (linear activation, sole
   consumer) was folded into it: ``W' = W * gamma / sqrt(var + eps)``,
   ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``.

A pattern that looks foldable but is not (dilation, groups, a non-linear
branch, padding that misaligns the asymmetric taps) is left as is, with a
warning naming the layer in :attr:`FoldReport.warnings`.

Stride-2 ``padding="same"`` with stock layers: TensorFlow pads the 3-wide
kernel ``total // 2`` pixels before, the 1-wide one none, so the 1x3 taps sit
at row ``pad_before`` of the 3x3 window; that depends on the input size's
parity, so it is folded only where the static shape is known.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tf_keras as keras
from tf_keras import layers

from mobile_kit.errors import ModelError
from mobile_kit.reparam.acnet import ACBlock, bn_scale_shift, embed_kernel

CONV_TYPES = (layers.Conv2D, layers.DepthwiseConv2D, layers.Conv2DTranspose)
from mobile_kit.verify import FOLD_MAX_ABS as FOLD_CHECK_TOLERANCE  # noqa: E402  (tolerances live in verify)


@dataclass
class FoldReport:
    """What :func:`fold_model` did."""

    acblocks: list[str] = field(default_factory=list)
    acnet_patterns: list[str] = field(default_factory=list)
    batchnorms: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    params_before: int = 0
    params_after: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.acblocks or self.acnet_patterns or self.batchnorms)

    def to_dict(self) -> dict:
        return {"acblocks": self.acblocks, "acnet_patterns": self.acnet_patterns, "batchnorms": self.batchnorms,
                "warnings": self.warnings, "params_before": self.params_before, "params_after": self.params_after}


def _exact_type(layer, types) -> bool:
    return type(layer) in (types if isinstance(types, tuple) else (types,))


def _inbound(layer):
    nodes = layer._inbound_nodes
    if len(nodes) != 1:
        raise ModelError(f"layer {layer.name!r}: expected a layer used once, found {len(nodes)} calls (shared layers "
                         "are not supported by fold_model)")
    return nodes[0]


def _input_layers(layer) -> list:
    node = _inbound(layer)
    ins = node.inbound_layers
    return list(ins) if isinstance(ins, (list, tuple)) else [ins]


def _consumers(model) -> dict[str, list]:
    """Layers reading each layer's output; a model output counts as a consumer too."""
    out: dict[str, list] = {l.name: [] for l in list(model._input_layers) + list(model.layers)}
    for l in model.layers:
        if isinstance(l, layers.InputLayer):
            continue
        for src in _input_layers(l):
            out[src.name].append(l)
    for o in model._output_layers:
        out[o.name].append("<model output>")
    return out


def _linear(layer) -> bool:
    return keras.activations.serialize(layer.activation) in ("linear", None) if hasattr(layer, "activation") else True


def _same_pad_before(n: int | None, stride: int, k: int = 3) -> int | None:
    if n is None:
        return None
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2


def _acnet_pattern(add, consumers, warnings) -> tuple | None:
    """(square, hor, ver, row_offset, col_offset) if ``add`` joins a foldable 3x3/1x3/3x1 triple."""
    srcs = _input_layers(add)
    if len(srcs) != 3 or not all(_exact_type(s, layers.Conv2D) for s in srcs):
        return None
    by_k = {tuple(s.kernel_size): s for s in srcs}
    if set(by_k) != {(3, 3), (1, 3), (3, 1)}:
        return None
    sq, ho, ve = by_k[(3, 3)], by_k[(1, 3)], by_k[(3, 1)]
    why = None
    feeders = {id(_input_layers(s)[0]) for s in srcs}
    if len(feeders) != 1:
        why = "the three convolutions read different inputs"
    elif any(s.dilation_rate != (1, 1) for s in srcs):
        why = "dilated convolution"
    elif any(getattr(s, "groups", 1) != 1 for s in srcs):
        why = "grouped convolution"
    elif len({s.strides for s in srcs}) != 1 or len({s.padding for s in srcs}) != 1:
        why = "branches differ in stride or padding"
    elif any(not _linear(s) for s in srcs):
        why = "a branch has a non-linear activation before the Add"
    elif any(len(consumers[s.name]) != 1 for s in srcs):
        why = "a branch output is also used elsewhere"
    elif len({bool(s.use_bias) for s in srcs}) != 1 and False:
        why = "bias mismatch"
    if why is None:
        padding, (sy, sx) = sq.padding, sq.strides
        if padding == "valid":
            why = "padding 'valid' gives the branches different output sizes"
        else:
            shape = sq.input_shape
            row = 1 if sy == 1 else _same_pad_before(shape[1], sy)
            col = 1 if sx == 1 else _same_pad_before(shape[2], sx)
            if row is None or col is None:
                why = "stride > 1 with 'same' padding and an unknown input size: the 1x3/3x1 tap alignment is undefined"
            else:
                return sq, ho, ve, row, col
    warnings.append(f"layer {add.name!r}: looks like an ACNet block but was left as is ({why})")
    return None


def _new_conv_like(layer, kernel, bias, name=None):
    """A copy of conv ``layer`` with bias on, linear activation unless ``layer``'s own, given weights."""
    cfg = layer.get_config()
    cfg["use_bias"] = True
    cfg["name"] = name or layer.name
    new = type(layer).from_config(cfg)
    return new, [kernel.astype(np.float32), bias.astype(np.float32)]


def _fold_bn_into(conv, kernel, bias, bn):
    scale, shift = bn_scale_shift(bn)
    k = kernel.astype(np.float64)
    if isinstance(conv, layers.Conv2DTranspose):  # (kh, kw, c_out, c_in)
        k = k * scale[None, None, :, None]
    elif isinstance(conv, layers.DepthwiseConv2D):  # (kh, kw, c_in, mult) -> out = c_in * mult
        k = k * scale.reshape(k.shape[2], k.shape[3])[None, None]
    else:
        k = k * scale
    return k.astype(np.float32), (bias.astype(np.float64) * scale + shift).astype(np.float32)


def _conv_weights(conv):
    k = conv.kernel.numpy() if hasattr(conv, "kernel") else conv.depthwise_kernel.numpy()
    n_out = k.shape[2] if isinstance(conv, layers.Conv2DTranspose) else (
        k.shape[2] * k.shape[3] if isinstance(conv, layers.DepthwiseConv2D) else k.shape[3])
    b = conv.bias.numpy() if conv.use_bias else np.zeros(n_out, np.float32)
    return k, b


def fold_model(model: keras.Model, input_shape: tuple[int, int, int] | None = None) -> tuple[keras.Model, FoldReport]:
    """Fold ACNet blocks and BatchNorm of a functional tf_keras model.

    Parameters
    ----------
    model : tf_keras.Model
        A functional model (Sequential models are converted); not modified.
    input_shape : (H, W, C), optional
        Rebuild on a fixed input shape (for a model saved with ``None``
        spatial dimensions); fixed shapes also let stride-2 stock ACNet
        patterns fold.

    Returns
    -------
    (folded, report)
        A new model computing the same function at inference (within float32
        rounding) and a :class:`FoldReport`. With nothing to fold, the new
        model has the same layers and weights.

    Raises
    ------
    ModelError
        Subclassed models, nested models or shared layers.
    """
    _orig_weights = model.get_weights()
    if not getattr(model, "_is_graph_network", False):
        raise ModelError(f"model {model.name!r}: expected a functional or Sequential Keras model, found a subclassed one")
    for l in model.layers:
        if isinstance(l, keras.Model):
            raise ModelError(f"layer {l.name!r}: nested models are not supported by fold_model; flatten the model first")
    if input_shape is not None and tuple(model.input_shape[1:]) != tuple(input_shape):
        if len(model.inputs) != 1:
            raise ModelError(f"model {model.name!r}: input_shape override needs a single-input model")
        fixed = keras.Input(tuple(input_shape), name=model._input_layers[0].name)
        model = keras.models.clone_model(model, input_tensors=fixed)  # new graph, shared nothing
        model.set_weights(_orig_weights)
    rep = FoldReport(params_before=model.count_params())
    consumers = _consumers(model)

    # Pass 1: plan. `pending[name]` = (conv_like_template, kernel, bias) for producers to be emitted later.
    plan: dict[str, tuple] = {}  # layer name -> ("emit", template, kernel, bias, input_layer_name)
    skip: set[str] = set()
    fused: dict[str, tuple] = {}  # name of a layer whose output is a (foldable) conv: template, kernel, bias, input
    for l in model.layers:
        if isinstance(l, ACBlock):
            k, b = l.fused_kernel_bias()
            tmpl = l.folded_layer()
            fused[l.name] = (tmpl, k, b, _input_layers(l)[0].name)
            rep.acblocks.append(l.name)
        elif _exact_type(l, layers.Add):
            pat = _acnet_pattern(l, consumers, rep.warnings)
            if pat:
                sq, ho, ve, row, col = pat
                k = sq.kernel.numpy().astype(np.float64)
                k = k + embed_kernel(ho.kernel.numpy(), (3, 3), (row, 0)) + embed_kernel(ve.kernel.numpy(), (3, 3), (0, col))
                b = sum(_conv_weights(c)[1].astype(np.float64) for c in (sq, ho, ve))
                tmpl = layers.Conv2D(sq.filters, 3, strides=sq.strides, padding=sq.padding, name=sq.name + "_acfused")
                fused[l.name] = (tmpl, k.astype(np.float32), b.astype(np.float32), _input_layers(sq)[0].name)
                skip.update({sq.name, ho.name, ve.name})
                rep.acnet_patterns.append(l.name)
        elif isinstance(l, CONV_TYPES) and _exact_type(l, CONV_TYPES):
            k, b = _conv_weights(l)
            fused[l.name] = (l, k, b, _input_layers(l)[0].name)
        elif _exact_type(l, layers.BatchNormalization):
            src = _input_layers(l)[0]
            axis = l.axis if isinstance(l.axis, (list, tuple)) else [l.axis]
            ok_axis = list(axis) in ([-1], [3])
            inference = not (_inbound(l).call_kwargs or {}).get("training")  # BN(x, training=True) uses batch stats
            if (src.name in fused and len(consumers[src.name]) == 1 and _linear(fused[src.name][0]) and ok_axis
                    and inference):
                tmpl, k, b, inp = fused.pop(src.name)
                k, b = _fold_bn_into(tmpl, k, b, l)
                plan[l.name] = ("emit", tmpl, k, b, inp)
                skip.add(src.name)
                rep.batchnorms.append(l.name)
    for name, (tmpl, k, b, inp) in fused.items():
        if name in skip:
            continue
        layer = model.get_layer(name)
        if isinstance(layer, ACBlock) or _exact_type(layer, layers.Add):
            plan[name] = ("emit", tmpl, k, b, inp)
            if isinstance(layer, ACBlock):
                pass

    # Pass 2: rebuild.
    tensors: dict[str, object] = {}
    new_inputs = []
    for inp_layer in model._input_layers:
        cfg = inp_layer.get_config()
        t = keras.Input(batch_shape=cfg["batch_input_shape"], dtype=cfg.get("dtype"), name=cfg["name"])
        tensors[inp_layer.name] = t
        new_inputs.append(t)
    for l in model.layers:
        if isinstance(l, layers.InputLayer) or l.name in skip:
            continue
        if l.name in plan:
            _, tmpl, k, b, inp = plan[l.name]
            new, weights = _new_conv_like(tmpl, k, b, name=tmpl.name)
            tensors[l.name] = new(tensors[inp])
            new.set_weights(weights)
            continue
        srcs = [tensors[s.name] for s in _input_layers(l)]
        new = type(l).from_config(l.get_config())
        call_args = _inbound(l).call_kwargs or {}
        tensors[l.name] = new(srcs if len(srcs) > 1 else srcs[0], **call_args)
        new.set_weights(l.get_weights())
    outputs = [tensors[o.name] for o in model._output_layers]
    folded = keras.Model(new_inputs, outputs if len(outputs) > 1 else outputs[0], name=model.name)
    rep.params_after = folded.count_params()
    return folded, rep


def load_json_model(path: str | Path, weights: str | Path | None):
    """A legacy Keras architecture JSON (``model.to_json()``, Keras 2.2.4+) plus HDF5 weights.

    Raises
    ------
    ModelError
        Missing weights, unreadable JSON, or weights that do not fit.
    """
    path = Path(path)
    if weights is None:
        raise ModelError(f"{path}: an architecture JSON needs its weights: pass --weights FILE.h5")
    try:
        m = keras.models.model_from_json(path.read_text())
    except Exception as e:
        raise ModelError(f"{path}: expected a Keras model JSON, found one tf_keras cannot read ({e})") from None
    try:
        m.load_weights(str(weights))
    except Exception as e:
        raise ModelError(f"{weights}: expected HDF5 weights for {path.name}, found ones that do not load ({e})") from None
    return m


def fold_file(model: str | Path, out: str | Path, weights: str | Path | None = None) -> dict:
    """Fold a saved model and write the result (``.keras``; a folder gets ``model.keras`` + metadata).

    ``model`` is a ``.keras``/``.h5`` file, a run folder, or a legacy
    architecture ``.json`` with its ``weights`` (HDF5).

    The folded model is checked against the original on a random input (the
    model's input shape, batch 2, seed 0) before anything is written.

    Returns
    -------
    dict
        :meth:`FoldReport.to_dict` plus ``model`` (path written),
        ``max_abs_diff`` and ``changed``.

    Raises
    ------
    ModelError
        Unloadable model, or a folded model that disagrees (> 1e-4) with the input.
    """

    from mobile_kit.fileio import atomic_path
    from mobile_kit.runtime import load_keras_model, resolve_model_path
    from mobile_kit.specs import METADATA_FILENAME

    if Path(model).suffix == ".json":
        src = Path(model)
        m = load_json_model(src, weights)
    else:
        src = resolve_model_path(model)
        m = load_keras_model(src)
    folded, rep = fold_model(m)
    shape = [2] + [d if d is not None else 64 for d in m.input_shape[1:]]
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    from mobile_kit.verify import raw_parity, relative_max_abs_check

    par = raw_parity(lambda v: m(v, training=False), lambda v: folded(v, training=False), [x], "random input, seed 0")
    diff = par["max_abs"]
    ok, why = relative_max_abs_check(FOLD_CHECK_TOLERANCE, "folded - original")(par)
    if not ok:
        raise ModelError(f"{src}: folded model differs from the original: {why}; nothing written")
    out = Path(out)
    target = out / "model.keras" if out.suffix != ".keras" else out
    with atomic_path(target) as tmp:
        folded.save(str(tmp))
    meta = src.parent / METADATA_FILENAME
    if out.suffix != ".keras" and meta.is_file() and meta.resolve() != (out / METADATA_FILENAME).resolve():
        from mobile_kit.specs import ModelMetadata

        md = ModelMetadata.load(meta)
        md.training = dict(md.training, fold=rep.to_dict())
        md.save(out / METADATA_FILENAME)
    return dict(rep.to_dict(), model=str(target), max_abs_diff=diff, changed=rep.changed)
