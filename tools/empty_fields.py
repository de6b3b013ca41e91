#!/usr/bin/python3
"""Empty means empty (issue 15, point 4): how many objects `unet segment` finds in fields that
hold no nuclei.

    UNET_CLI=build/tools/unet /usr/bin/python3 tools/empty_fields.py [--model M.unet] \\
        [--images 20] [--size 512] [--threads 1] [--kinds flat,ramp,haze,debris,noise]

For every background kind of the wide sample scene (flat, ramp, haze, debris, noise; see
`unet sample --help`) it writes --images fields with `unet sample --nuclei 0 --background KIND`
(seeds from 2000000 on: never among the training seeds of tools/make_default_model.py) and
segments each as a user would, `unet segment IN -o OUT` (the built-in model unless --model),
then prints the object count of every image and the mean and largest count per kind. The
target is at most --most (2) objects in every 512^2 field; the exit status is 0 only when
every image meets it.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import tifffile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("flat", "ramp", "haze", "debris", "noise")
FIRST_SEED = 2000000  # training uses seeds below 1000000 (tools/make_default_model.py)


def cli_path():
    path = os.environ.get("UNET_CLI") or os.path.join(REPO, "build", "tools", "unet")
    if not os.path.exists(path):
        sys.exit("no unet CLI at %s (build it, or set UNET_CLI)" % path)
    return path


def count_objects(cli, kinds=KINDS, images=20, size=512, model=None, threads=1, folder=None,
                  report=None):
    """{kind: [objects found in each field]}: `unet segment` on `images` empty fields of each
    kind. report(kind, seed, count) is called after every image when given."""
    counts = {}
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        img, out = os.path.join(tmp, "field.tif"), os.path.join(tmp, "labels.tif")
        for kind in kinds:
            counts[kind] = []
            for seed in range(FIRST_SEED, FIRST_SEED + images):
                subprocess.run([cli, "sample", "--nuclei", "0", "--background", kind,
                                "--seed", str(seed), "--size", str(size), "-o", img],
                               check=True, stdout=subprocess.DEVNULL)
                args = [cli, "segment", img, "-o", out, "--threads", str(threads), "--quiet"]
                if model:
                    args += ["--model", model]
                subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
                n = int(np.count_nonzero(np.unique(tifffile.imread(out))))
                counts[kind].append(n)
                if report:
                    report(kind, seed, n)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a .unet model (default: the built-in one)")
    ap.add_argument("--images", type=int, default=20, help="fields per kind")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--most", type=int, default=2, help="target: objects per field at most")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        sys.exit("unknown kind(s) %s (known: %s)" % (", ".join(bad), ", ".join(KINDS)))
    counts = count_objects(cli_path(), kinds, args.images, args.size, args.model, args.threads,
                           report=lambda k, s, n: print("  %-6s seed %d: %d objects"
                                                        % (k, s, n), flush=True))
    print("model: %s; %d fields of %d^2 per kind" % (args.model or "built-in", args.images,
                                                      args.size))
    ok = True
    for kind, c in counts.items():
        over = sum(n > args.most for n in c)
        ok = ok and over == 0
        print("%-6s mean %7.1f  max %5d  fields over %d: %d of %d"
              % (kind, np.mean(c), max(c), args.most, over, len(c)))
    print("RESULT: %s (target: at most %d objects in every field)"
          % ("PASS" if ok else "FAIL", args.most))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
