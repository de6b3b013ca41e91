#!/usr/bin/python3
"""Issue 15's point-1 ablation: a 3-class model's instances seeded from its predicted classes
(interiors grown over boundaries, what `unet segment` does) against seeds from distance-
transform maxima of its foreground (interior + boundary), the one-channel path, on the same
probabilities at the same scale.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so \\
        /usr/bin/python3 tools/ablation_seeds.py --model M.unet [--min-distance 4] [--json F]

Both arms share one pipeline written here (scipy resampling: bilinear in, nearest back), so
they differ in the seeds alone; its figures are close to, not equal to, `unet segment`'s. The
scale is the automatic one (Model.segment_scale). The data is read from ../shared/data
(nuclei-val, REPORT ONLY: nothing is chosen on it; min_distance is the one-channel path's
default, 4) and nuclei2d.
"""

import argparse
import json
import os
import sys

import numpy as np
import tifffile
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.append(os.path.join(os.path.dirname(HERE), "bindings", "python"))  # PYTHONPATH first

import unet  # noqa: E402
import unet.segment  # noqa: E402,F401 - adds Model.segment_scale
from unet import post  # noqa: E402
from eval_nuclei_val import image_pairs  # noqa: E402 - beside this file


def instances(model, image, min_distance, min_size, threads):
    """{arm: labels on the image's grid}."""
    scale = model.segment_scale(image, threads=threads)
    x = image.astype(np.float32)
    if scale != 1:
        x = ndimage.zoom(x, scale, order=1, mode="nearest")
    prob = model.predict(x, threads=threads)
    arms = {"classes": post.labels_from_3class(prob, threads=threads)[0]}
    mask = post.threshold(1 - prob[0], 0.5, threads=threads)  # foreground: not background
    arms["distance"] = post.watershed(mask, min_distance=min_distance, threads=threads)[0]
    out = {}
    for arm, labels in arms.items():
        labels, _ = post.filter_sizes(labels, min_size=min_size)
        if scale != 1:  # nearest neighbour back onto the image's grid
            zy = np.minimum((np.arange(image.shape[0]) + 0.5) * labels.shape[0]
                            / image.shape[0], labels.shape[0] - 1).astype(int)
            zx = np.minimum((np.arange(image.shape[1]) + 0.5) * labels.shape[1]
                            / image.shape[1], labels.shape[1] - 1).astype(int)
            labels = labels[np.ix_(zy, zx)]
        out[arm] = post.relabel(labels)[0]
    return scale, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared",
                                         "data")))
    ap.add_argument("--min-distance", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    model = unet.Model.load(args.model)
    if model.metadata.get("output", {}).get("target") != "3class":
        sys.exit("%s is not a 3-class model" % args.model)
    min_size = int(model.metadata["output"].get("min_size", 16))
    rows = []
    for name, image, truth in image_pairs(args.data):
        img = tifffile.imread(image)
        if img.ndim == 3:  # colour with R = G = B (the channel rule takes the channel)
            img = img[..., 0]
        truth = tifffile.imread(truth)
        scale, arms = instances(model, img, args.min_distance, min_size, args.threads)
        row = {"image": name, "scale": scale}
        for arm, labels in arms.items():
            row[arm] = post.instance_f1(labels, truth).f1
        rows.append(row)
        print("%-8s scale %.3g  classes F1 %.3f  distance F1 %.3f"
              % (name, scale, row["classes"], row["distance"]), flush=True)
    val = [r for r in rows if r["image"] != "nuclei2d"]
    for arm in ("classes", "distance"):
        f1 = [r[arm] for r in val]
        print("%-9s nuclei-val mean F1 %.3f, below 0.75: %d, worst %.3f; nuclei2d %.3f"
              % (arm, np.mean(f1), sum(v < 0.75 for v in f1), min(f1), rows[-1][arm]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
