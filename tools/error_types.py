#!/usr/bin/python3
"""What `unet segment` gets wrong on nuclei-val and nuclei2d, by kind: of the true nuclei not
matched at IoU 0.5, how many were merged with a neighbour, split, missed or outlined too
loosely; of the objects not matched, how many lie mostly on background.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so UNET_CLI=build/tools/unet \\
        /usr/bin/python3 tools/error_types.py [--model M.unet] [--threads 2] [-- EXTRA ARGS]

A missed true nucleus is
  merged  when the object overlapping it most also holds most of another true nucleus,
  split   when two or more objects lie mostly (over half their area) inside it,
  missed  when no object overlaps it by IoU 0.1,
  loose   otherwise (an object overlaps it, but with IoU under 0.5).
An unmatched object is "on background" when over half of it lies outside every true nucleus.
nuclei-val is REPORT ONLY (nothing is chosen on it): this says where a model fails, so the
next training recipe can aim at it; it chooses no setting.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.append(os.path.join(os.path.dirname(HERE), "bindings", "python"))  # PYTHONPATH first

from unet import post  # noqa: E402
from eval_nuclei_val import cli_path, image_pairs, segment  # noqa: E402 - beside this file

KINDS = ("merged", "split", "missed", "loose")


def error_kinds(pred, truth):
    """{tp, fp, fp_background, fn, merged, split, missed, loose} of one image."""
    (pred, P), (truth, T) = post.relabel(pred), post.relabel(truth)  # true files skip ids
    pred, truth = pred.astype(np.int64), truth.astype(np.int64)
    overlap = np.bincount(truth.ravel() * (P + 1) + pred.ravel(),
                          minlength=(T + 1) * (P + 1)).reshape(T + 1, P + 1)
    area_t, area_p = overlap.sum(1), overlap.sum(0)
    inter = overlap[1:, 1:]
    iou = inter / np.maximum(area_t[1:, None] + area_p[None, 1:] - inter, 1)
    matched = iou > 0.5  # at most one match per row and column at IoU > 0.5
    out = dict.fromkeys(KINDS, 0)
    out.update(tp=int(matched.sum()), fn=int(T - matched.sum()), fp=int(P - matched.sum()))
    inside_share = inter / np.maximum(area_p[None, 1:], 1)  # of each object, inside nucleus t
    held_share = inter / np.maximum(area_t[1:, None], 1)  # of each nucleus, inside object p
    for t in np.flatnonzero(~matched.any(1)):
        best = int(iou[t].argmax()) if P else -1
        if P and (held_share[:, best] > 0.5).sum() >= 2:
            out["merged"] += 1
        elif (inside_share[t] > 0.5).sum() >= 2:
            out["split"] += 1
        elif not P or iou[t, best] < 0.1:
            out["missed"] += 1
        else:
            out["loose"] += 1
    unmatched = np.flatnonzero(~matched.any(0))
    out["fp_background"] = int((overlap[0, 1:][unmatched] > 0.5 * area_p[1:][unmatched]).sum())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared",
                                         "data")))
    ap.add_argument("--model", help="a .unet model (default: the built-in one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("extra", nargs="*", help="more arguments of unet segment (after --)")
    args = ap.parse_args()
    extra = (["--model", args.model] if args.model else []) + args.extra
    cli = cli_path()
    total = {}
    print("%-8s %5s %5s %5s %5s (bg) | %6s %5s %6s %5s  F1" % (
        "image", "true", "tp", "fn", "fp", *KINDS))
    with tempfile.TemporaryDirectory() as folder:
        for name, image, truth in image_pairs(args.data):
            labels = segment(cli, image, os.path.join(folder, "l.tif"), extra, args.threads)[0]
            e = error_kinds(labels, tifffile.imread(truth))
            f1 = 2 * e["tp"] / max(2 * e["tp"] + e["fp"] + e["fn"], 1)
            print("%-8s %5d %5d %5d %5d (%3d) | %6d %5d %6d %5d  %.3f" % (
                name, e["tp"] + e["fn"], e["tp"], e["fn"], e["fp"], e["fp_background"],
                *[e[k] for k in KINDS], f1), flush=True)
            if name != "nuclei2d":
                for k, v in e.items():
                    total[k] = total.get(k, 0) + v
    print("nuclei-val: %d true nuclei, %d matched; missed ones: %s; %d objects unmatched, %d of "
          "them on background" % (total["tp"] + total["fn"], total["tp"], ", ".join(
              "%s %d" % (k, total[k]) for k in KINDS), total["fp"], total["fp_background"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
