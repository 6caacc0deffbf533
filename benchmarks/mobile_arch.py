"""The mobile architecture (mbv2_lraspp + recipe) vs the built-in likeunet, MediaPipe selfie, PrismaNet and SINet.

One process, one machine:

- **accuracy** on the portrait-248 val split (val_fraction 0.2, seed 0: the
  split no model of ours trained on), on the CCP val split
  (``mobile_kit.data.splits.CCP_SPLIT``: val_fraction 0.15, seed 0, pairs of
  ``../shared/data/ccp`` sorted by stem, 129 photos; the same photos the
  parsing benchmark scores, and a subset of the 0.2 split the issue-12 runs
  held out, so none of them trained on any; CCP labels read as binary person,
  bags/purses/wallets = person), masks compared at each image's own
  resolution, threshold 0.5;
- **person-free photos**: mean fraction of pixels marked person (p > 0.5) on
  the scene photos of ``../shared/photos/portrait-tests`` without people
  (:data:`PERSON_FREE`);
- **latency**: LiteRT Python interpreter, ``--threads`` threads, XNNPACK;
  every model is invoked once per round, rounds interleaved (``--runs``), so
  background load hits all models alike; p50/p90 in microseconds.

New runs (``--new RUN``) are exported here with the current exporter:
tflite-fp32 and tflite-int8 from ``RUN/model.keras`` and, when ``RUN/qat``
exists, tflite-int8 from the QAT model (each with its standard TFLite metadata
and embedded contract, so the sizes are those of a shipped file). SINet
(``../shared/peers/sinet/SINet.onnx``) is imported through our ONNX importer
as in ``portrait_vs_peers.py`` (about 2 min; ``--skip-sinet``).

The plot (``mobile_arch.png``) is the Pareto view: portrait-248 val IoU
against p50 latency, marker area proportional to the file size, the
non-dominated models (no other is both faster and more accurate) joined.

    python benchmarks/mobile_arch.py --new RUN_DIR   # writes benchmarks/results/mobile_arch.{json,md,png}

Exits with a message (status 0) when ../shared is absent.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's mobile_kit, then portrait_vs_peers
SHARED = HERE.parent.parent / "shared"
#: Scene photos of ../shared/photos/portrait-tests with no person in them (checked by eye).
PERSON_FREE = ("beach.jpg", "blue.jpg", "desert.jpg", "ocean.jpeg", "sky.jpg", "sunset.jpg")


def import_sinet(onnx_path: Path, out: Path, threads: int):
    """SINet imported from ONNX with our importer (onnx2tf), as ``benchmarks/portrait_vs_peers.py`` does.

    Returns ``(tflite_path, segmenter)``. Normalisation is clovaai SINet's:
    ``((pixel - mean) / std) / 255`` per RGB channel; the output is 2-class logits.
    """
    from mobile_kit.importers import import_onnx
    from mobile_kit.runtime import load_segmenter

    mean, std = (107.304565, 115.69884, 132.35703), (63.97182, 65.1337, 68.29726)
    imp = import_onnx(onnx_path, out, scale=tuple(1 / (255 * x) for x in std),
                      offset=tuple(-m / (255 * x) for m, x in zip(mean, std)), output_kind="logits",
                      data=SHARED / "photos" / "p3m")
    return imp.tflite, load_segmenter(imp.tflite, num_threads=threads)


def person_free_fraction(seg, photos: list[Path]) -> dict:
    from mobile_kit.data.dataset import load_image

    fr = {p.name: float((seg.probability(load_image(p)) > 0.5).mean()) for p in photos}
    return {"mean": float(np.mean(list(fr.values()))), "per_photo": fr}


def ablation_budget(training: dict) -> str:
    """``"EPOCHS x SAMPLES"`` of a run's training metadata (samples per epoch: the recipe's epoch size, else n_train)."""
    per_epoch = (training.get("recipe") or {}).get("epoch_size") or training.get("n_train")
    return f"{training.get('epochs', '?')} x {per_epoch or '?'}"


def render_markdown(res: dict) -> str:
    lines = [
        "# Mobile architecture vs built-in and peers",
        "",
        f"Accuracy: portrait-248 val split ({res['n_portrait_val']} photos) and CCP val split "
        f"({res['n_ccp_val']} photos: `mobile_kit.data.splits.CCP_SPLIT`, val_fraction 0.15, seed 0, the same "
        "photos as the parsing benchmark; a subset of the 0.2 split the issue-12 runs held out, so never trained "
        "on), each image's own resolution, threshold 0.5. "
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
              "![person IoU vs latency, marker area ~ size](mobile_arch.png)", "",
              "Pareto front (portrait-248 val IoU vs p50; no other model is both faster and more accurate): "
              + ", ".join(r["model"] for r in pareto_front([r for r in res["rows"]
                                                             if r["model"] not in PLOT_EXCLUDE])) + ".", ""]
    if res.get("ablation"):
        lines += ["## Ablation (Keras float, same architecture and seed; compare rows of the same budget)", "",
                  "| run | recipe (features on) | budget (epochs x samples) | portrait-248 val IoU | CCP val IoU | "
                  "person-free % | training s |", "|---|---|---|---:|---:|---:|---:|"]
        for r in res["ablation"]:
            lines.append(f"| {r['run']} | {r['recipe']} | {ablation_budget(r.get('training') or {})} | "
                         f"{r['portrait_val_iou']:.4f} | {r['ccp_val_iou']:.4f} | "
                         f"{100 * r['person_free_fraction']:.1f} | {r['training_seconds']:.0f} |")
        lines.append("")
    if res.get("notes"):
        lines += ["Notes:", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(lines)


def pareto_front(rows: list[dict]) -> list[dict]:
    """Rows no other row dominates (another is at least as fast and as accurate, and better in one), by latency."""
    def dominated(r):
        return any(o is not r and o["latency_p50_us"] <= r["latency_p50_us"]
                   and o["portrait_val_iou"] >= r["portrait_val_iou"]
                   and (o["latency_p50_us"] < r["latency_p50_us"] or o["portrait_val_iou"] > r["portrait_val_iou"])
                   for o in rows)

    return sorted((r for r in rows if not dominated(r)), key=lambda r: r["latency_p50_us"])


#: Rows left out of the plot (the table keeps them): the built-in's float TFLite, which nobody would ship.
PLOT_EXCLUDE = ("built-in likeunet (tflite-fp32)",)


def pareto_plot(rows: list[dict], path: Path, subtitle: str = "") -> None:
    """Portrait-248 val IoU vs p50 latency (log scale), marker area ~ size in bytes, Pareto front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["model"] not in PLOT_EXCLUDE]
    fig, ax = plt.subplots(figsize=(9.5, 5))
    ours = lambda r: r["model"].startswith(("mbv2", "built-in"))  # noqa: E731
    area = lambda b: b / 4000  # noqa: E731  (points^2 per byte: area proportional to size)
    placed: list[tuple[float, float]] = []
    for r in sorted(rows, key=lambda r: r["latency_p50_us"]):
        x, y = r["latency_p50_us"] / 1000, r["portrait_val_iou"]
        ax.scatter(x, y, s=area(r["size_bytes"]), alpha=0.55, color="tab:blue" if ours(r) else "tab:orange",
                   edgecolors="black", linewidths=0.5, zorder=3)
        near = sum(1 for px, py in placed if abs(py - y) < 0.012 and abs(np.log(px / x)) < 1.2)  # labels run right
        placed.append((x, y))
        ax.annotate(f"{r['model']}, {r['size_bytes'] / 1000:.0f} KB", (x, y), fontsize=6.5,
                    xytext=(7, -3 - 11 * near), textcoords="offset points")
    front = pareto_front(rows)
    ax.plot([r["latency_p50_us"] / 1000 for r in front], [r["portrait_val_iou"] for r in front], "--",
            color="gray", lw=1, label="Pareto front\n(nothing both faster\nand more accurate)")
    for kb in (150, 1000, 3000):
        ax.scatter([], [], s=area(kb * 1000), color="lightgray", edgecolors="black", linewidths=0.5,
                   label=f"{kb:,} KB")
    ax.scatter([], [], s=30, color="tab:blue", label="mobilekit")
    ax.scatter([], [], s=30, color="tab:orange", label="peers")
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    ax.xaxis.set_major_locator(FixedLocator([0.5, 1, 2, 3, 5, 10, 20, 50, 100]))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    lat = [r["latency_p50_us"] / 1000 for r in rows]
    ax.set_xlim(min(lat) / 1.3, max(lat) * 2.2)
    ax.set_xlabel("p50 latency (ms, log scale), LiteRT XNNPACK, 2 threads, interleaved rounds")
    ax.set_ylabel("person IoU, portrait-248 val (50 photos)")
    ax.set_title("IoU vs latency, marker area ~ file size" + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), labelspacing=2.0, borderpad=1.2)
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
    ap.add_argument("--skip-sinet", action="store_true", help="do not import and score SINet (~2 min)")
    ap.add_argument("--plot-subtitle", default="", help="a second title line for the plot (e.g. machine load)")
    ap.add_argument("--render-only", action="store_true",
                    help="re-render OUT/mobile_arch.md and .png from the existing OUT/mobile_arch.json; nothing is run")
    ap.add_argument("--ablation", type=Path, action="append", default=[],
                    help="run folder scored for accuracy only (Keras float) and added to the ablation table of the "
                         "existing OUT/mobile_arch.json (repeat); no latency runs")
    a = ap.parse_args(argv)
    if a.render_only:
        from mobile_kit.fileio import atomic_write_text

        res = json.loads((a.out / "mobile_arch.json").read_text())
        res["plot_subtitle"] = a.plot_subtitle or res.get("plot_subtitle", "")
        atomic_write_text(a.out / "mobile_arch.json", json.dumps(res, indent=2) + "\n")
        atomic_write_text(a.out / "mobile_arch.md", render_markdown(res))
        pareto_plot(res["rows"], a.out / "mobile_arch.png", res["plot_subtitle"])
        return 0
    portrait = SHARED / "data" / "portrait-248"
    ccp = SHARED / "data" / "ccp"
    mp_path = SHARED / "peers" / "mediapipe-selfie" / "selfie_segmentation.tflite"
    if not (portrait.exists() and ccp.exists() and mp_path.exists()):
        print(f"skipped: {portrait}, {ccp} or {mp_path} not found (they live in ../shared)")
        return 0
    import mobile_kit  # noqa: F401
    from portrait_vs_peers import versions

    from mobile_kit.bench import interleaved_latency
    from mobile_kit.bench.local import git_commit, local_device
    from mobile_kit.data.splits import CCP_SPLIT
    from mobile_kit.eval import evaluate
    from mobile_kit.export import export_model
    from mobile_kit.fileio import atomic_write_text
    from mobile_kit.inspect import inspect_model
    from mobile_kit.recipe.sources import SourceSpec, source_split, write_binary_masks
    from mobile_kit.runtime import builtin_model_path, load_segmenter

    tmp = Path(tempfile.mkdtemp(prefix="mobile_arch_"))
    _, ccp_val, _ = source_split(SourceSpec("ccp", ccp), CCP_SPLIT.val_fraction, CCP_SPLIT.seed)
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
        if (run / "qat" / "metadata.json").is_file():  # re-exported: the file as the current exporter ships it
            r = export_model(run / "qat", "tflite-int8", tmp / f"{run.name}-qat-int8", data=portrait, split="train",
                             skip_parity=a.skip_parity)
            add(f"{label} {run.name} (QAT int8)", r.artifact, load_segmenter(r.artifact, num_threads=a.threads),
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
    sinet = SHARED / "peers" / "sinet" / "SINet.onnx"
    if sinet.exists() and importlib.util.find_spec("onnx2tf") and not a.skip_sinet:
        add("SINet (ONNX imported, float)", *import_sinet(sinet, tmp / "sinet", a.threads))
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
    lat = interleaved_latency({k: v[0] for k, v in models.items()}, threads=a.threads, runs=a.runs)
    for r in rows:
        r.update(latency_p50_us=lat[r["model"]]["p50"], latency_p90_us=lat[r["model"]]["p90"],
                 latency_min_us=lat[r["model"]]["min"])
    res = {
        "benchmark": "mobile_arch",
        "portrait_split": "val (val_fraction 0.2, seed 0)",
        "ccp_split": dict(CCP_SPLIT.to_dict(), name="mobile_kit.data.splits.CCP_SPLIT", split="val"),
        "n_portrait_val": ev_p.n_images,
        "n_ccp_val": len(ccp_val),
        "person_free_photos": list(PERSON_FREE),
        "threads": a.threads,
        "runs": a.runs,
        "latency_method": "mobile_kit.bench.interleaved_latency: interleaved rounds, one invoke per model per "
                          "round (fixed random input), after 10 warm-up rounds",
        "rows": rows,
        "machine": local_device(),
        "versions": versions(),
        "git_commit": a.commit or git_commit(HERE),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "notes": a.note,
        "plot_subtitle": a.plot_subtitle,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out / "mobile_arch.json", json.dumps(res, indent=2) + "\n")
    atomic_write_text(a.out / "mobile_arch.md", render_markdown(res))
    pareto_plot(rows, a.out / "mobile_arch.png", a.plot_subtitle)
    print(render_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
