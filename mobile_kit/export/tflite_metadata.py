"""Standard TFLite metadata: what MediaPipe Tasks, the LiteRT Support library and Android Studio read.

Written with tflite-support's own metadata writers (``metadata_info``) and
``MetadataPopulator``, which computes the minimum metadata parser version and
packs the associated files. tflite-support 0.4.4 pins ``protobuf<4`` for its
Task library, but its metadata code does not use protobuf: it is installed with
``pip install --no-deps tflite-support==0.4.4`` beside TensorFlow 2.21 (protobuf
stays as TensorFlow needs it). Its native helpers (``_pywrap_metadata_version``,
``_pywrap_flatbuffers``) link ``libusb-1.0.so.0`` (Debian/Ubuntu package
``libusb-1.0-0``).

What is written (schema: tflite-support ``metadata_schema.fbs``, and MediaPipe's
``image_segmenter_metadata_schema.fbs`` for the activation):

- model: name, description, version, author, licence; associated file
  ``mobilekit_metadata.json`` (the full ``metadata.json`` content as compact
  JSON, stored uncompressed: MediaPipe Tasks refuses deflated entries);
- input: ImageProperties (RGB / GRAYSCALE) and, for float inputs,
  NormalizationOptions ``mean = -offset/scale``, ``std = 1/scale`` per channel,
  so that ``(pixel - mean) / std == pixel * scale + offset`` (our
  :class:`~mobile_kit.specs.InputSpec`); quantized inputs carry their own
  scale/zero point and take raw pixels;
- output: the segmentation mask (ImageProperties GRAYSCALE, range dims 1..2,
  as tflite-support's ``image_segmenter`` writer) with ``labels.txt`` as a
  TENSOR_AXIS_LABELS file;
- subgraph custom metadata ``SEGMENTER_METADATA``: MediaPipe's
  ImageSegmenterOptions activation, i.e. what MediaPipe must still apply to the
  output to get probabilities: NONE for softmax and sigmoid heads (measured:
  declaring SOFTMAX on a softmax head makes MediaPipe apply it twice, moving
  p by up to 0.27), SOFTMAX (C > 1) or SIGMOID (C == 1) for logits.
"""
from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

from mobile_kit.errors import ExportError

#: Name of our contract among the model's associated files.
CONTRACT_FILENAME = "mobilekit_metadata.json"
LABELS_FILENAME = "labels.txt"
#: MediaPipe's custom-metadata name and file identifier for ImageSegmenterOptions
#: (mediapipe/tasks/metadata/image_segmenter_metadata_schema.fbs).
SEGMENTER_METADATA_NAME = "SEGMENTER_METADATA"
SEGMENTER_FILE_IDENTIFIER = b"V001"
#: MediaPipe's ``Activation`` enum (same schema).
MEDIAPIPE_ACTIVATIONS = {"NONE": 0, "SIGMOID": 1, "SOFTMAX": 2}
INSTALL = ("pip install --no-deps tflite-support==0.4.4 (and the system library libusb-1.0-0, e.g. "
           "apt-get install libusb-1.0-0)")


def _support():
    """tflite-support's metadata modules, or an :class:`ExportError` saying how to install them."""
    try:
        from tensorflow_lite_support.metadata import metadata_schema_py_generated as fb
        from tensorflow_lite_support.metadata import schema_py_generated as schema_fb
        from tensorflow_lite_support.metadata.python import metadata as md
        from tensorflow_lite_support.metadata.python.metadata_writers import metadata_info
    except ImportError as e:
        raise ExportError(f"writing TFLite metadata needs tflite-support's metadata writer, which does not import "
                          f"({e}); install it with: {INSTALL}") from None
    return fb, schema_fb, md, metadata_info


def normalization(spec) -> tuple[list[float], list[float]]:
    """NormalizationOptions of an :class:`~mobile_kit.specs.InputSpec`.

    TFLite metadata normalises ``(pixel - mean) / std``; ours is ``pixel * scale + offset``,
    so ``mean = -offset / scale`` and ``std = 1 / scale``, one value per channel
    (in the model's channel order).

    Returns
    -------
    (mean, std) : lists of float, length ``spec.channels``
    """
    c = spec.channels
    sc = list(spec.scale) if isinstance(spec.scale, tuple) else [spec.scale] * c
    of = list(spec.offset) if isinstance(spec.offset, tuple) else [spec.offset] * c
    return [-o / s for o, s in zip(of, sc)], [1.0 / s for s in sc]


def mediapipe_activation(out_spec, channels: int) -> str:
    """The activation MediaPipe Tasks must apply to the output to get probabilities (see the module notes)."""
    if out_spec.kind != "logits":
        return "NONE"
    return "SOFTMAX" if channels > 1 else "SIGMOID"


def _segmenter_options(activation: str) -> bytes:
    """MediaPipe's ImageSegmenterOptions table ``{activation: byte}`` with file identifier ``V001``, built with
    flatbuffers' Builder exactly as its generated ``ImageSegmenterOptionsT.Pack`` does."""
    import flatbuffers

    b = flatbuffers.Builder(0)
    b.StartObject(1)
    b.PrependInt8Slot(0, MEDIAPIPE_ACTIVATIONS[activation], 0)
    b.Finish(b.EndObject(), SEGMENTER_FILE_IDENTIFIER)
    return bytes(b.Output())


