#!/usr/bin/python3
"""Reproduce the built-in default model, models/nuclei.unet, from scratch.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so UNET_CLI=build/tools/unet \\
        /usr/bin/python3 tools/make_default_model.py [--minutes 22] [--threads 2] \\
        [--target foreground|3class] [--out models/nuclei.unet]

1. generates training pairs with `unet sample` (synthetic nuclei, 8- and 16-bit, one scene per
   seed), so the model owes nothing to any real data set;
2. trains a small U-Net with libunet's own trainer for a wall-time budget;
3. picks the post-processing parameters (threshold, watershed min_distance) on fresh synthetic
   images, records them in the model's `output` metadata (what unet_segment reads) and saves;
4. measures instance F1 at IoU 0.5 on real data it never saw: nuclei2d img2d.tif against
   mask2d.tif from the shared data folder (never copied into the project).
The model's `output` metadata also records "diameter": the median equivalent diameter
(sqrt(4 area / pi)) of the training nuclei that do not touch their image's edge, which
unet_segment's automatic scale resizes images to. `--evaluate MODEL` only runs step 4 on an
existing model; `--record-diameter MODEL` regenerates the training labels (same seeds, size and
bits) and records their diameter in MODEL without retraining. The step count comes from the time
budget; the shipped model took 561 steps on 2 threads (seed 0): `--steps 561 --threads 2`
repeats that run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.append(os.path.join(REPO, "bindings", "python"))  # PYTHONPATH first

import unet  # noqa: E402
from unet import post  # noqa: E402
from unet.train import Trainer  # noqa: E402

CONFIGS = {  # small: a few MB, fast enough for click-to-segment on 2 cores
    "foreground": {"depth": 4, "base_features": 16, "block": "cbrcbr",
                   "final_activation": "sigmoid"},
    "3class": {"depth": 4, "base_features": 16, "block": "cbrcbr", "out_channels": 3,
               "final_activation": "softmax"},
}
PREPROCESSING = {"normalize": "percentile", "low": 1, "high": 99.8}
TRAIN_SEEDS, TUNE_SEEDS = 1, 1000000  # disjoint seed ranges: tuning never sees training data


def cli_path():
    path = os.environ.get("UNET_CLI") or os.path.join(REPO, "build", "tools", "unet")
    if not os.path.exists(path):
        sys.exit("no unet CLI at %s (build it, or set UNET_CLI)" % path)
    return path


def generate(cli, seeds, size, folder):
    """(image, labels) pairs from `unet sample`; every third one 8-bit."""
    pairs = []
    for seed in seeds:
        img, lab = (os.path.join(folder, "%d_%s.tif" % (seed, k)) for k in ("img", "lab"))
        bits = "8" if seed % 3 == 0 else "16"
        subprocess.run([cli, "sample", "--size", str(size), "--seed", str(seed), "--bits", bits,
                        "-o", img, "--labels", lab], check=True, stdout=subprocess.DEVNULL)
        pairs.append((tifffile.imread(img), tifffile.imread(lab)))
    return pairs


def training_diameter(label_images):
    """Median equivalent diameter of the nuclei that do not touch their image's edge (those
    are cut, so smaller than they are), over all the training labels."""
    diameters = []
    for lab in label_images:
        edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
        area = np.bincount(lab.ravel()).astype(np.float64)
        area[edge] = 0
        area = area[1:]
        diameters.append(np.sqrt(4 * area[area > 0] / np.pi))
    return float(np.median(np.concatenate(diameters)))


def record_diameter(path, cli, images, size):
    """Record the training diameter of the training set in an existing model."""
    with tempfile.TemporaryDirectory() as folder:
        pairs = generate(cli, range(TRAIN_SEEDS, TRAIN_SEEDS + images), size, folder)
    model = unet.Model.load(path)
    out = dict(model.metadata.get("output", {}))
    out["diameter"] = round(training_diameter(lab for _, lab in pairs), 2)
    model.set_metadata("output", out)
    model.save(path)
    print("%s: output diameter %.2f px (median over %d training images)"
          % (path, out["diameter"], len(pairs)))


def separate_touching(labels):
    """Foreground target with a 1-px background gap where two nuclei touch (the higher label
    gives way), so the network learns to keep touching nuclei apart."""
    out = labels.copy()
    for axis in (0, 1):
        for shift in (1, -1):
            nb = np.roll(labels, shift, axis=axis)
            edge = [slice(None)] * 2
            edge[axis] = 0 if shift == 1 else -1
            nb[tuple(edge)] = 0  # no wrap-around
            out[(labels > 0) & (nb > 0) & (nb < labels)] = 0
    return out


def options(target, steps, threads, seed):
    opts = dict(steps=steps, batch=4, patch=128, lr=2e-3, schedule="cosine", warmup=50,
                threads=threads, seed=seed, fg_bias=0.5, aug_elastic=0.3, aug_gamma=0.3,
                val_every=max(steps // 8, 1))
    if target == "foreground":
        opts.update(loss="bce+dice", target="foreground", border_weights=True, w0=5, sigma=3)
    else:
        opts.update(loss="ce", target="3class", class_weights="1,1,2")
    return opts


def segment(model, image, out, threads=2):
    """Instance labels as the model's output metadata says (what unet_segment does)."""
    prob = model.predict(image, threads=threads)
    if out.get("target") == "3class":
        labels, _ = post.labels_from_3class(prob, threads=threads)
    else:
        mask = post.threshold(prob[0], out.get("threshold", 0.5), threads=threads)
        labels, _ = post.watershed(mask, min_distance=out.get("min_distance", 4),
                                   threads=threads)
    labels, n = post.filter_sizes(labels, min_size=out.get("min_size", 16))
    return labels, n


