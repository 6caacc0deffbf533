"""The main job on built-in defaults: export -> bench -> predict, no data needed."""
from __future__ import annotations

from pathlib import Path

from mobile_kit.progress import NullProgress, Progress


def quickstart(out: str | Path, threads: int = 2, runs: int = 50, progress: Progress = NullProgress()) -> dict:
    """Export the built-in model to tflite-int8, benchmark it locally and run portrait mode on a bundled photo.

    Writes ``out/tflite-int8/{model.tflite, metadata.json}``, ``out/bench.json``
    and ``out/astronaut_blur.png``, ``out/astronaut_mask.png``.

    Returns
    -------
    dict
        ``export``, ``bench``, ``predict`` results and a flat ``summary``.
    """
    import json

    from mobile_kit.bench import bench_local
    from mobile_kit.data.samples import sample_photo
    from mobile_kit.export import export_model
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.predict import predict
    from mobile_kit.runtime import load_segmenter
    from mobile_kit.tasks import headline_metrics, headline_of

    out = Path(out)
    exp = export_model(None, "tflite-int8", out / "tflite-int8", progress=progress)
    b = bench_local(exp.artifact, threads=threads, runs=runs, progress=progress)
    bench_path = atomic_write_text(out / "bench.json", json.dumps(b.to_dict(), indent=2) + "\n")
    seg = load_segmenter(exp.artifact, num_threads=threads)
    photo = [("astronaut", sample_photo("astronaut"))]
    preds = predict(seg, photo, out, effect="blur", progress=progress) + predict(seg, photo, out, effect="mask")
    val = seg.metadata.metrics.get("val", {})
    task = seg.task.name
    label = headline_metrics()[task][1]
    headline = headline_of(val, task)
    return {
        "export": exp.to_dict(),
        "bench": b.to_dict(),
        "predict": [p.to_dict() for p in preds],
        "summary": {
            "artifact": str(exp.artifact),
            "size_bytes": exp.size_bytes,
            "int8 mask IoU vs float": round(exp.parity["mask_iou"], 4),
            "latency p50 (us)": round(b.latency_us["p50"], 1),
            "latency p90 (us)": round(b.latency_us["p90"], 1),
            "threads": threads,
            f"float val {label} (its training val split)": "n/a" if headline is None else headline,
            "benchmark": str(bench_path),
            "portrait mode": str(preds[0].output),
            "mask": str(preds[1].output),
            "foreground % of astronaut photo": f"{100 * preds[0].foreground_fraction:.1f}",
        },
    }