def write_tflite_metadata(artifact: Path, meta) -> dict:
    """Populate ``artifact`` (a ``.tflite``, rewritten in place) with standard metadata and our contract.

    Parameters
    ----------
    artifact : Path
        A ``.tflite`` with one subgraph, one image input (NHWC) and one segmentation output (NHWC).
    meta : ModelMetadata
        The artifact's contract; its JSON becomes the associated file ``mobilekit_metadata.json``.

    Returns
    -------
    dict
        The metadata as JSON (tflite-support's ``MetadataDisplayer``), for reports and tests.

    Raises
    ------
    ExportError
        tflite-support is missing, or the populator rejects the model.
    """
    from mobile_kit.export.registry import artifact_text

    fb, schema_fb, md, info = _support()
    buf = bytearray(artifact.read_bytes())
    model = schema_fb.Model.GetRootAsModel(buf, 0)
    sub = model.Subgraphs(0)
    in_t, out_t = sub.Tensors(sub.Inputs(0)), sub.Tensors(sub.Outputs(0))
    text = artifact_text(meta)
    spec = meta.input
    is_float = in_t.Type() == schema_fb.TensorType.FLOAT32
    mean, std = normalization(spec) if is_float else (None, None)
    color = fb.ColorSpaceType.GRAYSCALE if spec.channels == 1 else fb.ColorSpaceType.RGB
    general = info.GeneralMd(name=text["name"], version=text["version"], description=text["description"],
                             author=text["author"], licenses=text["license"]).create_metadata()
    pixel = (f"{'grayscale' if spec.channels == 1 else spec.channel_order} image {spec.width}x{spec.height}, "
             f"NHWC; x = pixel * {spec.scale} + {spec.offset}")
    input_md = info.InputImageTensorMd(name="image", description=pixel, norm_mean=mean, norm_std=std,
                                       color_space_type=color, tensor_type=in_t.Type()).create_metadata()
    out_shape = [int(out_t.Shape(i)) for i in range(out_t.ShapeLength())]
    channels = out_shape[-1] if len(out_shape) == 4 else 1
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / LABELS_FILENAME
        labels.write_text("\n".join(meta.output.labels) + "\n")
        contract = Path(tmp) / CONTRACT_FILENAME
        # compact JSON: the same contract as metadata.json in 2/3 of the bytes (6,008 -> 3,997 B for the
        # mbv2_lraspp QAT int8); the entry stays stored, not deflated: MediaPipe Tasks refuses a model whose
        # metadata zip has a compressed entry ("Expected uncompressed zip archive", mediapipe 1.2.2, measured)
        contract.write_text(json.dumps(meta.to_dict(), separators=(",", ":")) + "\n")
        output_md = info.TensorMd(
            name="segmentation_masks",
            description=(f"{meta.output.kind} over {', '.join(meta.output.labels)} per pixel, NHWC "
                         f"1x{'x'.join(str(d) for d in out_shape[1:])}"),
            associated_files=[info.LabelFileMd(str(labels))]).create_metadata()
        content = fb.ContentT()
        content.contentPropertiesType = fb.ContentProperties.ImageProperties
        content.contentProperties = fb.ImagePropertiesT()
        content.contentProperties.colorSpace = fb.ColorSpaceType.GRAYSCALE
        content.range = fb.ValueRangeT()
        content.range.min, content.range.max = 1, 2  # the mask's spatial dims in NHWC
        output_md.content = content
        options = fb.CustomMetadataT()
        options.name = SEGMENTER_METADATA_NAME
        options.data = list(_segmenter_options(mediapipe_activation(meta.output, channels)))
        subgraph = fb.SubGraphMetadataT()
        subgraph.inputTensorMetadata = [input_md]
        subgraph.outputTensorMetadata = [output_md]
        subgraph.customMetadata = [options]
        general.subgraphMetadata = [subgraph]
        assoc = fb.AssociatedFileT()
        assoc.name = CONTRACT_FILENAME
        assoc.description = "mobilekit contract: the metadata.json written beside this model (input, output, parity)"
        assoc.type = fb.AssociatedFileType.DESCRIPTIONS
        general.associatedFiles = [assoc]
        import flatbuffers

        b = flatbuffers.Builder(0)
        b.Finish(general.Pack(b), md.MetadataPopulator.METADATA_FILE_IDENTIFIER)
        try:
            populator = md.MetadataPopulator.with_model_buffer(buf)
            populator.load_metadata_buffer(b.Output())
            populator.load_associated_files([str(labels), str(contract)])
            populator.populate()
            out = populator.get_model_buffer()
        except ValueError as e:
            raise ExportError(f"{artifact}: tflite-support's MetadataPopulator refused the metadata ({e})") from None
    artifact.write_bytes(out)
    return json.loads(md.MetadataDisplayer.with_model_buffer(out).get_metadata_json())


def read_tflite_contract(path: Path) -> dict | None:
    """The ``mobilekit_metadata.json`` packed in a ``.tflite``, or ``None``.

    The metadata populator appends associated files to the flatbuffer as a zip
    archive (tflite-support ``metadata.py``), so Python's ``zipfile`` reads them
    without tflite-support.

    Raises
    ------
    ModelError
        The packed contract is not JSON.
    """
    from mobile_kit.errors import ModelError

    try:
        with zipfile.ZipFile(path) as z:
            if CONTRACT_FILENAME not in z.namelist():
                return None
            raw = z.read(CONTRACT_FILENAME)
    except (zipfile.BadZipFile, OSError):
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ModelError(f"{path}: expected JSON in its embedded {CONTRACT_FILENAME}, found unreadable text ({e})") from None


def read_tflite_metadata(path: Path) -> dict | None:
    """The standard TFLite metadata of ``path`` as JSON (tflite-support's displayer), or ``None`` if it has none."""
    _, _, md, _ = _support()
    try:
        return json.loads(md.MetadataDisplayer.with_model_file(str(path)).get_metadata_json())
    except ValueError:
        return None
