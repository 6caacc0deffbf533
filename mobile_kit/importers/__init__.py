"""Bring third-party models into the toolkit."""
from mobile_kit.importers.onnx_import import ImportResult, import_onnx

__all__ = ["ImportResult", "import_onnx"]
