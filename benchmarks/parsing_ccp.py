"""builtin:parsing on a held-out CCP validation split: per-class IoU, per-image mIoU, size, latency, TTA gain.

The split: ``mobile_kit.data.splits.CCP_SPLIT``, the one CCP validation split
(``../shared/data/ccp`` pairs sorted by stem, shuffled with
``numpy.random.default_rng(0)``, the first 15% = 129 of 857 photos held out;
``benchmarks/mobile_arch.py`` scores the binary person models on the same
photos): the split ``train --val-fraction 0.15 --seed 0`` held out when the
model was trained. Labels are regrouped by the shipped ``ccp-8`` label
map (stored in the model's metadata).

Scored: the Keras model, its tflite-int8 export (calibrated on the training
split), and the Keras model with flip and flip+scales TTA. Per-image mIoU
over the classes present in ground truth or prediction, background excluded
(contest convention) and included; per-class IoU pooled over the split; pixel
accuracy; size in bytes; LiteRT p50 latency at 2 threads on this machine.

    python benchmarks/parsing_ccp.py [--limit N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def _row(name, r, size, latency_us=None):
    return {"model": name, "miou_without_background": r.miou, "miou_all_classes": r.miou_all_classes,
            "pooled_miou": r.pooled_miou, "pixel_accuracy": r.pixel_accuracy, "per_class_iou": r.per_class_iou,
            "tta": r.tta, "n_images": r.n_images, "size_bytes": size, "latency_p50_us": latency_us}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "ccp")
    ap.add_argument("--model", default="builtin:parsing")
    ap.add_argument("--limit", type=int, default=None, help="only the first N val photos (quick check)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args(argv)
    if not a.data.exists():
        print(f"skipped: {a.data} not found (it lives in ../shared)")
        return 0

    from mobile_kit.bench import bench_local
    from mobile_kit.bench.local import git_commit, local_device
    from mobile_kit.eval import evaluate
    from mobile_kit.export import export_model
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.runtime import load_segmenter, resolve_model_path

    from mobile_kit.data.splits import CCP_SPLIT

    kw = dict(split="val", val_fraction=CCP_SPLIT.val_fraction, seed=CCP_SPLIT.seed, limit=a.limit,
              exclude=("background",))
    src = resolve_model_path(a.model)
    seg = load_segmenter(a.model)
    rows = []
    keras_size = src.stat().st_size
    for tta in (None, "flip", "flip+scales"):
        r = evaluate(seg, a.data, tta=tta, **kw)
        rows.append(_row(f"keras{' + ' + tta if tta else ''}", r, keras_size))
        print(rows[-1]["model"], round(r.miou, 4), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        exp = export_model(a.model, "tflite-int8", Path(tmp) / "int8", data=a.data, split="train")
        b = bench_local(exp.artifact, threads=a.threads, runs=30, warmup=3).to_dict()
        r = evaluate(load_segmenter(exp.artifact, num_threads=a.threads), a.data, **kw)
        rows.append(_row("tflite-int8", r, exp.size_bytes, b["latency_us"]["p50"]))
        rows[-1]["parity"] = {k: exp.parity.get(k) for k in ("criterion", "class_agreement", "mask_iou")}
        print("tflite-int8", round(r.miou, 4), b["latency_us"]["p50"], flush=True)
    meta = seg.metadata
    res = {"benchmark": "parsing_ccp", "model": a.model, "data": "ccp (../shared/data/ccp)",
           "split": dict(CCP_SPLIT.to_dict(), n_images=rows[0]["n_images"], name="mobile_kit.data.splits.CCP_SPLIT"),
           "label_map": "ccp-8 (mobile_kit/tasks/label_maps/ccp-8.json)", "labels": list(meta.output.labels),
           "input_hw": list(meta.input.input_hw), "arch": meta.arch, "training": {
               k: meta.training.get(k) for k in ("epochs", "batch_size", "learning_rate", "loss", "seconds",
                                                 "best_epoch", "n_train", "n_val")},
           "device": local_device(), "threads": a.threads, "git_commit": git_commit(),
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "results": rows,
           "reference_model": "not run: no time in this session to train a larger model of the same family"}
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "parsing_ccp.json", json.dumps(res, indent=2) + "\n")
    labels = list(meta.output.labels)
    md = [f"# builtin:parsing on the CCP val split ({rows[0]['n_images']} photos, val_fraction 0.15, seed 0)", "",
          f"{meta.arch} {meta.input.height}x{meta.input.width}, labels {', '.join(labels)} (ccp-8 grouping). "
          "mIoU: mean over photos of the per-photo mIoU over classes present in ground truth or prediction.", "",
          "| model | size (B) | p50 latency (us, 2 threads) | mIoU w/o background | mIoU all classes | pixel acc | "
          + " | ".join(labels) + " |", "|---" * (6 + len(labels)) + "|"]
    for r in rows:
        md.append(f"| {r['model']} | {r['size_bytes']:,} | {r['latency_p50_us'] or 'n/a'} | "
                  f"{r['miou_without_background']:.4f} | {r['miou_all_classes']:.4f} | {r['pixel_accuracy']:.4f} | "
                  + " | ".join("n/a" if r["per_class_iou"][n] is None else f"{r['per_class_iou'][n]:.3f}"
                               for n in labels) + " |")
    base = rows[0]["miou_without_background"]
    md += ["", "TTA gain (mIoU w/o background): " + ", ".join(
        f"{r['model']} {r['miou_without_background'] - base:+.4f}" for r in rows[1:3]), "",
        "A larger reference model of the same family was not trained (time); see the JSON.",
        f"Reproduce: `python benchmarks/parsing_ccp.py` (commit {res['git_commit']})."]
    atomic_write_text(a.out / "parsing_ccp.md", "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
