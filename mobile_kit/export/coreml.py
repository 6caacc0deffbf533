"""Core ML target: an ML Program (``.mlpackage``) through coremltools.

The input is an ``ImageType`` whose ``scale``/``bias`` come from the model's
input normalisation, so an iOS app passes a ``CVPixelBuffer`` directly; the
output is the multiarray of the Keras model's head (NHWC): ``probabilities``
(softmax / sigmoid head) or ``logits`` (``--head logits``; argmax on device).
Its description lists the classes in channel order, and the labels also go
where Apple's segmentation previews and sample code read them:
``user_defined_metadata["com.apple.coreml.model.preview.params"] = {"labels": [...]}``
with preview type ``imageSegmenter``
(https://apple.github.io/coremltools/docs-guides/source/xcode-model-preview-types.html). fp16 compute
by default (``--precision fp32`` on request); optional weight compression
with ``coremltools.optimize.coreml`` (``palettize-6bit``: k-means 6-bit
look-up table; ``int8-weights``: linear symmetric int8).
See https://apple.github.io/coremltools/docs-guides/source/convert-tensorflow-2.html.

Core ML predicts only on macOS. On other systems the export verifies what can
be verified -- input/output names, shapes and types from the spec, the MIL op
list, and that the weights stored in the package equal the folded Keras
weights within fp16 rounding -- and the report says numeric parity was not run.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from mobile_kit.errors import ExportError, ModelError
from mobile_kit.export.registry import ArtifactFormat, Option, Target, artifact_text, register_target
from mobile_kit.verify import FP16_MEAN_ABS, FP16_MIN_MASK_IOU, mean_and_mask_check

COMPRESSIONS = ("none", "palettize-6bit", "int8-weights")
PRECISIONS = ("fp16", "fp32")
INPUT_NAME = "image"
#: Output feature name by the kind of head (``OutputSpec.kind``): a logits output is not called probabilities.
OUTPUT_NAMES = {"softmax": "probabilities", "sigmoid": "probabilities", "logits": "logits"}
OUTPUT_NAME = OUTPUT_NAMES["softmax"]
#: Xcode model-preview metadata (coremltools docs, "Xcode Model Preview Types"): segmentation models declare
#: the preview type ``imageSegmenter`` and ``{"labels": [...]}`` (class order) as its parameters.
PREVIEW_TYPE_KEY = "com.apple.coreml.model.preview.type"
PREVIEW_PARAMS_KEY = "com.apple.coreml.model.preview.params"
#: ``user_defined_metadata`` key of the embedded contract (``metadata.json`` content).
CONTRACT_KEY = "mobilekit"
#: fp16 storage rounds to 11 significant bits: relative 2^-11; subnormals lose absolute 2^-24.
FP16_RTOL, FP16_ATOL = 2.0**-10, 2.0**-24


def coreml_runs_here() -> tuple[bool, str]:
    if platform.system() == "Darwin":
        return True, ""
    return False, f"Core ML predicts only on macOS (this is {platform.system()}): numeric parity was not run"


def convert_coreml(model, spec, calibration, options, dest: Path) -> None:
    import coremltools as ct

    precision = options["precision"]
    compress = options["compress"]
    gray = spec.channels == 1
    if isinstance(spec.scale, tuple):
        raise ExportError("Core ML's ImageType takes one scale for all channels; this model's input normalisation "
                          f"has per-channel scales {spec.scale}: fold them into the model first")
    image = ct.ImageType(name=INPUT_NAME, shape=(1, spec.height, spec.width, spec.channels), scale=spec.scale,
                         bias=(spec.offset if gray else list(spec.offset) if isinstance(spec.offset, tuple) else [spec.offset] * 3),
                         color_layout=(ct.colorlayout.GRAYSCALE if gray else ct.colorlayout.BGR
                                       if spec.channel_order == "BGR" else ct.colorlayout.RGB), channel_first=False)
    try:
        ml = ct.convert(model, source="tensorflow", inputs=[image], convert_to="mlprogram",
                        compute_precision=ct.precision.FLOAT16 if precision == "fp16" else ct.precision.FLOAT32,
                        minimum_deployment_target=ct.target.iOS15)
    except Exception as e:  # coremltools raises NotImplementedError/ValueError naming the op
        raise ExportError(f"Core ML conversion of model {model.name!r} failed: {e}") from None
    if compress != "none":
        from coremltools.optimize import coreml as cto

        if compress == "palettize-6bit":
            cfg = cto.OptimizationConfig(global_config=cto.OpPalettizerConfig(mode="kmeans", nbits=6))
            ml = cto.palettize_weights(ml, cfg)
        else:
            cfg = cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(mode="linear_symmetric"))
            ml = cto.linear_quantize_weights(ml, cfg)
    spec_pb = ml.get_spec()
    out_name = spec_pb.description.output[0].name
    want = OUTPUT_NAMES[keras_head_kind(model)]
    if out_name != want:
        ct.utils.rename_feature(spec_pb, out_name, want)
        ml = ct.models.MLModel(spec_pb, weights_dir=ml.weights_dir, skip_model_load=platform.system() != "Darwin")
    ml.input_description[INPUT_NAME] = (f"{'grayscale' if gray else 'RGB'} image {spec.width}x{spec.height}; "
                                        f"pixel*{spec.scale:.6g}+{spec.offset:g} applied by Core ML")
    ml.save(str(dest))


def embed_coreml(artifact: Path, meta) -> None:
    """Author, licence, description, version, labels and the contract (``user_defined_metadata['mobilekit']``)."""
    import shutil
    import tempfile

    ml = _load(artifact)
    text = artifact_text(meta)
    spec = meta.input
    ml.author, ml.license, ml.short_description, ml.version = (text["author"], text["license"], text["description"],
                                                               text["version"])
    out = meta.output
    name = ml.get_spec().description.output[0].name
    ml.output_description[name] = output_text(out.kind, out.labels, spec.height, spec.width)
    ml.user_defined_metadata["labels"] = ",".join(text["labels"])
    if len(out.labels) > 1:  # one channel per class: the segmentation preview's labels, in channel order
        ml.user_defined_metadata[PREVIEW_TYPE_KEY] = "imageSegmenter"
        ml.user_defined_metadata[PREVIEW_PARAMS_KEY] = json.dumps({"labels": list(out.labels)})
    ml.user_defined_metadata[CONTRACT_KEY] = json.dumps(meta.to_dict())
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / artifact.name
        ml.save(str(staged))
        shutil.rmtree(artifact)
        shutil.copytree(staged, artifact)


def output_text(kind: str, labels, height: int, width: int) -> str:
    """The output's description: what each value is and the classes in channel order.

    Parameters
    ----------
    kind : {"softmax", "sigmoid", "logits"}
        ``OutputSpec.kind`` of the artifact.
    labels : sequence of str
        Class names in channel order (C = ``len(labels)``).
    height, width : int
        Output size in pixels (NHWC ``1 x height x width x C``).
    """
    what = {"softmax": "p(class) per pixel (softmax over the last axis)",
            "sigmoid": "p(class) per pixel (sigmoid)",
            "logits": "logits per pixel (softmax over the last axis gives p(class); argmax = class index)"}[kind]
    classes = "; ".join(f"{i} {n}" for i, n in enumerate(labels))
    return f"{what}, NHWC 1x{height}x{width}x{len(labels)}; channel = class: {classes}"


def keras_head_kind(model) -> str:
    """``softmax``, ``sigmoid`` or ``logits``: what the last layer of a Keras model outputs.

    A ``Softmax`` layer or a softmax/sigmoid activation names the kind; a linear last layer (``--head
    logits``) outputs logits.
    """
    from tf_keras import activations, layers

    last = model.layers[-1]
    if isinstance(last, layers.Softmax):
        return "softmax"
    act = getattr(last, "activation", None)
    name = activations.serialize(act) if act is not None else "linear"
    return {"softmax": "softmax", "sigmoid": "sigmoid"}.get(name if isinstance(name, str) else "", "logits")


def read_coreml_contract(path: Path) -> dict | None:
    """The contract in ``user_defined_metadata['mobilekit']``, or ``None`` (also when coremltools is missing)."""
    try:
        raw = _load(path).user_defined_metadata.get(CONTRACT_KEY)
    except Exception:  # coremltools missing or an unreadable package: no embedded contract to read
        return None
    if not raw:
        return None
    try:
        d = json.loads(raw)
    except ValueError as e:
        raise ModelError(f"{path}: expected JSON in user_defined_metadata[{CONTRACT_KEY!r}], found unreadable text "
                         f"({e})") from None
    return d if "output" in d and "input" in d and "schema_version" in d else None


class CoreMLRunner:
    """A Core ML package through coremltools' ``predict`` (macOS only): NHWC input back to an image."""

    def __init__(self, path: Path, input_spec=None, num_threads: int | None = None):
        ok, why = coreml_runs_here()
        if not ok:
            raise ModelError(f"{path}: {why.split(':')[0]}")
        import coremltools as ct

        self.model = ct.models.MLModel(str(path))
        self.spec = input_spec
        self.output_name = self.model.get_spec().description.output[0].name  # probabilities | logits

    def run(self, x: np.ndarray) -> np.ndarray:
        from PIL import Image

        s = self.spec
        sc = np.asarray(s.scale, np.float32)
        of = np.asarray(s.offset, np.float32)
        pixels = np.clip(np.round((x - of) / sc), 0, 255).astype(np.uint8)
        img = Image.fromarray(pixels[..., 0] if s.channels == 1 else pixels[..., ::-1] if s.channel_order == "BGR"
                              else pixels)
        return np.asarray(self.model.predict({INPUT_NAME: img})[self.output_name])[0].astype(np.float32)