def tune(model, pairs, target, threads):
    """Post-processing parameters with the best mean F1 on synthetic images."""
    base = {"type": "probability", "task": "segmentation", "target": target,
            "min_size": 16}
    if target == "3class":
        grid = [dict(base, postprocess="3class")]
    else:
        grid = [dict(base, postprocess="watershed", threshold=t, min_distance=d)
                for t in (0.4, 0.5, 0.6) for d in (3, 4, 5, 6, 8)]
    probs = [model.predict(img, threads=threads) for img, _ in pairs]
    best = None
    for out in grid:
        f1s = []
        for prob, (_, lab) in zip(probs, pairs):
            if target == "3class":
                labels, _ = post.labels_from_3class(prob, threads=threads)
            else:
                mask = post.threshold(prob[0], out["threshold"], threads=threads)
                labels, _ = post.watershed(mask, min_distance=out["min_distance"],
                                           threads=threads)
            labels, _ = post.filter_sizes(labels, min_size=out["min_size"])
            f1s.append(post.instance_f1(labels, lab).f1)
        score = float(np.mean(f1s))
        if best is None or score > best[0]:
            best = (score, out)
    return best


def evaluate(model, data_dir, threads):
    img = tifffile.imread(os.path.join(data_dir, "nuclei2d", "img2d.tif"))
    truth = tifffile.imread(os.path.join(data_dir, "nuclei2d", "mask2d.tif"))
    out = model.metadata.get("output", {})
    labels, n = segment(model, img, out, threads)
    m = post.instance_f1(labels, truth)
    fg = labels > 0
    iou = (fg & (truth > 0)).sum() / max((fg | (truth > 0)).sum(), 1)
    print("nuclei2d (real, never seen): %d objects (%d true), foreground IoU %.3f, "
          "instance F1@0.5 %.4f (tp %d, fp %d, fn %d)"
          % (n, len(np.unique(truth)) - 1, iou, m.f1, m.tp, m.fp, m.fn), flush=True)
    return m.f1


