"""Results files -> one Markdown table and an accuracy / latency / size plot.

Reads result JSON written by ``mobilekit bench`` (local or ``--device adb``):
one result object, a list of them, or ``{"results": [...]}``. Each result is
checked against ``mobile_kit/schemas/bench_result.schema.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

from mobile_kit.errors import BenchmarkError
from mobile_kit.fileio import atomic_path, atomic_write_text, stage_outputs
from mobile_kit.tasks import headline_label, headline_of


def validate_result(result: dict, where: str = "result") -> None:
    """Raise :class:`BenchmarkError` (naming ``where``) if ``result`` breaks the result schema."""
    from mobile_kit.schemas import validate

    validate(result, "bench_result", BenchmarkError, where, "a mobilekit benchmark result (schema v1)")


#: A failed run as ``mobilekit bench`` writes it: an error message plus whatever was known of the run.
FAILED_RUN_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "artifact": {"type": "string"},
        "delegate": {"type": "string"},
        "device": {"type": "object", "properties": {"model": {"type": ["string", "null"]},
                                                     "serial": {"type": ["string", "null"]}}},
    },
}

_JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def validate_failed_run(row: dict, where: str) -> None:
    """Raise :class:`BenchmarkError` (naming ``where``) if a failed-run row breaks :data:`FAILED_RUN_SCHEMA`."""
    import jsonschema

    try:
        jsonschema.validate(row, FAILED_RUN_SCHEMA)
    except jsonschema.ValidationError as e:
        field = "/".join(str(x) for x in e.absolute_path) or "(top)"
        raise BenchmarkError(f"{where}: expected a failed benchmark run ({{\"error\": message, ...}}), found "
                             f"{field}: {e.message}") from None


def _read_json(p: Path):
    try:
        return json.loads(p.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(f"{p}: results file not found") from None
    except IsADirectoryError:
        raise BenchmarkError(f"{p}: expected a results JSON file, found a folder") from None
    except UnicodeDecodeError as e:
        raise BenchmarkError(f"{p}: expected UTF-8 JSON, found bytes that are not UTF-8 ({e.reason} at byte "
                             f"{e.start})") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise BenchmarkError(f"{p}: expected JSON, found a parse error ({e})") from None


def load_results(paths: list[str | Path]) -> tuple[list[dict], list[dict]]:
    """Valid results and failed-run rows (``{"error": ...}``) from result files.

    A file holds one result object, a list of them, or ``{"results": [...]}``
    (what ``mobilekit bench --out`` writes). Every row is checked: a result
    against the result schema, a failed run against :data:`FAILED_RUN_SCHEMA`.

    Raises
    ------
    BenchmarkError
        A file is missing, not UTF-8 JSON, or holds something else (naming
        the file, the row index and the field).
    """
    ok, failed = [], []
    for p in paths:
        p = Path(p)
        data = _read_json(p)
        rows = data.get("results", [data]) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise BenchmarkError(f"{p}: expected a result object, a list of them or {{\"results\": [...]}}, found "
                                 f"{_JSON_TYPES.get(type(rows), type(rows).__name__)}")
        for i, r in enumerate(rows):
            where = f"{p} [{i}]"
            if not isinstance(r, dict):
                raise BenchmarkError(f"{where}: expected a result object, found {_JSON_TYPES.get(type(r), type(r).__name__)}")
            if "error" in r:
                validate_failed_run(r, where)
                failed.append(r)
                continue
            validate_result(r, where)
            ok.append(r)
    return ok, failed


def _device_label(r: dict) -> str:
    d = r["device"]
    if d["kind"] == "adb":
        return " ".join(x for x in (d.get("manufacturer"), d.get("model"), f"({d.get('soc')})" if d.get("soc") else None) if x)
    return f"local {d.get('cpu', '')}".strip()


def _artifact_label(r: dict) -> str:
    p = Path(r.get("artifact", "?"))
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def headline_accuracy(acc: dict | None):
    """The accuracy figure a report shows: the headline figure of the summary's task
    (:func:`mobile_kit.tasks.headline_of`, as its ``eval`` summary names it), or None."""
    return headline_of(acc)


def _latency_ms(r: dict) -> float:
    lat = r["latency_us"]
    return (lat.get("p50") or lat["mean"]) / 1000.0


def markdown(results: list[dict], failed: list[dict]) -> str:
    lines = ["| artifact | device | delegate | threads | size (bytes) | p50 or mean latency (ms) | min (ms) | memory (MB) | "
             f"accuracy ({headline_label()}) | notes |", "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in sorted(results, key=_latency_ms):
        acc = headline_accuracy(r.get("accuracy"))
        mem = r["memory_mb"].get("overall", r["memory_mb"].get("model_delta"))
        notes = "; ".join(r.get("flags", []))
        dc = r.get("delegate_check") or {}
        if dc.get("recommendation"):
            notes = "; ".join(filter(None, [notes, dc["recommendation"]]))
        lines.append(f"| {_artifact_label(r)} | {_device_label(r)} | {r['delegate']} | {r['threads']} | "
                     f"{r['size_bytes']:,} | {_latency_ms(r):.2f} | {r['latency_us']['min'] / 1000:.2f} | "
                     f"{'' if mem is None else f'{mem:.1f}'} | {'' if acc is None else f'{acc:.4f}'} | {notes} |")
    for f in failed:
        dev = f.get("device", {})
        lines.append(f"| {_artifact_label(f)} | {dev.get('model') or dev.get('serial', '?')} | "
                     f"{f.get('delegate', '')} | | | failed | | | | {(f['error'].splitlines() or [''])[0]} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: Path) -> Path:
    """Scatter of latency (x) vs accuracy (y: the task's headline figure; size in MB when no accuracy), marker area ~ size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    have_acc = any(headline_accuracy(r.get("accuracy")) is not None for r in results)
    devices = {_device_label(r) for r in results}
    one_device = len(devices) == 1
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    for i, r in enumerate(results):
        x = _latency_ms(r)
        y = headline_accuracy(r.get("accuracy")) if have_acc else r["size_bytes"] / 1e6
        if y is None:
            continue
        ax.scatter([x], [y], s=30 + r["size_bytes"] / 5e3, alpha=0.6)
        label = _artifact_label(r) if one_device else f"{_artifact_label(r)}\n{_device_label(r)}, {r['delegate']}"
        ax.annotate(label, (x, y), fontsize=7, xytext=(6, 6 - 14 * (i % 2)), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("latency, p50 or mean (ms, log scale)")
    ax.set_ylabel(f"accuracy ({headline_label()})" if have_acc else "model size (MB)")
    title = "accuracy vs latency (marker area ~ model size)" if have_acc else "size vs latency"
    ax.set_title(title + (f"\n{devices.pop()}" if one_device else ""), fontsize=10)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def report(result_files: list[str | Path], out_dir: str | Path) -> dict:
    """Write ``out_dir/report.md`` and ``out_dir/report.png`` from result files.

    Raises
    ------
    BenchmarkError
        A file is missing, not JSON, or breaks the result schema; no valid result.
    """
    results, failed = load_results(result_files)
    if not results and not failed:
        raise BenchmarkError("expected at least one benchmark result in the given files, found none")
    out = Path(out_dir)
    text = "# mobilekit benchmark report\n\n" + markdown(results, failed)
    with stage_outputs(out) as stage:  # report.md and report.png appear together
        atomic_write_text(stage / "report.md", text)
        if results:
            plot(results, stage / "report.png")
    png = out / "report.png" if results else None
    return {"markdown": str(out / "report.md"), "plot": str(png) if png else None, "results": len(results),
            "failed": len(failed)}
