"""Pre- and post-processing contract: one source of truth for every consumer.

:class:`InputSpec` and :class:`OutputSpec` say how a photo becomes the model's
input tensor and how the output tensor becomes class (and foreground) probabilities. They are
written to ``metadata.json`` beside every model and artifact and read back by
``eval``, ``bench``, ``predict`` and the demo apps.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobile_kit.errors import ModelError, UnknownNameError, lookup

METADATA_FILENAME = "metadata.json"
METADATA_SCHEMA_VERSION = 2
#: Versions :meth:`ModelMetadata.load` reads; v1 (no ``task``) is migrated by :func:`migrate_metadata`.
READABLE_SCHEMA_VERSIONS = (1, 2)

#: Named input normalisations: model_input = pixel * scale + offset, pixel in 0..255.
NORMALIZATIONS: dict[str, tuple[float, float]] = {
    "0..1": (1.0 / 255.0, 0.0),
    "-1..1": (2.0 / 255.0, -1.0),
    "0..255": (1.0, 0.0),
}

#: How an output tensor maps to class probabilities.
OUTPUT_KINDS = ("softmax", "sigmoid", "logits")


def validate_metadata(d: dict, where: str = "metadata") -> None:
    """Raise :class:`ModelError` naming the field if ``d`` breaks ``mobile_kit/schemas/metadata.schema.json``
    (which accepts schema versions 1 and 2)."""
    from mobile_kit.schemas import validate

    validate(d, "metadata", ModelError, where, f"mobilekit metadata (schema v1 or v{METADATA_SCHEMA_VERSION})")


def migrate_metadata(d: dict) -> dict:
    """Bring a metadata dict to the current schema version (a new dict; ``d`` is not modified).

    v1 -> v2: v1 models all belong to the default task
    (:data:`mobile_kit.tasks.DEFAULT_TASK`), which ``task`` becomes;
    ``output.label_map`` is optional. In v1 files and in v2 files written
    before the contract became task-generic, output fields carry their old
    names (:data:`mobile_kit.tasks.LEGACY_OUTPUT_FIELDS`): they are renamed;
    a file holding both names keeps the current one.
    """
    from mobile_kit.tasks import DEFAULT_TASK, LEGACY_OUTPUT_FIELDS

    d = dict(d)
    if d.get("schema_version", 1) == 1:
        d["task"] = d.get("task") or {"name": DEFAULT_TASK}
        d["schema_version"] = METADATA_SCHEMA_VERSION
    if isinstance(d.get("output"), dict):
        out = dict(d["output"])
        for old, new in LEGACY_OUTPUT_FIELDS.items():
            if old in out:
                value = out.pop(old)
                out.setdefault(new, value)
        d["output"] = out
    return d


def _default_labels() -> tuple[str, ...]:
    from mobile_kit.tasks import default_labels

    return default_labels()


def normalization_from_name(name: str) -> tuple[float, float]:
    """Return ``(scale, offset)`` for a named normalisation.

    Raises
    ------
    UnknownNameError
        If ``name`` is not one of :data:`NORMALIZATIONS`.
    """
    return lookup(NORMALIZATIONS, "input normalisation", name)


@dataclass(frozen=True)
class InputSpec:
    """How a photo becomes the model input.

    Parameters
    ----------
    height, width : int
        Model input size in pixels (``input_hw``); the photo is resized to it
        (``resize="stretch"``, bilinear, aspect ratio not kept).
    channels : int
        3 for colour, 1 for grayscale (ITU-R 601 luma, as OpenCV computes it).
    scale, offset : float or tuple of float
        ``x = pixel * scale + offset`` with ``pixel`` in 0..255; a tuple gives
        one value per channel (in ``channel_order``), e.g. mean/std
        normalisation ``scale = 1/std``, ``offset = -mean/std``.
    layout : {"NHWC", "NCHW"}
        Tensor layout of the artifact's input (models built by mobilekit are NHWC).
    channel_order : {"RGB", "BGR", "GRAY"}
        Channel order the model expects (``GRAY`` when ``channels == 1``).
    """

    height: int
    width: int
    channels: int = 3
    scale: float | tuple[float, ...] = 1.0 / 255.0
    offset: float | tuple[float, ...] = 0.0
    layout: str = "NHWC"
    resize: str = "stretch"
    channel_order: str = "RGB"

    def __post_init__(self):
        for name in ("scale", "offset"):
            v = getattr(self, name)
            if isinstance(v, (list, tuple)):
                if len(v) != self.channels:
                    raise ValueError(f"input {name}: expected 1 or {self.channels} values, found {len(v)}")
                object.__setattr__(self, name, tuple(float(x) for x in v))
        if self.channels == 1:
            object.__setattr__(self, "channel_order", "GRAY")
        elif self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"input channel_order: expected RGB or BGR, found {self.channel_order!r}")

    @property
    def input_hw(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def per_channel(self) -> bool:
        return isinstance(self.scale, tuple) or isinstance(self.offset, tuple)

    @property
    def value_range(self) -> tuple[float, float]:
        """Smallest and largest model input value over all channels."""
        sc = self.scale if isinstance(self.scale, tuple) else (self.scale,)
        of = self.offset if isinstance(self.offset, tuple) else (self.offset,)
        ends = [o + 255.0 * s * t for s in sc for o in of for t in (0.0, 1.0)]
        return (min(ends), max(ends))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("scale", "offset"):
            if isinstance(d[k], tuple):
                d[k] = list(d[k])
        d["value_range"] = list(self.value_range)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InputSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("scale", "offset"):
            if isinstance(kw.get(k), list):
                kw[k] = tuple(kw[k])
        return cls(**kw)


@dataclass(frozen=True)
class OutputSpec:
    """How the model output becomes per-pixel class probabilities and a foreground probability.

    Parameters
    ----------
    kind : {"softmax", "sigmoid", "logits"}
        ``softmax``: probabilities over the last (class) axis; ``sigmoid``: one
        channel holding p(foreground) already in 0..1; ``logits``: raw scores, to
        which softmax (C > 1) or the logistic function (C == 1) is applied.
    labels : tuple of str
        Class names in channel order (default: the default task's,
        :func:`mobile_kit.tasks.default_labels`).
    foreground_index : int, optional
        Channel of the foreground class that single-mask consumers of a binary
        contract (threshold, portrait effects, the demo apps) read when C > 1;
        default: the last class. Serialized as ``output.foreground_index``
        (older files: a legacy name, see :func:`migrate_metadata`).
    threshold : float
        Foreground probability above which a pixel is foreground (0..1).
    label_map : dict or None
        Source class name -> model class index (``--label-map``), so the model
        can be scored on the source labels; None when trained on its own labels.
    """

    kind: str = "softmax"
    labels: tuple[str, ...] = field(default_factory=lambda: _default_labels())
    foreground_index: int | None = None
    threshold: float = 0.5
    label_map: dict | None = None

    def __post_init__(self):
        if self.kind not in OUTPUT_KINDS:
            raise UnknownNameError("output kind", self.kind, OUTPUT_KINDS)
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.foreground_index is None:  # not given: the last class (the foreground of a binary contract)
            object.__setattr__(self, "foreground_index", max(len(self.labels) - 1, 0))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["labels"] = list(self.labels)
        if d["label_map"] is None:
            del d["label_map"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OutputSpec":
        """Read an ``output`` contract; legacy field names (:data:`mobile_kit.tasks.LEGACY_OUTPUT_FIELDS`) are
        accepted."""
        d = migrate_metadata({"schema_version": METADATA_SCHEMA_VERSION, "output": d})["output"]
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class ModelMetadata:
    """Everything written to ``metadata.json`` beside a model or artifact.

    ``input``/``output`` are the contract; the other fields are provenance and
    figures (training recipe, validation metrics, export target, parity report).
    """

    input: InputSpec
    output: OutputSpec
    name: str = "model"
    version: str = "0"
    arch: str | None = None
    target: str = "keras"
    precision: str = "float32"
    source_sha256: str | None = None
    toolkit_version: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] | None = None
    quantization: dict[str, Any] | None = None
    provenance: str | None = None
    io: dict[str, Any] | None = None
    #: ``{"name": <registered task>, ...}`` (see :mod:`mobile_kit.tasks`); v1 metadata migrates to the default task.
    task: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        from mobile_kit import __version__
        from mobile_kit.tasks import DEFAULT_TASK

        return {
            "schema_version": METADATA_SCHEMA_VERSION,
            "task": self.task or {"name": DEFAULT_TASK},
            "name": self.name,
            "version": self.version,
            "arch": self.arch,
            "target": self.target,
            "precision": self.precision,
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
            "source_sha256": self.source_sha256,
            "toolkit_version": self.toolkit_version or __version__,
            "training": self.training,
            "metrics": self.metrics,
            "parity": self.parity,
            "quantization": self.quantization,
            "provenance": self.provenance,
            "io": self.io,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelMetadata":
        d = migrate_metadata(d)
        return cls(
            task=d.get("task"),
            input=InputSpec.from_dict(d["input"]),
            output=OutputSpec.from_dict(d["output"]),
            name=d.get("name", "model"),
            version=str(d.get("version", "0")),
            arch=d.get("arch"),
            target=d.get("target", "keras"),
            precision=d.get("precision", "float32"),
            source_sha256=d.get("source_sha256"),
            toolkit_version=d.get("toolkit_version"),
            training=d.get("training") or {},
            metrics=d.get("metrics") or {},
            parity=d.get("parity"),
            quantization=d.get("quantization"),
            provenance=d.get("provenance"),
            io=d.get("io"),
        )

    def save(self, path: str | Path) -> Path:
        """Validate against the schema, write the metadata as JSON (atomically) and return the path."""
        from mobile_kit.fileio import atomic_write_text

        d = self.to_dict()
        validate_metadata(d, str(path))
        return atomic_write_text(path, json.dumps(d, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "ModelMetadata":
        """Read ``metadata.json``.

        Raises
        ------
        ModelError
            If the file is missing, not JSON, or lacks the input/output contract.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text())
            validate_metadata(d, str(path))
            return cls.from_dict(d)
        except FileNotFoundError:
            raise ModelError(f"{path}: metadata file not found") from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ModelError(
                f"{path}: expected mobilekit metadata JSON with 'input' and 'output', found an unreadable file ({e})"
            ) from None
