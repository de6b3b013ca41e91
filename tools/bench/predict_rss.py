#!/usr/bin/env python3
"""Peak memory of `unet predict` streaming synthetic uint16 TIFFs of growing size.

Usage: predict_rss.py [--unet build/tools/unet] [--sizes 4096,8192,16384] [--model M.unet]
                      [--workdir DIR] [--threads N]

For each size it writes a deflate-compressed, tiled uint16 TIFF of synthetic nuclei (tile by
tile, so the generator itself stays small), runs `unet predict` under /usr/bin/time -v, and prints the
peak resident set size against the float32 size of the input (the target: below 25 % at
16384^2, growing sub-linearly with the image height). Without --model it creates a small
U-Net (depth 3, 8 features) so the run is about streaming, not arithmetic.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[2]


TILE = 256


def synthetic_tiles(size, seed=0):
    """256 x 256 tiles of a nuclei-like uint16 image in row-major order, made one at a time."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:TILE, 0:TILE]
    for y0 in range(0, size, TILE):
        for x0 in range(0, size, TILE):
            blobs = (np.sin((yy + y0) * 0.05) * np.cos((xx + x0) * 0.05)) ** 8 * 3000
            yield (blobs + rng.poisson(200, (TILE, TILE))).astype(np.uint16)


def write_image(path, size):
    part = path.with_suffix(".part")
    with tifffile.TiffWriter(part, bigtiff=size * size * 2 > 3_500_000_000) as tif:
        tif.write(synthetic_tiles(size), shape=(size, size), dtype=np.uint16,
                  compression="zlib", tile=(TILE, TILE), photometric="minisblack")
    part.rename(path)  # only a finished image is reused by later runs


def peak_rss_kib(cmd):
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unet", default=str(ROOT / "build/tools/unet"))
    ap.add_argument("--sizes", default="4096,8192,16384")
    ap.add_argument("--model")
    ap.add_argument("--workdir")
    ap.add_argument("--threads", default="0")
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("needs /usr/bin/time (Debian package 'time')")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="unet-rss-"))
    work.mkdir(parents=True, exist_ok=True)
    model = args.model
    if not model:
        model = str(work / "small.unet")
        cfg = work / "small.json"
        cfg.write_text(json.dumps({"depth": 3, "base_features": 8, "final_activation": "sigmoid"}))
        subprocess.run([args.unet, "create", "--config", str(cfg), "-o", model], check=True,
                       capture_output=True)
    print("%8s %14s %14s %8s %10s" % ("size", "float32 input", "peak RSS", "ratio", "time"))
    for size in [int(s) for s in args.sizes.split(",")]:
        src, dst = work / ("in%d.tif" % size), work / ("out%d.tif" % size)
        if not src.exists():
            write_image(src, size)
        t0 = time.time()
        kib = peak_rss_kib([args.unet, "predict", "--model", model, str(src), "-o", str(dst),
                            "--threads", args.threads, "--quiet", "--type", "uint8"])
        dt = time.time() - t0
        f32 = size * size * 4
        print("%8d %11.0f MiB %11.0f MiB %7.1f%% %9.1fs" % (size, f32 / 2**20, kib / 1024,
                                                         100.0 * kib * 1024 / f32, dt))
        dst.unlink()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
