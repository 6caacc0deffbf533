"""Export a Keras model to deployment formats, with parity checks and metadata."""
from mobile_kit.export.core import ExportResult, export_model
from mobile_kit.export.registry import TARGETS, get_target

__all__ = ["ExportResult", "export_model", "TARGETS", "get_target"]
