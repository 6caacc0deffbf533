"""Golden vectors: what the app cores (Java ``:core``, Swift ``MobilekitCore``) must reproduce.

``mobilekit export --bundle DIR`` (and ``mobilekit golden DIR``) writes
``DIR/golden/manifest.json`` plus one folder of little-endian binaries per
case. Each case starts from *source pixels* as a phone gives them
(``int[]`` ARGB, ``0xAARRGGBB``, as Android's ``Bitmap.getPixels`` returns,
stored as uint32 little-endian) at a size that is not the model's, optionally
in sensor orientation (``rotation_degrees``) and mirrored (front camera), and
stores every intermediate result of the toolkit's own pipeline:

==================  =========================================================
file                content
==================  =========================================================
``source_argb``     uint32 ``[frame_h, frame_w]``: the frame as the camera gives it
``input_tensor``    the artifact's input dtype ``[1, h, w, c]`` (NHWC): float32, or int8/uint8 quantized
``raw_output``      the artifact's output tensor as LiteRT returns it (not dequantized)
``prob_model``      float32 ``[h, w]``: p(foreground) at model size
``class_map``       uint8 ``[h, w]``: argmax over classes (only when there are more than 2 classes)
``prob_frame``      float32 ``[H, W]``: p(foreground) at the upright frame's size
``mask``            uint8 ``[H, W]``: 255 where ``prob_frame > threshold`` else 0
``composite_argb``  uint32 ``[H, W]``: portrait mode (background blur), alpha 0xFF
``class_map_frame`` uint8 ``[H, W]``: K-class models only: argmax of the class probabilities upsampled per channel
``parts_argb``      uint32 ``[H, W]``: K-class models only: parts colour overlay (``predict --effect parts``
                    without its legend), alpha 0xFF
==================  =========================================================

K-class models (a multi-class task in the manifest's ``task``, more than two labels; version 2): ``prob_model``
is the task's foreground ``1 - p(class 0)`` (what ``predict --effect blur`` of such a model uses) and the
manifest's ``parts`` gives the palette and alpha of the overlay.

``H, W`` are the *upright* frame's size (after rotation). The raw output is
produced by the LiteRT interpreter from this very artifact, fed with
``input_tensor``.

Pinned algorithms (what :mod:`mobile_kit.preprocess` and
:mod:`mobile_kit.effects.portrait` compute through OpenCV; the full text with
formulas is ``android_demo/GOLDEN.md``):

1. **ARGB -> RGB**: ``r = (p >> 16) & 255``, ``g = (p >> 8) & 255``, ``b = p & 255``; alpha ignored.
2. **Orientation**: rotate the frame *clockwise* by ``rotation_degrees``
   (0/90/180/270, CameraX ``ImageInfo.getRotationDegrees`` convention), then,
   if ``mirror``, flip left-right. Orientation comes before resizing.
3. **Resize** to ``(h, w)`` of the contract (``resize="stretch"``), bit-exact with ``cv2.resize``:
   ``scale = 1 / (dst / src)`` per axis (double). If the upright frame is larger than the model in *both*
   dimensions, area averaging (OpenCV ``INTER_AREA``: output pixel ``x`` averages the source interval
   ``[x*scale, (x+1)*scale)``, partially covered pixels weighted by the covered fraction (ignored below
   1e-3), separable, rounded ``floor(v + 0.5)``). Otherwise bilinear with half-pixel centres
   (``f = float32((dst + 0.5) * scale - 0.5)``, ``s0 = floor(f)``, ``f -= s0``) in OpenCV's 11-bit fixed
   point: horizontally the weight is clamped at the edges (``s0 < 0`` or ``s0 >= S-1``: ``f = 0``, index
   clamped), ``a0 = rint((1 - f) * 2048)``, ``a1 = 2048 - a0``, ``r = S[x0] a0 + S[x1] a1``; vertically the
   indices are clamped but the weights are not, and
   ``v = (((b0 (r0 >> 4)) >> 16) + ((b1 (r1 >> 4)) >> 16) + 2) >> 2`` (no antialiasing when shrinking).
4. **Grayscale** (``channels == 1``): ``Y = (4899 R + 9617 G + 1868 B + 8192) >> 14`` (ITU-R 601, OpenCV).
5. **Normalise**: ``x = float32(pixel) * scale[c] + offset[c]`` in ``channel_order``.
6. **Quantize** (int8/uint8 input tensor): ``q = clamp(floor(x / s + 0.5) + zp, qmin, qmax)``;
   **dequantize**: ``x = (q - zp) * s``.
7. **Decode**: ``softmax`` -> channel ``foreground_index``; ``sigmoid`` (one channel)
   -> as is; ``logits`` -> softmax over channels (C > 1) or ``1 / (1 + exp(-z))``
   (C == 1). Class map = argmax over channels (lowest index wins ties).
8. **Upsample** ``prob_model`` to ``(H, W)``: bilinear, half-pixel centres, edge clamp, float32.
9. **Mask**: ``255 if p > threshold else 0``.
10. **Portrait composite** (:func:`mobile_kit.effects.portrait.portrait_blur`):
    ``hard = p > threshold``; Gaussian blur ``G_sigma`` = separable kernel
    ``k[i] = exp(-i^2 / (2 sigma^2))`` normalised to sum 1, ``i = -r..r`` with
    ``r = (round_half_even(8 sigma + 1) | 1) // 2``, borders reflected without
    repeating the edge (``dcb|abcd|cba``, OpenCV ``BORDER_REFLECT_101``);
    ``alpha = G_sf(hard)`` with ``sf = max(0.8, 0.004 * hypot(H, W))``;
    ``bg = 1 - hard``; ``sb = max(1, 0.02 * max(H, W))``;
    ``blurred = G_sb(img * bg) / G_sb(bg)`` where ``G_sb(bg) > 1e-3`` else ``G_sb(img)``;
    ``out = floor(clip(alpha * img + (1 - alpha) * blurred + 0.5, 0, 255))``.
11. **Temporal smoothing** (EMA, ``effects.temporal_ema_alpha``; see GOLDEN.md).
12. **K-class decode** (:mod:`mobile_kit.tasks`, parsing): class probabilities = the softmax output as is, or
    a softmax over the logits (a sigmoid head is refused for K > 2, as export does); class map = argmax,
    lowest index on ties; ``prob_model`` = the task's foreground ``1 - p(class 0)``; at frame size every
    class channel is upsampled as in 8, then argmax (``predict --effect labels``).
13. **Parts overlay** (:func:`mobile_kit.effects.parts.parts_overlay`, legend excluded): palette
    :func:`~mobile_kit.effects.parts.palette` (class 0 black, then PASCAL VOC bit-interleaved colours);
    where ``class > 0``: ``out = trunc(min(255, float32(px) * float32(1 - alpha) + float32(colour) *
    float32(alpha)))``; class 0 pixels unchanged.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mobile_kit.errors import ModelError
from mobile_kit.fileio import atomic_write_bytes, atomic_write_text, sha256_file
from mobile_kit.specs import METADATA_FILENAME, ModelMetadata
from mobile_kit.preprocess import quantize  # noqa: F401  (the pinned rounding; re-exported for golden users)

GOLDEN_DIRNAME = "golden"
GOLDEN_FORMAT = "mobilekit-golden"
#: 2: K-class (parsing) cases: ``class_map_frame``, ``parts_argb``, the manifest's ``task`` and ``parts``;
#: ``prob_model`` of a K-class model is the task's foreground ``1 - p(class 0)``.
GOLDEN_VERSION = 2

#: Portrait-effect parameters (defaults of :mod:`mobile_kit.effects.portrait`), written to the manifest so that
#: the app cores can check their own constants against the toolkit's.
FEATHER_RADIUS_FRACTION = 0.004
FEATHER_MIN_SIGMA = 0.8
BLUR_FRACTION = 0.02
BLUR_MIN_SIGMA = 1.0
#: Normalized-convolution guard: below this blurred background weight the plain blur is used.
BLUR_WEIGHT_EPS = 1e-3

# Tolerances, each with the reason it is not zero.
#: Input tensor: the cores reproduce cv2.resize bit for bit on x86; another OpenCV build (other SIMD paths)
#: may round a pixel differently: at most 1 pixel level, on at most 0.1 % of the elements.
INPUT_PIXEL_LEVELS = 1
INPUT_MISMATCH_FRACTION = 1e-3
#: Decoding a stored raw output is float32 math (exp, division) in another language.
PROB_MODEL_MAX_ABS = 1e-5
#: Bilinear upsampling in float32 with weights computed in another order (measured: 1.8e-7).
PROB_FRAME_MAX_ABS = 1e-5
#: The mask from the golden prob_frame is a comparison of identical float32 values: exact.
MASK_MISMATCH_FRACTION = 0.0
#: End to end (stored raw output -> own upsampling -> mask): pixels within 1e-4 of the threshold may flip.
MASK_MIN_IOU = 0.999
#: Composite: Gaussian blurs accumulated in float (OpenCV SIMD) vs double, then rounded: one level at .5 ties
#: (measured: max 1, mean 2.5e-5 levels).
COMPOSITE_MAX_ABS = 1
COMPOSITE_MEAN_ABS = 0.01
#: K-class maps at frame size: argmax of per-channel bilinear float32 upsampling; where two classes are within
#: float32 rounding of each other the argmax may differ (near-ties along part borders).
CLASS_MAP_FRAME_MISMATCH_FRACTION = 1e-3
#: Parts overlay from the golden frame-size class map: float32 blend truncated to uint8; a product rounded in
#: another order may land one level lower.
PARTS_MAX_ABS = 1
PARTS_MEAN_ABS = 0.01
#: Overlay opacity of ``predict --effect parts`` (:func:`mobile_kit.effects.parts.parts_overlay`).
PARTS_ALPHA = 0.55


@dataclass(frozen=True)
class GoldenPhoto:
    """One golden case: an upright RGB photo and how the camera delivers it.

    Parameters
    ----------
    name : str
        Case name (folder name in ``golden/``).
    upright : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB, the scene as the user sees it; ``(H, W)`` must not be the model's size.
    rotation_degrees : int
        0, 90, 180 or 270: the clockwise rotation that turns the stored (sensor) frame upright.
    mirror : bool
        The upright image is the stored frame rotated, then flipped left-right (front camera).
    source : str
        Where the photo comes from (provenance, written to the manifest).
    """

    name: str
    upright: np.ndarray
    rotation_degrees: int = 0
    mirror: bool = False
    source: str = ""


def _fit(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Centre-crop ``img`` to the aspect ``w:h`` and resize to ``(h, w)`` (used only to make source frames)."""
    import cv2

    ih, iw = img.shape[:2]
    if iw * h > ih * w:
        cw = ih * w // h
        img = img[:, (iw - cw) // 2:(iw - cw) // 2 + cw]
    else:
        ch = iw * h // w
        img = img[(ih - ch) // 2:(ih - ch) // 2 + ch]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def default_photos() -> list[GoldenPhoto]:
    """Four cases from scikit-image's bundled photos (no download, no ../shared).

    * ``astronaut_portrait``: 300x400 upright, larger than 256x256 in both dimensions (area resize);
    * ``camera_small``: 200x150, smaller than the model (bilinear upscaling; a grayscale photo as RGB);
    * ``astronaut_sensor90``: a 400x300 back-camera sensor frame, ``rotation_degrees = 90``;
    * ``coffee_front270``: a 360x200 front-camera frame, ``rotation_degrees = 270`` and mirrored
      (upright 200x360: one dimension above the model's, one below: bilinear).
    """
    from mobile_kit.data.samples import sample_photo

    astro = sample_photo("astronaut")
    return [
        GoldenPhoto("astronaut_portrait", _fit(astro, 300, 400), 0, False, "scikit-image astronaut"),
        GoldenPhoto("camera_small", _fit(sample_photo("camera"), 200, 150), 0, False, "scikit-image camera"),
        GoldenPhoto("astronaut_sensor90", _fit(astro[40:], 300, 400), 90, False, "scikit-image astronaut"),
        GoldenPhoto("coffee_front270", _fit(sample_photo("coffee"), 200, 360), 270, True, "scikit-image coffee"),
    ]


def orient(frame: np.ndarray, rotation_degrees: int, mirror: bool) -> np.ndarray:
    """Stored camera frame -> upright image: rotate clockwise by ``rotation_degrees``, then mirror left-right.

    Parameters
    ----------
    frame : numpy.ndarray
        ``(h, w, ...)`` any dtype.
    rotation_degrees : {0, 90, 180, 270}
    mirror : bool

    Raises
    ------
    ValueError
        ``rotation_degrees`` is not a multiple of 90 in 0..270.
    """
    if rotation_degrees not in (0, 90, 180, 270):
        raise ValueError(f"rotation_degrees: expected 0, 90, 180 or 270, found {rotation_degrees}")
    out = np.rot90(frame, k=-(rotation_degrees // 90))  # np.rot90 turns counter-clockwise for k > 0
    if mirror:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def unorient(upright: np.ndarray, rotation_degrees: int, mirror: bool) -> np.ndarray:
    """Inverse of :func:`orient`: the frame a camera would deliver for this upright image."""
    if mirror:
        upright = upright[:, ::-1]
    return np.ascontiguousarray(np.rot90(upright, k=rotation_degrees // 90))


def rgb_to_argb(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> ``(H, W)`` uint32 ``0xFFRRGGBB``."""
    rgb = rgb.astype(np.uint32)
    return (np.uint32(0xFF000000) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).astype(np.uint32)


def argb_to_rgb(argb: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint32 ``0xAARRGGBB`` -> ``(H, W, 3)`` uint8 RGB (alpha dropped)."""
    a = argb.astype(np.uint32)
    return np.stack([(a >> 16) & 255, (a >> 8) & 255, a & 255], axis=-1).astype(np.uint8)


def gaussian_radius(sigma: float) -> int:
    """Kernel radius OpenCV uses for a float image: ``(round_half_even(8 sigma + 1) | 1) // 2``."""
    return (int(round(sigma * 8 + 1)) | 1) // 2


def effect_sigmas(height: int, width: int) -> dict:
    """Feather and background-blur sigmas (pixels) and kernel radii for an ``(height, width)`` frame."""
    sf = max(FEATHER_MIN_SIGMA, FEATHER_RADIUS_FRACTION * float(math.hypot(height, width)))
    sb = max(BLUR_MIN_SIGMA, BLUR_FRACTION * max(height, width))
    return {"feather_sigma": sf, "feather_radius": gaussian_radius(sf),
            "blur_sigma": sb, "blur_radius": gaussian_radius(sb)}


# -- runners: artifact suffix -> run(path, input_tensor) -> (raw_output, input_details, output_details, runtime) --

def _litert_runner(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    try:
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
    except Exception as e:
        raise ModelError(f"{path}: expected a TFLite flatbuffer, found one LiteRT cannot load ({e})") from None
    din, dout = it.get_input_details()[0], it.get_output_details()[0]

    def tensor(d):
        scale, zp = d["quantization"]
        row = {"dtype": np.dtype(d["dtype"]).name, "shape": [int(s) for s in d["shape"]]}
        if np.dtype(d["dtype"]) in (np.int8, np.uint8):
            row.update(scale=float(scale), zero_point=int(zp))
        return row

    def run(x: np.ndarray) -> np.ndarray:
        it.set_tensor(din["index"], x.reshape(din["shape"]))
        it.invoke()
        return np.array(it.get_tensor(dout["index"]))

    from importlib.metadata import version

    return run, tensor(din), tensor(dout), f"ai-edge-litert {version('ai-edge-litert')} (CPU, 1 thread)"


#: Artifacts golden vectors can be produced for, by file name (a runtime that executes them here).
RUNNERS: dict[str, Callable] = {"model.tflite": _litert_runner}


def find_artifact(bundle_dir: Path) -> Path | None:
    """The bundle's artifact that a registered runner can execute, or ``None``."""
    for name in RUNNERS:
        if (bundle_dir / name).is_file():
            return bundle_dir / name
    return None


def _save(case_dir: Path, name: str, arr: np.ndarray, manifest_files: dict, root: Path) -> None:
    arr = np.ascontiguousarray(arr)
    dt = arr.dtype.newbyteorder("<")
    path = case_dir / f"{name}.bin"
    atomic_write_bytes(path, arr.astype(dt).tobytes())
    manifest_files[name] = {"path": path.relative_to(root).as_posix(), "dtype": arr.dtype.name,
                            "shape": [int(s) for s in arr.shape]}


def write_golden(bundle_dir: str | Path, artifact: str | Path | None = None, metadata: ModelMetadata | None = None,
                 photos: Sequence[GoldenPhoto] | None = None) -> Path:
    """Write ``bundle_dir/golden/`` (manifest + binaries) for ``artifact`` with its contract.

    Parameters
    ----------
    bundle_dir : path
        Bundle folder (``mobilekit export --bundle``); ``golden/`` is (re)written inside it.
    artifact : path, optional
        The model; default: the bundle's ``model.tflite``.
    metadata : ModelMetadata, optional
        Its contract; default: the bundle's ``metadata.json``.
    photos : sequence of GoldenPhoto, optional
        Default :func:`default_photos` (scikit-image photos, 4 cases incl. rotation and mirroring).

    Returns
    -------
    Path
        ``bundle_dir/golden/manifest.json``.

    Raises
    ------
    ModelError
        No runnable artifact (only ``.tflite`` runs here), no metadata, a photo at the model's own size,
        or an input that is not NHWC.
    """
    import cv2

    from mobile_kit.effects.parts import parts_overlay
    from mobile_kit.effects.portrait import mask_image, portrait_blur
    from mobile_kit.preprocess import (class_probabilities, foreground_probability, to_model_input,
                                       upsample_probabilities, upsample_probability)
    from mobile_kit.tasks import task_of

    bundle_dir = Path(bundle_dir)
    art = Path(artifact) if artifact is not None else find_artifact(bundle_dir)
    if art is None or not art.is_file() or art.name not in RUNNERS:
        raise ModelError(f"{bundle_dir}: expected a bundle with {', '.join(RUNNERS)} (golden vectors come from "
                         f"running the artifact with LiteRT here), found {art.name if art else 'none'}")
    if metadata is None:
        if not (bundle_dir / METADATA_FILENAME).is_file():
            raise ModelError(f"{bundle_dir}: expected {METADATA_FILENAME} in the bundle, found none")
        metadata = ModelMetadata.load(bundle_dir / METADATA_FILENAME)
    spec, out_spec = metadata.input, metadata.output
    if spec.layout != "NHWC":
        raise ModelError(f"{art}: golden vectors need an NHWC input, found {spec.layout}")
    task = task_of(metadata)
    # K-class parsing: the task offers the parts effect -> class maps, foreground and parts overlay from the task
    multi = task.multi_class and "parts" in task.effects
    run, tin, tout, runtime = RUNNERS[art.name](art)
    photos = list(photos) if photos is not None else default_photos()
    root = bundle_dir / GOLDEN_DIRNAME
    cases = []
    qin = "scale" in tin
    for ph in photos:
        if ph.upright.shape[:2] == spec.input_hw:
            raise ModelError(f"golden photo {ph.name}: expected a size other than the model's "
                             f"{spec.height}x{spec.width}, found it")
        frame = unorient(ph.upright, ph.rotation_degrees, ph.mirror)
        source = rgb_to_argb(frame)
        upright = argb_to_rgb(orient(source, ph.rotation_degrees, ph.mirror))
        assert np.array_equal(upright, ph.upright)
        x = to_model_input(upright, spec)[None]
        xt = quantize(x, tin["scale"], tin["zero_point"], np.dtype(tin["dtype"])) if qin else x.astype(tin["dtype"])
        raw = run(xt)
        yf = raw.astype(np.float32)
        if "scale" in tout:
            yf = (yf - tout["zero_point"]) * np.float32(tout["scale"])
        if multi:
            if out_spec.kind == "sigmoid":
                raise ModelError(f"{art}: a sigmoid head cannot encode {task.num_classes} exclusive classes "
                                 "(export offers softmax or logits)")
            probs_m = class_probabilities(yf[0], out_spec, spec.input_hw)
            if probs_m.shape[-1] != task.num_classes:
                raise ModelError(f"{art}: expected {task.num_classes} output channels ({', '.join(task.labels)}), "
                                 f"found {probs_m.shape[-1]}")
            probs_m = upsample_probabilities(probs_m, spec.input_hw)
            prob_m = task.foreground(probs_m).astype(np.float32)
        else:
            prob_m = foreground_probability(yf[0], out_spec, spec.input_hw)
            if prob_m.shape != spec.input_hw:
                prob_m = upsample_probability(prob_m, spec.input_hw)
        prob_f = upsample_probability(prob_m, upright.shape[:2]).astype(np.float32)
        mask = mask_image(upright, prob_f, out_spec.threshold)
        comp = portrait_blur(upright, prob_f, out_spec.threshold)
        case_dir = root / ph.name
        files: dict = {}
        _save(case_dir, "source_argb", source, files, root)
        _save(case_dir, "input_tensor", xt, files, root)
        _save(case_dir, "raw_output", raw, files, root)
        _save(case_dir, "prob_model", prob_m.astype(np.float32), files, root)
        if multi:
            _save(case_dir, "class_map", task.decode(probs_m), files, root)
        elif yf[0].size % (spec.height * spec.width) == 0 and yf[0].size // (spec.height * spec.width) > 2:
            classes = yf[0].reshape(spec.height, spec.width, -1)  # a binary-task model with extra labels: raw argmax
            _save(case_dir, "class_map", np.argmax(classes, axis=-1).astype(np.uint8), files, root)
        _save(case_dir, "prob_frame", prob_f, files, root)
        _save(case_dir, "mask", mask, files, root)
        _save(case_dir, "composite_argb", rgb_to_argb(comp), files, root)
        extra = {}
        if multi:
            cmap_f = task.decode(upsample_probabilities(probs_m, upright.shape[:2]))
            parts = parts_overlay(upright, cmap_f, task.labels, PARTS_ALPHA)[:, :upright.shape[1]]
            _save(case_dir, "class_map_frame", cmap_f, files, root)
            _save(case_dir, "parts_argb", rgb_to_argb(parts), files, root)
            counts = np.bincount(cmap_f.ravel(), minlength=task.num_classes) / cmap_f.size
            extra["class_fractions"] = {n: float(c) for n, c in zip(task.labels, counts)}
        h, w = upright.shape[:2]
        resize = "area" if (h > spec.height and w > spec.width) else "bilinear"
        cases.append({"name": ph.name, "source": ph.source, "frame_height": int(frame.shape[0]),
                      "frame_width": int(frame.shape[1]), "rotation_degrees": ph.rotation_degrees,
                      "mirror": ph.mirror, "height": h, "width": w, "resize": resize,
                      "foreground_fraction": float(np.mean(mask > 0)), **effect_sigmas(h, w), **extra,
                      "files": files})
    pix = max(abs(float(s)) for s in (spec.scale if isinstance(spec.scale, tuple) else (spec.scale,)))
    in_tol = INPUT_PIXEL_LEVELS * pix * 1.0001 + 1e-6
    if qin:  # one pixel level in quanta: exact when the input scale equals the pixel scale (the usual 0..1 case)
        ratio = INPUT_PIXEL_LEVELS * pix / tin["scale"]
        in_tol = float(round(ratio) if abs(ratio - round(ratio)) < 1e-3 else math.ceil(ratio))
    manifest = {
        "format": GOLDEN_FORMAT, "version": GOLDEN_VERSION, "byte_order": "little",
        "spec": "android_demo/GOLDEN.md (algorithms pinned in mobile_kit/export/golden.py)",
        "artifact": art.name, "artifact_sha256": sha256_file(art), "runtime": runtime,
        "contract": {"input": spec.to_dict(), "output": out_spec.to_dict()},
        "input_tensor": tin, "output_tensor": tout,
        "algorithms": {
            "argb": "r=(p>>16)&255, g=(p>>8)&255, b=p&255; alpha ignored; composite alpha 0xFF",
            "orientation": "rotate clockwise by rotation_degrees, then flip left-right if mirror; before resize",
            "resize": "bit-exact cv2.resize: INTER_AREA (coverage-weighted mean, floor(v+0.5)) if upright "
                      "H>h and W>w, else INTER_LINEAR half-pixel centres in 11-bit fixed point: "
                      "a0=rint((1-f)*2048), v=(((b0*(r0>>4))>>16)+((b1*(r1>>4))>>16)+2)>>2, "
                      "horizontal weights clamped at edges, vertical weights not (see GOLDEN.md)",
            "grayscale": "Y=(4899R+9617G+1868B+8192)>>14",
            "normalise": "x=float32(pixel)*scale[c]+offset[c], channel_order",
            "quantize": "q=clamp(floor(x/scale+0.5)+zero_point, qmin, qmax); dequantize x=(q-zero_point)*scale",
            "decode": "softmax: channel foreground_index (K-class: foreground 1-p[0]); sigmoid: as is; logits: softmax (C>1) or 1/(1+exp(-z)); "
                      "class_map: argmax, lowest index on ties",
            "upsample": "bilinear half-pixel centres, edge clamp, float32, model size -> upright frame size",
            "mask": "255 if p > threshold else 0",
            "composite": "Gaussian k[i]=exp(-i^2/(2 sigma^2))/sum, r=(round_half_even(8 sigma+1)|1)//2, "
                         "BORDER_REFLECT_101; alpha=G_feather(p>thr); bg=1-(p>thr); "
                         "blurred=G_blur(img*bg)/G_blur(bg) if G_blur(bg)>1e-3 else G_blur(img); "
                         "out=floor(clip(alpha*img+(1-alpha)*blurred+0.5,0,255))",
        },
        "effects": {"threshold": out_spec.threshold, "feather_radius_fraction": FEATHER_RADIUS_FRACTION,
                    "feather_min_sigma": FEATHER_MIN_SIGMA, "blur_fraction": BLUR_FRACTION,
                    "blur_min_sigma": BLUR_MIN_SIGMA, "blur_weight_eps": BLUR_WEIGHT_EPS,
                    "temporal_ema_alpha": _ema_alpha()},
        "tolerances": {"input_max_abs": in_tol, "input_mismatch_fraction": INPUT_MISMATCH_FRACTION,
                       "prob_model_max_abs": PROB_MODEL_MAX_ABS, "prob_frame_max_abs": PROB_FRAME_MAX_ABS,
                       "mask_mismatch_fraction": MASK_MISMATCH_FRACTION, "mask_min_iou": MASK_MIN_IOU,
                       "composite_max_abs": COMPOSITE_MAX_ABS, "composite_mean_abs": COMPOSITE_MEAN_ABS},
        "cases": cases,
    }
    manifest["task"] = task.name
    if multi:
        from mobile_kit.effects.parts import palette

        manifest["algorithms"]["class_map_frame"] = ("upsample every class probability channel as 'upsample', "
                                                     "then argmax, lowest index on ties")
        manifest["algorithms"]["parts"] = ("where class>0: out=trunc(min(255, float32(px)*float32(1-alpha)"
                                           "+float32(palette[class])*float32(alpha))); class 0 unchanged; no legend")
        manifest["parts"] = {"labels": list(task.labels), "alpha": PARTS_ALPHA,
                             "palette": palette(task.num_classes).tolist(),
                             "palette_rule": "class 0 black, then PASCAL VOC bit-interleaved colours"}
        manifest["tolerances"].update(class_map_mismatch_fraction=0.0,
                                      class_map_frame_mismatch_fraction=CLASS_MAP_FRAME_MISMATCH_FRACTION,
                                      parts_max_abs=PARTS_MAX_ABS, parts_mean_abs=PARTS_MEAN_ABS)
    return atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=2) + "\n")


def _ema_alpha() -> float:
    from mobile_kit.effects.temporal import EMA_ALPHA

    return EMA_ALPHA


def read_array(golden_dir: str | Path, entry: dict) -> np.ndarray:
    """Read one manifest ``files`` entry (``path``, ``dtype``, ``shape``) as a NumPy array."""
    dt = np.dtype(entry["dtype"]).newbyteorder("<")
    return np.fromfile(Path(golden_dir) / entry["path"], dtype=dt).reshape(entry["shape"])


def write_golden_if_runnable(bundle_dir: Path, metadata: ModelMetadata) -> Path | None:
    """Bundle hook: golden vectors for the artifact just exported when it runs here (``.tflite``); ``None`` otherwise.

    A Core ML or ONNX export into a folder that already holds a ``.tflite`` of the same model keeps that
    model's ``golden/`` as is (the iOS app uses it for its self-test). K-class models get the class maps and
    the parts overlay as well (format version 2).
    """
    art = find_artifact(Path(bundle_dir))
    if art is None or not metadata.target.startswith("tflite"):
        return None
    return write_golden(bundle_dir, art, metadata)
