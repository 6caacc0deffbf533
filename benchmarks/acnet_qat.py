"""What ACNet and quantization-aware training buy, measured on portrait-248's validation split.

Two experiments, one script (CPU, about an hour on 2 cores):

1. ``acnet``: likeunet trained twice with the same budget (epochs, input
   size, seed, recipe), without and with ``--acnet``; the ACNet model is
   folded (exactly) before scoring, so both deploy as the same architecture.
2. ``qat``: the built-in model as float Keras, as post-training-quantized
   int8 TFLite, and after ``--qat-epochs`` of quantization-aware fine-tuning
   exported to int8 TFLite.

All figures: person IoU and mIoU at each image's own resolution on the val
split (val_fraction 0.2, seed 0), size in bytes, LiteRT p50 latency at 2
threads on this machine.

    python benchmarks/acnet_qat.py [--epochs 40] [--qat-epochs 8] [--only acnet|qat]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "portrait-248")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--input-size", type=int, default=256)
    ap.add_argument("--qat-epochs", type=int, default=8)
    ap.add_argument("--only", choices=["acnet", "qat"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--work", type=Path, default=None, help="keep run folders here (default: a temp dir); "
                    "finished runs found there are re-scored, not retrained")
    ap.add_argument("--commit", default=None, help="commit to record when run from an exported snapshot")
    a = ap.parse_args(argv)
    if not a.data.exists():
        print(f"skipped: {a.data} not found (it lives in ../shared)")
        return 0

    from mobile_kit.bench import bench_local
    from mobile_kit.bench.local import git_commit, local_device
    from mobile_kit.eval import evaluate
    from mobile_kit.export import export_model
    from mobile_kit.export.ops import op_report
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.runtime import load_segmenter

    sys.path.insert(0, str(HERE))
    from portrait_vs_peers import versions

    work = a.work or Path(tempfile.mkdtemp(prefix="mobilekit-acnet-qat-"))
    res = {"benchmark": "acnet_qat", "data": "portrait-248 (../shared/data/portrait-248)",
           "split": "val (val_fraction 0.2, seed 0)", "threads": a.threads, "machine": local_device(),
           "versions": versions(), "git_commit": a.commit or git_commit(HERE),
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}

    def score(label, model_path, extra=None):
        seg = load_segmenter(model_path, num_threads=a.threads)
        ev = evaluate(seg, a.data, split="val")
        row = {"model": label, "person_iou": ev.person_iou, "miou": ev.miou, "n_images": ev.n_images,
               "size_bytes": Path(model_path).stat().st_size}
        if str(model_path).endswith(".tflite"):
            b = bench_local(model_path, threads=a.threads, runs=50, warmup=10)
            row["latency_p50_us"] = b.latency_us["p50"]
        row.update(extra or {})
        print(json.dumps(row), flush=True)
        return row

    if a.only in (None, "acnet"):
        from mobile_kit.training import train

        rows = []
        for acnet in (False, True):
            run = work / ("acnet" if acnet else "plain")
            r = train(a.data, run, arch="likeunet", input_size=a.input_size, epochs=a.epochs, acnet=acnet,
                      resume=(run / "train_state.json").exists())
            fp32 = export_model(run, "tflite-fp32", run / "tflite-fp32", data=a.data, split="train")
            rows.append(score(f"likeunet {'+ ACNet (folded)' if acnet else 'plain'}", fp32.artifact, {
                "acnet": acnet, "train_params": json.loads((run / "metadata.json").read_text())["training"].get(
                    "arch_options"), "best_epoch": r.best_epoch,
                "fold": fp32.parity["criterion"], "epochs_trained": len(json.loads((run / "history.json").read_text()))}))
        res["acnet"] = {"epochs": a.epochs, "input_size": a.input_size, "rows": rows}

    if a.only in (None, "qat"):
        from mobile_kit.quant.qat import qat
        from mobile_kit.runtime import builtin_model_path

        rows = [score("built-in likeunet, float32 Keras", builtin_model_path())]
        ptq = export_model(None, "tflite-int8", work / "ptq", data=a.data, split="train")
        rows.append(score("post-training int8 TFLite", ptq.artifact, {"ops": op_report(ptq.artifact)}))
        q = qat(None, a.data, work / "qat", epochs=a.qat_epochs, resume=(work / "qat" / "train_state.json").exists())
        rows.append(score(f"QAT ({a.qat_epochs} epochs) int8 TFLite", q.int8_artifact,
                          {"ops": q.op_report, "qat_keras_val_person_iou": q.val_metrics.get("person_iou")}))
        res["qat"] = {"qat_epochs": a.qat_epochs, "rows": rows}

    a.out.mkdir(parents=True, exist_ok=True)
    name = "acnet_qat" if a.only is None else f"acnet_qat_{a.only}"
    old = a.out / f"{name}.json"
    atomic_write_text(old, json.dumps(res, indent=2) + "\n")
    atomic_write_text(a.out / f"{name}.md", render(res))
    print(render(res))
    return 0


def render(res: dict) -> str:  # noqa: C901
    out = ["# ACNet and quantization-aware training", "",
           f"Data: {res['data']}, split {res['split']}; masks compared at each image's own resolution. "
           f"Latency: LiteRT Python interpreter, {res['threads']} threads, p50 of 50 runs.", ""]
    if "acnet" in res:
        a = res["acnet"]
        out += [f"## ACNet vs plain (same budget: {a['epochs']} epochs, {a['input_size']}x{a['input_size']}, seed 0)", "",
                "| model | person IoU | mIoU | size (bytes) | p50 (us) | best epoch |",
                "|---|---:|---:|---:|---:|---:|"]
        for r in a["rows"]:
            out.append(f"| {r['model']} | {r['person_iou']:.4f} | {r['miou']:.4f} | {r['size_bytes']:,} | "
                       f"{r.get('latency_p50_us', 0):.0f} | {r['best_epoch']} |")
        out.append("")
    if "qat" in res:
        q = res["qat"]
        out += [f"## Float vs post-training int8 vs QAT int8 (built-in model, {q['qat_epochs']} QAT epochs)", "",
                "| model | person IoU | mIoU | size (bytes) | p50 (us) | float ops in int8 graph |",
                "|---|---:|---:|---:|---:|---|"]
        for r in q["rows"]:
            fl = ", ".join(r["ops"]["float_ops"]) or "none" if "ops" in r else "n/a"
            lat = f"{r['latency_p50_us']:.0f}" if "latency_p50_us" in r else "n/a (Keras)"
            out.append(f"| {r['model']} | {r['person_iou']:.4f} | {r['miou']:.4f} | {r['size_bytes']:,} | {lat} | {fl} |")
        out.append("")
    m = res["machine"]
    out += [f"Machine: {m['cpu']} ({m['cores']} cores). Versions: "
            f"{', '.join(f'{k} {v}' for k, v in res['versions'].items())}. Commit `{res['git_commit']}`, {res['date']}.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