def train(args, cli, folder):
    t_start = time.time()
    print("generating %d training + %d validation images of %d px with %s"
          % (args.images, args.val_images, args.size, cli), flush=True)
    train_pairs = generate(cli, range(TRAIN_SEEDS, TRAIN_SEEDS + args.images), args.size, folder)
    val_pairs = generate(cli, range(TUNE_SEEDS, TUNE_SEEDS + args.val_images), args.size, folder)
    prep = separate_touching if args.target == "foreground" else (lambda lab: lab)

    def add_all(t):
        for img, lab in train_pairs:
            t.add(img, prep(lab), split="train")
        for img, lab in val_pairs[:4]:
            t.add(img, prep(lab), split="val")

    cfg = CONFIGS[args.target]
    steps = args.steps
    if steps <= 0:  # time a throwaway run; keep a margin for tuning and evaluation
        with Trainer(unet.Model.create(cfg, seed=args.seed),
                     **options(args.target, 1000, args.threads, args.seed)) as t:
            add_all(t)
            t.step(2)
            t0 = time.time()
            t.step(6)
            per_step = (time.time() - t0) / 6
        budget = args.minutes * 60 - (time.time() - t_start) - 60
        steps = max(int(budget * 0.92 / per_step), 20)
        print("timing: %.3f s/step on %d threads -> %d steps" % (per_step, args.threads, steps))
    deadline = t_start + args.minutes * 60 - 45

    def report(step, total, loss, metric):
        if step % 100 == 0 or step == total:
            print("  step %5d/%d  loss %.4f  val %.4f  (%.0f s)"
                  % (step, total, loss, metric, time.time() - t_start), flush=True)
        return time.time() > deadline  # stop in time whatever the estimate said

    model = unet.Model.create(cfg, seed=args.seed)
    with Trainer(model, progress=report, **options(args.target, steps, args.threads,
                                                   args.seed)) as t:
        add_all(t)
        try:
            t.train()
        except unet.Cancelled:
            print("  stopped at the time budget, step %d" % t.progress[0])
        t.save(args.out)
    model = unet.Model.load(args.out)
    score, out = tune(model, val_pairs, args.target, args.threads)
    print("synthetic validation (%d images): mean instance F1 %.4f with %s"
          % (len(val_pairs), score, json.dumps(out)))
    out["diameter"] = round(training_diameter(lab for _, lab in train_pairs), 2)
    model.set_metadata("output", out)
    model.set_metadata("preprocessing", PREPROCESSING)
    meta = model.metadata.get("training", {})
    meta["data"] = {"source": "unet sample (synthetic), seeds %d..%d, %d px"
                    % (TRAIN_SEEDS, TRAIN_SEEDS + args.images - 1, args.size)}
    model.set_metadata("training", meta)
    model.save(args.out)
    print("saved %s (%.1f MB) after %.1f min" % (args.out, os.path.getsize(args.out) / 1e6,
                                                 (time.time() - t_start) / 60))
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data")))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "nuclei.unet"))
    ap.add_argument("--target", choices=sorted(CONFIGS), default="foreground")
    ap.add_argument("--minutes", type=float, default=22.0, help="wall-time budget")
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (0: from budget)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=300, help="training images")
    ap.add_argument("--val-images", type=int, default=12, help="synthetic tuning images")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--evaluate", metavar="MODEL", help="only measure MODEL on nuclei2d")
    ap.add_argument("--record-diameter", metavar="MODEL",
                    help="only record the training diameter in MODEL's output metadata")
    args = ap.parse_args()
    if args.record_diameter:
        record_diameter(args.record_diameter, cli_path(), args.images, args.size)
        return 0
    if args.evaluate:
        evaluate(unet.Model.load(args.evaluate), args.data, args.threads)
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        model = train(args, cli_path(), folder)
    f1 = evaluate(model, args.data, args.threads)
    print("RESULT: %s (target F1 >= 0.80)" % ("PASS" if f1 >= 0.80 else "FAIL"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
