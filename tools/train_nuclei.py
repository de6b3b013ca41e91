#!/usr/bin/python3
"""Proof that libunet learns: a U-Net from scratch on ../shared/data/nuclei2d, trained on the
left three quarters of img2d.tif and validated on the right quarter against mask2d.tif.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so \\
        /usr/bin/python3 tools/train_nuclei.py [--minutes 10] [--threads 2] [--out nuclei.unet]

Prints the validation curve and the final figures: foreground IoU and Dice on the right
quarter (as the trainer validates it, and again from a whole-image prediction cropped to that
quarter), instance F1 at IoU 0.5 after connected components, steps, and wall time. The step
count is chosen from a short timing run so training ends within the time budget.
"""

import argparse
import os
import sys
import time

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))

import unet  # noqa: E402
from unet.train import Trainer  # noqa: E402

CONFIG = {"depth": 4, "base_features": 16, "block": "cbrcbr", "final_activation": "sigmoid"}


def options(args, steps):
    return dict(steps=steps, batch=4, patch=args.patch, lr=3e-3, schedule="cosine", warmup=20,
                loss="bce+dice", val_fraction=0.25, val_every=max(steps // 10, 1),
                threads=args.threads, seed=args.seed, fg_bias=0.5, aug_elastic=0.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared",
                                         "data")))
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget (default 10)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=0, help="fixed step count (0: from budget)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="save the trained model here")
    args = ap.parse_args()

    img = tifffile.imread(os.path.join(args.data, "nuclei2d", "img2d.tif"))
    mask = tifffile.imread(os.path.join(args.data, "nuclei2d", "mask2d.tif"))
    w = img.shape[1]
    split = int(round(w * 0.75))
    print("data: %s %s, labels %d nuclei; train columns [0, %d), validate [%d, %d)"
          % (img.shape, img.dtype, len(np.unique(mask)) - 1, split, split, w))

    t_start = time.time()
    steps = args.steps
    if steps <= 0:  # time a few steps of a throwaway run, leave a margin for validation
        probe = unet.Model.create(CONFIG, seed=args.seed)
        with Trainer(probe, **options(args, 1000)) as t:
            t.add(img, mask)
            t.step(2)
            t0 = time.time()
            t.step(4)
            per_step = (time.time() - t0) / 4
        budget = args.minutes * 60 - (time.time() - t_start)
        steps = max(int(budget * 0.85 / per_step), 10)
        print("timing: %.3f s/step at %d threads -> %d steps" % (per_step, args.threads, steps))

    model = unet.Model.create(CONFIG, seed=args.seed)
    curve = []

    def report(step, total, loss, metric):
        if curve and curve[-1][2] == metric or np.isnan(metric):
            return False
        curve.append((step, loss, metric))
        print("  step %5d/%d  train loss %.4f  val IoU %.4f  (%.0f s)"
              % (step, total, loss, metric, time.time() - t_start), flush=True)
        return False

    with Trainer(model, progress=report, **options(args, steps)) as t:
        t.add(img, mask)
        t.train()
        m = t.metrics
        if args.out:
            t.save(args.out)
    elapsed = time.time() - t_start

    # Independent check: whole-image prediction with the saved preprocessing, right quarter.
    prob = model.predict(img, threads=args.threads)[0]
    pred, truth = prob[:, split:] > 0.5, mask[:, split:] > 0
    inter, union = (pred & truth).sum(), (pred | truth).sum()
    print()
    print("trained %d steps (batch 4, %dx%d patches) in %.1f s (%.1f min) on %d threads"
          % (steps, args.patch, args.patch, elapsed, elapsed / 60, args.threads))
    print("validation (right quarter, as the trainer validates): IoU %.4f  Dice %.4f  "
          "instance F1@0.5 %.4f (%d predicted, %d true objects)"
          % (m["iou"], m["dice"], m["f1"], m["instances_pred"], m["instances_true"]))
    print("whole-image prediction cropped to the right quarter: IoU %.4f  Dice %.4f"
          % (inter / union, 2 * inter / (pred.sum() + truth.sum())))
    print("best validation IoU %.4f at step %d" % (m["best_value"], m["best_step"]))
    ok = m["iou"] >= 0.75 and elapsed <= args.minutes * 60
    print("RESULT: %s (target: IoU >= 0.75 within %.0f min)" % ("PASS" if ok else "FAIL",
                                                               args.minutes))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
