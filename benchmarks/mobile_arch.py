"""The mobile architecture (mbv2_lraspp + recipe) vs the built-in likeunet, MediaPipe selfie and PrismaNet.

One process, one machine:

- **accuracy** on the portrait-248 val split (val_fraction 0.2, seed 0: the
  split no model of ours trained on), on the CCP val split held out by the
  recipe (the same rule on ``../shared/data/ccp`` pairs sorted by stem; CCP
  labels read as binary person, bags/purses/wallets = person), masks compared
  at each image's own resolution, threshold 0.5;
- **person-free photos**: mean fraction of pixels marked person (p > 0.5) on
  the scene photos of ``../shared/photos/portrait-tests`` without people
  (:data:`PERSON_FREE`);
- **latency**: LiteRT Python interpreter, ``--threads`` threads, XNNPACK;
  every model is invoked once per round, rounds interleaved (``--runs``), so
  background load hits all models alike; p50/p90 in microseconds.

    python benchmarks/mobile_arch.py --new RUN_DIR   # writes benchmarks/results/mobile_arch.{json,md,png}

Exits with a message (status 0) when ../shared is absent.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's mobile_kit, then portrait_vs_peers
SHARED = HERE.parent.parent / "shared"
#: Scene photos of ../shared/photos/portrait-tests with no person in them (checked by eye).
PERSON_FREE = ("beach.jpg", "blue.jpg", "desert.jpg", "ocean.jpeg", "sky.jpg", "sunset.jpg")


def interleaved_latency(artifacts: dict, threads: int, runs: int, warmup: int = 10) -> dict:
    """``name -> {"p50", "p90", "min"}`` in microseconds of one ``invoke`` per ``.tflite`` per round.

    Each artifact gets its own LiteRT interpreter (default XNNPACK delegate,
    ``threads`` threads) fed zeros of its input dtype; rounds alternate over
    the models so that background load affects all of them alike.
    """
    from ai_edge_litert.interpreter import Interpreter

    its = {}
    for k, path in artifacts.items():
        it = Interpreter(model_path=str(path), num_threads=threads)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        its[k] = (it, d["index"], np.zeros(d["shape"], d["dtype"]))
    times = {k: [] for k in its}
    for r in range(warmup + runs):
        for k, (it, idx, x) in its.items():
            it.set_tensor(idx, x)
            t0 = time.perf_counter()
            it.invoke()
            dt_us = (time.perf_counter() - t0) * 1e6
            if r >= warmup:
                times[k].append(dt_us)
    return {k: {"p50": float(np.percentile(v, 50)), "p90": float(np.percentile(v, 90)), "min": float(np.min(v))}
            for k, v in times.items()}


def person_free_fraction(seg, photos: list[Path]) -> dict:
    from mobile_kit.data.dataset import load_image

    fr = {p.name: float((seg.probability(load_image(p)) > 0.5).mean()) for p in photos}
    return {"mean": float(np.mean(list(fr.values()))), "per_photo": fr}


def render_markdown(res: dict) -> str:
    lines = [
        "# Mobile architecture vs built-in and peers",
        "",
        f"Accuracy: portrait-248 val split ({res['n_portrait_val']} photos) and CCP val split "
        f"({res['n_ccp_val']} photos, held out of training), each image's own resolution, threshold 0.5. "
        f"Person-free: mean fraction of pixels marked person on {', '.join(res['person_free_photos'])}. "
        f"Latency: LiteRT Python interpreter, XNNPACK, {res['threads']} threads, p50 of {res['runs']} "
        "interleaved rounds (all models in one process).",
        "",
        "| model | size (bytes) | MACs (M) | portrait-248 val IoU | CCP val IoU | person-free % | p50 (us) | p90 (us) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        macs = f"{r['macs'] / 1e6:.0f}" if r.get("macs") else "n/a"
        lines.append(f"| {r['model']} | {r['size_bytes']:,} | {macs} | {r['portrait_val_iou']:.4f} | "
                     f"{r['ccp_val_iou']:.4f} | {100 * r['person_free_fraction']:.1f} | "
                     f"{r['latency_p50_us']:.0f} | {r['latency_p90_us']:.0f} |")
    m = res["machine"]
    lines += ["", f"Machine: {m['cpu']} ({m['cores']} cores), {m['os']}.",
              f"Versions: {', '.join(f'{k} {v}' for k, v in res['versions'].items())}.",
              f"Commit: `{res['git_commit']}`, date {res['date']}.", "",
              "![person IoU vs latency, marker area ~ size](mobile_arch.png)", ""]
    if res.get("ablation"):
        lines += ["## Ablation (Keras float, same architecture, seed and sample budget)", "",
                  "| run | recipe | portrait-248 val IoU | CCP val IoU | person-free % | training s |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in res["ablation"]:
            lines.append(f"| {r['run']} | {r['recipe']} | {r['portrait_val_iou']:.4f} | {r['ccp_val_iou']:.4f} | "
                         f"{100 * r['person_free_fraction']:.1f} | {r['training_seconds']:.0f} |")
        lines.append("")
    if res.get("notes"):
        lines += ["Notes:", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(lines)


def pareto_plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        ax.scatter(r["latency_p50_us"] / 1000, r["portrait_val_iou"], s=r["size_bytes"] / 2000, alpha=0.6)
        ax.annotate(r["model"], (r["latency_p50_us"] / 1000, r["portrait_val_iou"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel("p50 latency (ms), LiteRT, 2 threads, interleaved")
    ax.set_ylabel("person IoU, portrait-248 val")
    ax.set_title("IoU vs latency (marker area ~ size in bytes)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=Path, action="append", default=[],
                    help="run folder of a new model (repeat); its RUN/qat int8 is scored too when present")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--commit", default=None)
    ap.add_argument("--skip-parity", action="store_true", help="keep new-model exports that fail parity (debugging)")
    ap.add_argument("--note", action="append", default=[], help="a line for the Markdown notes")
    ap.add_argument("--ablation", type=Path, action="append", default=[],
                    help="run folder scored for accuracy only (Keras float) and added to the ablation table of the "
                         "existing OUT/mobile_arch.json (repeat); no latency runs")
    a = ap.parse_args(argv)
    portrait = SHARED / "data" / "portrait-248"
    ccp = SHARED / "data" / "ccp"
    mp_path = SHARED / "peers" / "mediapipe-selfie" / "selfie_segmentation.tflite"
    if not (portrait.exists() and ccp.exists() and mp_path.exists()):
        print(f"skipped: {portrait}, {ccp} or {mp_path} not found (they live in ../shared)")
        return 0
    import mobile_kit  # noqa: F401
    from portrait_vs_peers import versions

    from mobile_kit.bench.local import git_commit, local_device
    from mobile_kit.eval import evaluate
    from mobile_kit.export import export_model
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.inspect import inspect_model
    from mobile_kit.recipe.sources import SourceSpec, source_split, write_binary_masks
    from mobile_kit.runtime import builtin_model_path, load_segmenter

    tmp = Path(tempfile.mkdtemp(prefix="mobile_arch_"))
    _, ccp_val, _ = source_split(SourceSpec("ccp", ccp), 0.2, 0)
    ccp_dir = write_binary_masks(SourceSpec("ccp", ccp), ccp_val, tmp / "ccp_val")
    free = [SHARED / "photos" / "portrait-tests" / n for n in PERSON_FREE]
    if a.ablation:
        res = json.loads((a.out / "mobile_arch.json").read_text())
        abl = {r["run"]: r for r in res.get("ablation", [])}
        for run in a.ablation:
            meta = json.loads((run / "metadata.json").read_text())
            rec = meta["training"].get("recipe")
            seg = load_segmenter(run)
            on = [k for k in ("extra_sources", "teacher", "unlabelled", "negatives", "copy_paste", "boundary_weight")
                  if rec and rec.get(k)] if rec else []
            abl[run.name] = {"run": run.name, "recipe": ", ".join(on) or "none (portrait-248 only, ce+dice)",
                             "portrait_val_iou": evaluate(seg, portrait, split="val").person_iou,
                             "ccp_val_iou": evaluate(seg, ccp_dir, split="all").person_iou,
                             "person_free_fraction": person_free_fraction(seg, free)["mean"],
                             "training_seconds": meta["training"]["seconds"], "training": meta["training"]}
            print(json.dumps({k: v for k, v in abl[run.name].items() if k != "training"}), flush=True)
        res["ablation"] = list(abl.values())
        res["notes"] = res.get("notes", []) + a.note
        atomic_write_text(a.out / "mobile_arch.json", json.dumps(res, indent=2) + "\n")
        atomic_write_text(a.out / "mobile_arch.md", render_markdown(res))
        print(render_markdown(res))
        return 0
    models: dict[str, tuple[Path, object]] = {}  # name -> (artifact, segmenter)
    macs: dict[str, int] = {}

    def add(name, artifact, seg, keras_src=None):
        models[name] = (Path(artifact), seg)
        if keras_src is not None:
            macs[name] = inspect_model(keras_src, gpu=False).get("macs")

    for run in a.new:
        label = json.loads((run / "metadata.json").read_text()).get("arch", run.name)
        for target in ("tflite-fp32", "tflite-int8"):
            r = export_model(run, target, tmp / f"{run.name}-{target}", data=portrait, split="train",
                             skip_parity=a.skip_parity)
            add(f"{label} {run.name} ({target})", r.artifact, load_segmenter(r.artifact, num_threads=a.threads),
                run / "model.keras")
        qat_int8 = sorted((run / "qat").glob("tflite-int8/model.tflite"))
        if qat_int8:
            add(f"{label} {run.name} (QAT int8)", qat_int8[0], load_segmenter(qat_int8[0], num_threads=a.threads),
                run / "model.keras")
    for target in ("tflite-fp32", "tflite-int8"):
        r = export_model(None, target, tmp / f"builtin-{target}", data=portrait, split="train")
        add(f"built-in {json.loads(r.metadata_path.read_text())['arch']} ({target})", r.artifact,
            load_segmenter(r.artifact, num_threads=a.threads), builtin_model_path())
    add("MediaPipe selfie (float)", mp_path,
        load_segmenter(mp_path, input_norm="0..1", output_kind="sigmoid", num_threads=a.threads))
    prisma = SHARED / "peers" / "prisma-net" / "prisma-net.tflite"
    if prisma.exists():
        add("PrismaNet (float)", prisma,
            load_segmenter(prisma, input_norm="0..1", output_kind="sigmoid", num_threads=a.threads))
    rows = []
    for name, (art, seg) in models.items():
        ev_p = evaluate(seg, portrait, split="val")
        ev_c = evaluate(seg, ccp_dir, split="all")
        pf = person_free_fraction(seg, free)
        rows.append({"model": name, "path": art.name, "size_bytes": art.stat().st_size, "macs": macs.get(name),
                     "portrait_val_iou": ev_p.person_iou, "portrait_val_miou": ev_p.miou,
                     "ccp_val_iou": ev_c.person_iou, "ccp_val_miou": ev_c.miou,
                     "person_free_fraction": pf["mean"], "person_free_per_photo": pf["per_photo"]})
        print(json.dumps(rows[-1]), flush=True)
    lat = interleaved_latency({k: v[0] for k, v in models.items()}, a.threads, a.runs)
    for r in rows:
        r.update(latency_p50_us=lat[r["model"]]["p50"], latency_p90_us=lat[r["model"]]["p90"],
                 latency_min_us=lat[r["model"]]["min"])
    res = {
        "benchmark": "mobile_arch",
        "portrait_split": "val (val_fraction 0.2, seed 0)",
        "ccp_split": "val (val_fraction 0.2, seed 0, pairs sorted by stem; mobile_kit.recipe.sources.source_split)",
        "n_portrait_val": ev_p.n_images,
        "n_ccp_val": len(ccp_val),
        "person_free_photos": list(PERSON_FREE),
        "threads": a.threads,
        "runs": a.runs,
        "latency_method": "interleaved rounds, one invoke per model per round, after 10 warm-up rounds",
        "rows": rows,
        "machine": local_device(),
        "versions": versions(),
        "git_commit": a.commit or git_commit(HERE),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "notes": a.note,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "mobile_arch.json", json.dumps(res, indent=2) + "\n")
    atomic_write_text(a.out / "mobile_arch.md", render_markdown(res))
    pareto_plot(rows, a.out / "mobile_arch.png")
    print(render_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
