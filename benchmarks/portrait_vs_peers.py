"""Score the built-in model (Keras float, TFLite fp32/fp16/int8) against MediaPipe's selfie segmenter.

All models run on the same validation split of ../shared/data/portrait-248 (the
split the built-in model was *not* trained on), compared at each image's own
resolution with threshold 0.5; latency is the LiteRT Python interpreter's
p50 over ``--runs`` invokes at ``--threads`` threads on this machine.

    python benchmarks/portrait_vs_peers.py            # writes benchmarks/results/portrait_vs_peers.{json,md}

Exits with a message (status 0) when ../shared is absent.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

import mobile_kit
from mobile_kit.bench import bench_local
from mobile_kit.bench.local import git_commit, local_device
from mobile_kit.eval import evaluate
from mobile_kit.export import export_model
from mobile_kit.fileio import atomic_write_text
from mobile_kit.runtime import builtin_model_path, load_segmenter

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def versions() -> dict:
    import ai_edge_litert
    import tensorflow as tf
    import tf_keras

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
            "ai_edge_litert": ai_edge_litert.__version__, "mobilekit": mobile_kit.__version__}


def render_markdown(res: dict) -> str:
    lines = [
        "# Built-in model vs peer portrait models",
        "",
        f"Data: `{res['data']}`, split `{res['split']}` ({res['n_images']} images, never trained on), "
        "masks compared at each image's own resolution, threshold 0.5. "
        f"Latency: LiteRT Python interpreter, {res['threads']} threads, p50 of {res['runs']} runs.",
        "",
        "| model | size (bytes) | person IoU | mIoU | person IoU (pooled) | p50 latency (us) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        lat = f"{r['latency_p50_us']:.0f}" if r.get("latency_p50_us") is not None else "n/a (Keras)"
        lines.append(f"| {r['model']} | {r['size_bytes']:,} | {r['person_iou']:.4f} | {r['miou']:.4f} | "
                     f"{r['person_iou_pooled']:.4f} | {lat} |")
    m = res["machine"]
    lines += ["", f"Machine: {m['cpu']} ({m['cores']} cores), {m['os']}.",
              f"Versions: {', '.join(f'{k} {v}' for k, v in res['versions'].items())}.",
              f"Commit: `{res['git_commit']}`, date {res['date']}.", "",
              "![person IoU vs latency, marker area ~ size](portrait_vs_peers.png)", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "portrait-248")
    ap.add_argument("--mediapipe", type=Path, default=SHARED / "peers" / "mediapipe-selfie" / "selfie_segmentation.tflite")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--skip-sinet", action="store_true", help="do not import and score SINet (~2 min)")
    ap.add_argument("--commit", default=None, help="commit to record when run from an exported snapshot")
    a = ap.parse_args(argv)
    if not a.data.exists() or not a.mediapipe.exists():
        print(f"skipped: {a.data} or {a.mediapipe} not found (they live in ../shared)")
        return 0
    rows, bench_rows = [], []

    def score(name, seg, artifact=None):
        ev = evaluate(seg, a.data, split="val")
        row = {"model": name, "path": str(seg.path), "size_bytes": seg.path.stat().st_size, "person_iou": ev.person_iou,
               "miou": ev.miou, "person_iou_pooled": ev.person_iou_pooled, "n_images": ev.n_images}
        if artifact is not None:
            b = bench_local(artifact, threads=a.threads, runs=a.runs, warmup=10, accuracy=ev.summary())
            bench_rows.append(b.to_dict())
            row.update(latency_p50_us=b.latency_us["p50"], latency_min_us=b.latency_us["min"],
                       latency_p90_us=b.latency_us["p90"], model_sha256=b.model_sha256)
        rows.append(row)
        print(json.dumps(row), flush=True)
        return ev

    ev = score("mobilekit likeunet (Keras float32)", load_segmenter(None))
    with tempfile.TemporaryDirectory() as tmp:
        for target in ("tflite-fp32", "tflite-fp16", "tflite-int8"):
            r = export_model(None, target, Path(tmp) / target, data=a.data, split="train")
            seg = load_segmenter(r.artifact, num_threads=a.threads)
            score(f"mobilekit likeunet ({target})", seg, r.artifact)
            rows[-1]["parity"] = r.parity["criterion"]
    mp = load_segmenter(a.mediapipe, input_norm="0..1", output_kind="sigmoid", num_threads=a.threads)
    score("MediaPipe selfie_segmentation.tflite (float)", mp, a.mediapipe)
    prisma = SHARED / "peers" / "prisma-net" / "prisma-net.tflite"
    if prisma.exists():
        score("PrismaNet prisma-net.tflite (float)",
              load_segmenter(prisma, input_norm="0..1", output_kind="sigmoid", num_threads=a.threads), prisma)
    sinet = SHARED / "peers" / "sinet" / "SINet.onnx"
    import importlib.util

    if sinet.exists() and importlib.util.find_spec("onnx2tf") and not a.skip_sinet:
        from mobile_kit.importers import import_onnx

        with tempfile.TemporaryDirectory() as tmp:
            # clovaai SINet normalisation: ((pixel - mean) / std) / 255 per channel
            mean, std = (107.304565, 115.69884, 132.35703), (63.97182, 65.1337, 68.29726)
            imp = import_onnx(sinet, Path(tmp) / "sinet", scale=tuple(1 / (255 * x) for x in std),
                              offset=tuple(-m / (255 * x) for m, x in zip(mean, std)), output_kind="logits",
                              data=SHARED / "photos" / "p3m")
            score("SINet (ONNX imported with onnx2tf, float)", load_segmenter(imp.tflite, num_threads=a.threads),
                  imp.tflite)
            rows[-1]["import_parity"] = imp.parity["criterion"]
    res = {
        "benchmark": "portrait_vs_peers",
        "data": str(a.data.relative_to(a.data.parents[2]) if SHARED in a.data.parents else a.data),
        "split": "val (val_fraction 0.2, seed 0)",
        "n_images": ev.n_images,
        "threads": a.threads,
        "runs": a.runs,
        "builtin_model": str(builtin_model_path().relative_to(HERE.parent)),
        "rows": rows,
        "machine": local_device(),
        "versions": versions(),
        "git_commit": a.commit or git_commit(HERE),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for r in res["rows"]:
        r["path"] = Path(r["path"]).name
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "portrait_vs_peers.json", json.dumps(res, indent=2) + "\n")
    atomic_write_text(a.out / "portrait_vs_peers.md", render_markdown(res))
    from mobile_kit.bench.report import plot

    plot(bench_rows, a.out / "portrait_vs_peers.png")
    print(render_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
