"""Pre- and post-processing contract: one source of truth for every consumer.

:class:`InputSpec` and :class:`OutputSpec` say how a photo becomes the model's
input tensor and how the output tensor becomes a person probability. They are
written to ``metadata.json`` beside every model and artifact and read back by
``eval``, ``bench``, ``predict`` and the demo apps.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobile_kit.errors import ModelError, UnknownNameError

METADATA_FILENAME = "metadata.json"
METADATA_SCHEMA_VERSION = 1

#: Named input normalisations: model_input = pixel * scale + offset, pixel in 0..255.
NORMALIZATIONS: dict[str, tuple[float, float]] = {
    "0..1": (1.0 / 255.0, 0.0),
    "-1..1": (2.0 / 255.0, -1.0),
    "0..255": (1.0, 0.0),
}

#: How an output tensor maps to class probabilities.
OUTPUT_KINDS = ("softmax", "sigmoid", "logits")


def normalization_from_name(name: str) -> tuple[float, float]:
    """Return ``(scale, offset)`` for a named normalisation.

    Raises
    ------
    UnknownNameError
        If ``name`` is not one of :data:`NORMALIZATIONS`.
    """
    if name not in NORMALIZATIONS:
        raise UnknownNameError("input normalisation", name, NORMALIZATIONS)
    return NORMALIZATIONS[name]


@dataclass(frozen=True)
class InputSpec:
    """How a photo becomes the model input.

    Parameters
    ----------
    height, width : int
        Model input size in pixels (``input_hw``); the photo is resized to it
        (``resize="stretch"``, bilinear, aspect ratio not kept).
    channels : int
        3 for RGB, 1 for grayscale (ITU-R 601 luma, as OpenCV computes it).
    scale, offset : float
        ``x = pixel * scale + offset`` with ``pixel`` in 0..255 (uint8 RGB).
    layout : str
        Always ``"NHWC"`` for models built by mobilekit.
    """

    height: int
    width: int
    channels: int = 3
    scale: float = 1.0 / 255.0
    offset: float = 0.0
    layout: str = "NHWC"
    resize: str = "stretch"

    @property
    def channel_order(self) -> str:
        return "RGB" if self.channels == 3 else "GRAY"

    @property
    def input_hw(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def value_range(self) -> tuple[float, float]:
        return (self.offset, 255.0 * self.scale + self.offset)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channel_order"] = self.channel_order
        d["value_range"] = list(self.value_range)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "InputSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class OutputSpec:
    """How the model output becomes a per-pixel person probability.

    Parameters
    ----------
    kind : {"softmax", "sigmoid", "logits"}
        ``softmax``: probabilities over the last (class) axis; ``sigmoid``: one
        channel holding p(person) already in 0..1; ``logits``: raw scores, to
        which softmax (C > 1) or the logistic function (C == 1) is applied.
    labels : tuple of str
        Class names in channel order (``("background", "person")``).
    person_index : int
        Channel holding the person class when C > 1.
    threshold : float
        p(person) above which a pixel is person (0..1).
    """

    kind: str = "softmax"
    labels: tuple[str, ...] = ("background", "person")
    person_index: int = 1
    threshold: float = 0.5

    def __post_init__(self):
        if self.kind not in OUTPUT_KINDS:
            raise UnknownNameError("output kind", self.kind, OUTPUT_KINDS)
        object.__setattr__(self, "labels", tuple(self.labels))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OutputSpec":
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

    def to_dict(self) -> dict[str, Any]:
        from mobile_kit import __version__

        return {
            "schema_version": METADATA_SCHEMA_VERSION,
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
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelMetadata":
        return cls(
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
        )

    def save(self, path: str | Path) -> Path:
        """Write the metadata as JSON (atomically) and return the path."""
        from mobile_kit.fileio import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

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
            return cls.from_dict(d)
        except FileNotFoundError:
            raise ModelError(f"{path}: metadata file not found") from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ModelError(
                f"{path}: expected mobilekit metadata JSON with 'input' and 'output', found an unreadable file ({e})"
            ) from None
