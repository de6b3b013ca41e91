#!/usr/bin/env python3
"""The fast engine's forward pass, build against build (a refactor must not be slower).

    python3 tools/bench/net_compare.py --build before=/tmp/rel-old/build \\
        --build after=build-release [--sizes 512] [--threads 1 2] [--rounds 7] [--reps 5]

Every build is a meson build folder with tools/unet-bench (`meson compile -C B unet-bench`;
release builds for figures). For each size and thread count the builds run `unet-bench net`
interleaved (A, B, A, B, ...) for ROUNDS rounds; each run prints the median of its REPS passes.
The table gives each build's median over the rounds (wall and CPU time per thread) and the ratio
to the first build. Machines are shared: quote medians and ratios, and run nothing else meanwhile.
"""

import argparse
import os
import statistics
import subprocess
import sys


def net_result(exe, size, threads, reps):
    """unet-bench net's RESULT line as a dict."""
    out = subprocess.run([exe, "net", "--size", str(size), "--threads", str(threads),
                          "--reps", str(reps)], check=True, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    raise RuntimeError("%s printed no RESULT line" % exe)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="append", required=True, metavar="NAME=DIR",
                    help="a meson build folder (two or more; the first is the reference)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    builds = []
    for spec in args.build:
        name, _, folder = spec.partition("=")
        exe = os.path.join(folder, "tools", "unet-bench")
        if not folder or not os.path.exists(exe):
            sys.exit("--build %s: no %s (meson compile -C %s unet-bench)" % (spec, exe, folder))
        builds.append((name, exe))
    print("unet-bench net, %d interleaved rounds of %d passes each, %d CPUs"
          % (args.rounds, args.reps, os.cpu_count()))
    print("%-6s %-7s %-12s %10s %10s %7s" % ("size", "threads", "build", "median ms",
                                              "cpu ms/thr", "ratio"))
    for size in args.sizes:
        for threads in args.threads:
            wall = {name: [] for name, _ in builds}
            cpu = {name: [] for name, _ in builds}
            for _ in range(args.rounds):
                for name, exe in builds:
                    r = net_result(exe, size, threads, args.reps)
                    wall[name].append(float(r["ms"]))
                    cpu[name].append(float(r["cpu_ms"]))
            ref = statistics.median(wall[builds[0][0]])
            for name, _ in builds:
                med = statistics.median(wall[name])
                print("%-6d %-7d %-12s %10.1f %10.1f %7.3f" % (
                    size, threads, name, med, statistics.median(cpu[name]), med / ref))
    return 0


if __name__ == "__main__":
    sys.exit(main())