def _load(path: Path):
    """The package's ``MLModel`` (spec only, no compilation), or :class:`ModelError` for an unreadable package."""
    import coremltools as ct

    try:
        return ct.models.MLModel(str(path), skip_model_load=True)
    except Exception as e:  # coremltools raises RuntimeError/ValueError/protobuf errors for a broken package
        raise ModelError(f"{path}: expected a Core ML .mlpackage (Manifest.json, Data/com.apple.CoreML/model.mlmodel), "
                         f"found one coremltools cannot read ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None


def coreml_io_details(path: Path) -> dict:
    spec = _load(path).get_spec()

    def desc(f):
        t = f.type.WhichOneof("Type")
        if t == "imageType":
            it = f.type.imageType
            cs = {10: "GRAYSCALE", 20: "RGB", 30: "BGR"}.get(it.colorSpace, str(it.colorSpace))
            return {"name": f.name, "type": "image", "width": it.width, "height": it.height, "color": cs}
        if t == "multiArrayType":
            mt = f.type.multiArrayType
            dt = {65568: "float32", 65552: "float16", 65600: "float64", 131104: "int32"}.get(mt.dataType, str(mt.dataType))
            return {"name": f.name, "type": "multiarray", "shape": [int(s) for s in mt.shape], "dtype": dt}
        return {"name": f.name, "type": t}

    d = spec.description
    return {"input": desc(d.input[0]), "output": desc(d.output[0])}


def mil_ops(path: Path) -> list[str]:
    """Operation types of the ML Program's ``main`` function, in order."""
    spec = _load(path).get_spec()
    fn = spec.mlProgram.functions["main"]
    block = fn.block_specializations[fn.opset]
    return [op.type for op in block.operations]


#: MIL ops that only move or retype the output (walked through to find the op that computes it).
_PASS_THROUGH_OPS = ("cast", "transpose", "reshape", "identity")


def output_op(path: Path) -> str:
    """Type of the MIL op that computes the package's first output, walking back through casts/transposes.

    ``softmax`` or ``sigmoid`` for a probability head; a linear op (``conv``, ``add``, ...) for a logits head.
    """
    spec = _load(path).get_spec()
    fn = spec.mlProgram.functions["main"]
    block = fn.block_specializations[fn.opset]
    producer = {o.name: op for op in block.operations for o in op.outputs}
    op = producer.get(block.outputs[0])
    while op is not None and op.type in _PASS_THROUGH_OPS:
        op = producer.get(op.inputs["x"].arguments[0].name)
    return op.type if op is not None else "none"


def stored_weights(path: Path) -> list[np.ndarray]:
    """The constant tensors stored in the package (decompressed for palettized / int8 weights)."""
    from coremltools.optimize.coreml import decompress_weights, get_weights_metadata

    meta = get_weights_metadata(decompress_weights(_load(path)), weight_threshold=1)
    return [np.asarray(m.val, dtype=np.float64) for m in meta.values()]


def _keras_kernels(model) -> list[tuple[str, np.ndarray]]:
    from tf_keras import layers

    out = []
    for l in model.layers:
        if isinstance(l, (layers.Conv2D, layers.DepthwiseConv2D, layers.Conv2DTranspose)):
            out.append((l.name, l.get_weights()[0].astype(np.float64)))
    return out


#: Largest weight error of each compression, as a fraction of the kernel's max |w|
#: (6-bit palette: half of 1/32 of the range at worst for a uniform spread; int8: half a step of 2/255).
COMPRESSION_ERROR = {"palettize-6bit": 1.0 / 32, "int8-weights": 1.0 / 127}


def verify_coreml(path: Path, keras_model, compress: str = "none") -> dict:
    """Structural checks that need no macOS: spec I/O, MIL ops, stored weights vs Keras within fp16 rounding
    (or within the compression's error bound for compressed packages), and that the output is computed by the
    same head as the Keras model's (softmax / sigmoid op, or a linear op for logits; named per
    :data:`OUTPUT_NAMES`) with the Keras output shape ``[1, H, W, C]``."""
    ops = mil_ops(path)
    io = coreml_io_details(path)
    stored = stored_weights(path)
    by_shape: dict[tuple, list[np.ndarray]] = {}
    for w in stored:
        by_shape.setdefault(w.shape, []).append(w)
    matched, worst = [], 0.0
    unmatched = []
    for name, k in _keras_kernels(keras_model):
        found = False
        for perm in ((3, 2, 0, 1), (2, 3, 0, 1)):  # conv: (out, in, kh, kw); conv_transpose / depthwise variants
            cand = k.transpose(perm)
            atol = FP16_ATOL + COMPRESSION_ERROR.get(compress, 0.0) * float(np.abs(cand).max())
            for w in by_shape.get(cand.shape, []):
                if np.allclose(w, cand, rtol=FP16_RTOL, atol=atol):
                    rel = float(np.max(np.abs(w - cand) / np.maximum(np.abs(cand), 1e-3)))
                    worst = max(worst, rel)
                    found = True
                    break
            if found:
                break
        (matched if found else unmatched).append(name)
    kind = keras_head_kind(keras_model)
    op = output_op(path)
    keras_shape = [1] + [int(d) for d in keras_model.output_shape[1:]]
    return {
        "numeric_parity": "not run",
        "io": io,
        "output_head": {"keras": kind, "output_op": op, "output_name": io["output"]["name"],
                        "matches": ({"softmax": "softmax", "sigmoid": "sigmoid"}.get(op, "logits") == kind
                                    and io["output"]["name"] == OUTPUT_NAMES[kind])},
        "keras_output_shape": keras_shape,
        "output_shape_matches": io["output"].get("shape") == keras_shape,
        "mil_ops": sorted(set(ops)),
        "n_mil_ops": len(ops),
        "keras_kernels": len(matched) + len(unmatched),
        "weights_matched_within_fp16": len(matched),
        "weights_unmatched": unmatched,
        "max_relative_weight_diff": worst,
        "compression": compress,
    }


def coreml_parity(rep: dict) -> tuple[bool, str]:
    if rep.get("numeric_parity") == "not run":
        head, shape_ok = rep["output_head"], rep["output_shape_matches"]
        ok = not rep["weights_unmatched"] and head["matches"] and shape_ok
        within = "fp16 rounding" if rep["compression"] == "none" else f"{rep['compression']} error + fp16 rounding"
        out = (f"output {head['output_name']!r} {rep['io']['output'].get('shape')} from {head['output_op']} "
               f"{'matches' if head['matches'] and shape_ok else 'does NOT match'} the Keras {head['keras']} head "
               f"{rep['keras_output_shape']}")
        return ok, (f"structure only ({rep['reason']}): {rep['weights_matched_within_fp16']}/{rep['keras_kernels']} "
                    f"Keras kernels found in the package within {within}; {out}")
    return mean_and_mask_check(FP16_MEAN_ABS, FP16_MIN_MASK_IOU)(rep)


COREML = ArtifactFormat("coreml", (".mlpackage", ".mlmodel"), CoreMLRunner, read_coreml_contract, coreml_io_details,
                        runs_here=coreml_runs_here, backend="coremltools")

register_target(Target("coreml", COREML, "model.mlpackage",
                       lambda options: "float32" if options["precision"] == "fp32" else "float16",
                       convert_coreml, coreml_parity, embed_coreml,
                       options=(Option("precision", "fp16", PRECISIONS, help="coreml: compute precision fp16 | fp32"),
                                Option("compress", "none", COMPRESSIONS,
                                       help="coreml: weight compression none | palettize-6bit | int8-weights")),
                       description="Core ML ML Program (.mlpackage), ImageType input",
                       verify=lambda path, model, options: verify_coreml(path, model, options["compress"]),
                       requires=("coremltools",), extra="coreml"))
