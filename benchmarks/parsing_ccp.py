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

``--reference RUN`` adds a larger model of the same family trained with the
same recipe (e.g. ``train ... --width-multiplier 1.5``): its Keras and int8
scores, and the int8 latencies of both models measured in one process with
interleaved rounds (:func:`mobile_kit.bench.interleaved_latency`), to show
what the small model gives up.

    python benchmarks/parsing_ccp.py [--reference RUN] [--limit N]
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


def _reference_info(reference: str, small_model: str, rows: list[dict]) -> dict:
    """What the small model gives up against the larger reference: deltas and ratios of its int8 export."""
    from mobile_kit.inspect import _keras_report
    from mobile_kit.runtime import load_segmenter, resolve_model_path

    meta = load_segmenter(reference).metadata
    small_k, big_k = (_keras_report(resolve_model_path(m)) for m in (small_model, reference))
    by = {r["model"]: r for r in rows}
    small, big = by["tflite-int8"], by["reference tflite-int8"]
    return {"run": str(reference), "arch": meta.arch,
            "arch_options": meta.training.get("arch_options"), "training_seconds": meta.training.get("seconds"),
            "epochs": meta.training.get("epochs"), "best_epoch": meta.training.get("best_epoch"),
            "parameters": {"small": small_k["parameters"], "reference": big_k["parameters"]},
            "macs": {"small": small_k["macs"], "reference": big_k["macs"]},
            "miou_gap_int8": big["miou_without_background"] - small["miou_without_background"],
            "size_ratio_int8": big["size_bytes"] / small["size_bytes"],
            "latency_ratio_int8": big["latency_p50_us"] / small["latency_p50_us"]}


def _reference_line(ref: dict | None) -> str:
    if not ref:
        return "No larger reference model given (`--reference RUN`)."
    return (f"Reference: {ref['arch']} {ref['arch_options']} trained with the same recipe "
            f"({ref['epochs']} epochs, {ref['training_seconds']:.0f} s; {ref['parameters']['reference']:,} parameters "
            f"and {ref['macs']['reference'] / 1e6:.0f} M MACs vs {ref['parameters']['small']:,} and "
            f"{ref['macs']['small'] / 1e6:.0f} M). Its int8 export is {ref['size_ratio_int8']:.2f}x the size and "
            f"{ref['latency_ratio_int8']:.2f}x the p50 latency of the small one's; the small int8 model gives up "
            f"{ref['miou_gap_int8']:.4f} mIoU (w/o background).")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "ccp")
    ap.add_argument("--model", default="builtin:parsing")
    ap.add_argument("--limit", type=int, default=None, help="only the first N val photos (quick check)")
    ap.add_argument("--reference", default=None,
                    help="run folder of a larger model of the same family, trained with the same recipe")
    ap.add_argument("--runs", type=int, default=100, help="timed interleaved rounds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--note", action="append", default=[], help="a line for the notes (e.g. the machine's load)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    a = ap.parse_args(argv)
    if not a.data.exists():
        print(f"skipped: {a.data} not found (it lives in ../shared)")
        return 0

    from mobile_kit.bench import interleaved_latency
    from mobile_kit.bench.local import git_commit, local_device
    from mobile_kit.data.splits import CCP_SPLIT
    from mobile_kit.eval import evaluate
    from mobile_kit.export import export_model
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.runtime import load_segmenter, resolve_model_path

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
        int8 = {}
        for name, model in [("tflite-int8", a.model)] + ([("reference tflite-int8", a.reference)] if a.reference else []):
            if name.startswith("reference"):
                ref_seg = load_segmenter(a.reference)
                r = evaluate(ref_seg, a.data, **kw)
                rows.append(_row("reference keras", r, resolve_model_path(a.reference).stat().st_size))
                print(rows[-1]["model"], round(r.miou, 4), flush=True)
            exp = export_model(model, "tflite-int8", Path(tmp) / name.replace(" ", "_"), data=a.data, split="train")
            r = evaluate(load_segmenter(exp.artifact, num_threads=a.threads), a.data, **kw)
            rows.append(_row(name, r, exp.size_bytes))
            rows[-1]["parity"] = {k: exp.parity.get(k) for k in ("criterion", "class_agreement", "mask_iou")}
            int8[name] = exp.artifact
            print(name, round(r.miou, 4), flush=True)
        lat = interleaved_latency(int8, threads=a.threads, runs=a.runs)
        for row in rows:
            if row["model"] in lat:
                row["latency_p50_us"] = lat[row["model"]]["p50"]
                row["latency_us"] = lat[row["model"]]
    meta = seg.metadata
    res = {"benchmark": "parsing_ccp", "model": a.model, "data": "ccp (../shared/data/ccp)",
           "split": dict(CCP_SPLIT.to_dict(), n_images=rows[0]["n_images"], name="mobile_kit.data.splits.CCP_SPLIT"),
           "label_map": "ccp-8 (mobile_kit/tasks/label_maps/ccp-8.json)", "labels": list(meta.output.labels),
           "input_hw": list(meta.input.input_hw), "arch": meta.arch, "training": {
               k: meta.training.get(k) for k in ("epochs", "batch_size", "learning_rate", "loss", "seconds",
                                                 "best_epoch", "n_train", "n_val")},
           "device": local_device(), "threads": a.threads, "git_commit": git_commit(),
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "results": rows,
           "latency_method": f"int8 models in one process, interleaved rounds ({a.runs} timed, 10 warm-up), "
                             f"LiteRT XNNPACK, {a.threads} threads",
           "reference_model": _reference_info(a.reference, a.model, rows) if a.reference else None,
           "notes": a.note}
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "parsing_ccp.json", json.dumps(res, indent=2) + "\n")
    labels = list(meta.output.labels)
    md = [f"# builtin:parsing on the CCP val split ({rows[0]['n_images']} photos, CCP_SPLIT: val_fraction "
          f"{CCP_SPLIT.val_fraction}, seed {CCP_SPLIT.seed})", "",
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
        _reference_line(res["reference_model"]), "",
        f"Latency: {res['latency_method']}.", *[f"Note: {n}" for n in a.note],
        f"Reproduce: `python benchmarks/parsing_ccp.py{' --reference RUN' if a.reference else ''}` (commit {res['git_commit']})."]
    atomic_write_text(a.out / "parsing_ccp.md", "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
