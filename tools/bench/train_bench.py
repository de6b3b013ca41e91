#!/usr/bin/env python3
"""Training step time, build against build (a change to the training kernels must not be slower).

    python3 tools/bench/train_bench.py --build before=/tmp/rel-old/build \\
        --build after=build-release [--target 3class|foreground] [--steps 20] [--threads 2] \\
        [--rounds 5]

Every build is a meson build folder (release builds for figures); each run is a fresh Python
process that loads that build's library through this tree's binding, makes the built-in
model's architecture (depth 4, base 16; --target picks the 3-class or the foreground head and
loss, as tools/make_default_model.py trains them), adds 16 `unet sample` images of 256^2,
takes 2 untimed steps and times --steps more (batch 4, patch 192). Builds run interleaved
(A, B, A, B, ...) for --rounds rounds; the table gives each build's median seconds per step and
the ratio to the first build. Machines are shared: quote medians and ratios, and run nothing else
meanwhile.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADS = {
    "3class": ({"out_channels": 3, "final_activation": "softmax"},
               {"loss": "ce", "target": "3class"}),
    "foreground": ({"final_activation": "sigmoid"},
                   {"loss": "bce+dice", "target": "foreground", "border_weights": True}),
}


def worker(spec):
    """In the worker process: seconds per training step on the build UNET_LIBRARY names."""
    spec = json.loads(spec)
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import unet
    from unet.train import Trainer
    head, train_opts = HEADS[spec["target"]]
    cfg = dict({"depth": 4, "base_features": 16, "block": "cbrcbr"}, **head)
    model = unet.Model.create(cfg, seed=0)
    with Trainer(model, steps=1000, batch=4, patch=192, lr=2e-3, threads=spec["threads"],
                 seed=0, **train_opts) as t:
        for seed in range(1, 17):
            image, labels = unet.sample(256, seed=seed)
            t.add(image, labels, split="train")
        t.step(2)
        t0 = time.perf_counter()
        t.step(spec["steps"])
        print((time.perf_counter() - t0) / spec["steps"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="append", default=[], metavar="NAME=DIR",
                    help="a meson build folder (two or more; the first is the reference)")
    ap.add_argument("--target", choices=sorted(HEADS), default="3class")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if len(args.build) < 2:
        sys.exit("give two or more --build NAME=DIR")
    builds = []
    for spec in args.build:
        name, _, folder = spec.partition("=")
        lib = os.path.join(folder, "lib", "libunet.so")
        if not folder or not os.path.exists(lib):
            sys.exit("--build %s: no %s" % (spec, lib))
        builds.append((name, lib))
    spec = json.dumps({"target": args.target, "steps": args.steps, "threads": args.threads})
    times = {name: [] for name, _ in builds}
    for _ in range(args.rounds):
        for name, lib in builds:
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", spec],
                               capture_output=True, text=True,
                               env=dict(os.environ, UNET_LIBRARY=lib))
            if p.returncode != 0:
                sys.exit("worker on %s failed (%d): %s" % (name, p.returncode, p.stderr.strip()))
            times[name].append(float(p.stdout.strip().splitlines()[-1]))
    print("training steps (%s head, batch 4, patch 192, %d threads), %d timed steps, %d "
          "interleaved rounds, %d CPUs" % (args.target, args.threads, args.steps, args.rounds,
                                           os.cpu_count()))
    ref = statistics.median(times[builds[0][0]])
    for name, _ in builds:
        med = statistics.median(times[name])
        print("%-12s %8.3f s/step  (min %.3f)  ratio %.3f" % (name, med, min(times[name]),
                                                             med / ref))
    return 0


if __name__ == "__main__":
    sys.exit(main())
