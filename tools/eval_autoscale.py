#!/usr/bin/python3
"""The automatic scale on the data its constants were chosen on: `unet sample` images (seeds
outside the training range, 256 and 384 px) resampled by 0.5, 1, 2 and 3, and nuclei2d at 0.5,
1 and 2 times its size. Never validation data.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so \\
        /usr/bin/python3 tools/eval_autoscale.py [--seeds 12] [--threads 2] [--f1]

For each image: the true median equivalent diameter (labels not touching the edge), the
diameter lib/segment/autoscale.c measures (Model.segment_scale: the model's training diameter
/ the scale), and with --f1 the instance F1 at IoU 0.5 of Model.segment at the automatic scale
and at scale 1. Summary: how many estimates lie within 15% of the truth (scales capped at 2
count against the capped truth), mean F1 of both.
"""

import argparse
import os
import sys

import numpy as np
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.append(os.path.join(REPO, "bindings", "python"))  # PYTHONPATH first

import unet  # noqa: E402
from unet import post  # noqa: E402

TUNE_SEEDS = 1000000  # make_default_model.py trains on seeds 1..300


def true_diameter(labels):
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    area = np.bincount(labels.ravel()).astype(np.float64)
    area[edge] = 0
    area = area[1:]
    return float(np.median(np.sqrt(4 * area[area > 0] / np.pi)))


def resampled(image, labels, factor, rng):
    """Another pixel size: 2 x 2 means for 0.5; bilinear with the image's pixel noise put
    back for enlargements (interpolation alone would make it smooth)."""
    x = image.astype(np.float32)
    if factor == 1:
        return x, labels
    if factor == 0.5:
        h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
        return (x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)),
                labels[:h:2, :w:2])
    up = ndimage.zoom(x, factor, order=1)
    diff = np.diff(x, axis=1)
    sigma = 1.4826 * np.median(np.abs(diff - np.median(diff))) / np.sqrt(2)
    up += rng.normal(0, sigma, up.shape).astype(np.float32)
    return up, ndimage.zoom(labels, factor, order=0)


def cases(data, seeds):
    rng = np.random.default_rng(7)
    import tifffile
    img = tifffile.imread(os.path.join(data, "nuclei2d", "img2d.tif"))
    lab = tifffile.imread(os.path.join(data, "nuclei2d", "mask2d.tif"))
    for f in (0.5, 1, 2):
        yield ("nuclei2d x%g" % f,) + resampled(img, lab, f, rng)
    for seed in range(TUNE_SEEDS, TUNE_SEEDS + seeds):
        img, lab = unet.sample(256 if seed % 2 else 384, seed, 16 if seed % 3 else 8)
        for f in (0.5, 1, 2, 3):
            yield ("sample %d x%g" % (seed, f),) + resampled(img, lab, f, rng)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data")))
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--f1", action="store_true", help="also F1 at auto scale and at scale 1")
    args = ap.parse_args()
    within, total, f1_auto, f1_one = 0, 0, [], []
    with unet.Model.builtin() as m:
        D = m.metadata["output"]["diameter"]
        for name, image, labels in cases(args.data, args.seeds):
            d = true_diameter(labels)
            scale = m.segment_scale(image, threads=args.threads)
            want = min(max(D / d, 0.05), 2.0)
            ok = abs(scale / want - 1) < 0.15
            within += ok
            total += 1
            line = "%-20s true %6.1f px  measured %6.1f px  scale %.3f (truth %.3f)%s" % (
                name, d, D / scale, scale, want, "" if ok else "  <- off by more than 15%")
            if args.f1:
                a = post.instance_f1(m.segment(image, threads=args.threads), labels).f1
                b = post.instance_f1(m.segment(image, scale=1, threads=args.threads), labels).f1
                f1_auto.append(a)
                f1_one.append(b)
                line += "  F1 auto %.3f, scale 1 %.3f" % (a, b)
            print(line, flush=True)
    print("within 15%%: %d of %d" % (within, total))
    if args.f1:
        print("mean F1: auto %.4f, scale 1 %.4f" % (np.mean(f1_auto), np.mean(f1_one)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
