"""Committed JSON Schemas (metadata.json, benchmark results) and the one validator."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """``name`` is ``metadata`` or ``bench_result``."""
    return json.loads(resources.files("mobile_kit").joinpath(f"schemas/{name}.schema.json").read_text())


def validate(doc: dict, name: str, error_cls: type[Exception], where: str, expected: str) -> None:
    """Raise ``error_cls`` naming ``where`` and the failing field if ``doc`` breaks schema ``name``."""
    import jsonschema

    try:
        jsonschema.validate(doc, load_schema(name))
    except jsonschema.ValidationError as e:
        field_path = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise error_cls(f"{where}: expected {expected}, found {field_path}: {e.message}") from None
