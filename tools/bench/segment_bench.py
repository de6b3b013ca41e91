#!/usr/bin/env python3
"""`unet segment` wall time, build against build, quiet or under load (issues 15 and 18).

    python3 tools/bench/segment_bench.py --build before=/tmp/rel-old/build \\
        --build after=build-release [--extra "after=--scale 1"] [--size 2048] \\
        [--threads 0 1 2] [--busy 0 1 2] [--rounds 7]

Every build is a meson build folder (its tools/unet is run; release builds for figures). The
image is one `unet sample` scene of SIZE x SIZE made by the first build, so every build segments
the same pixels. For each number of busy background processes (a Python spin loop each, started
before and stopped after that block) and each thread count (0 = the CLI's default), the builds
run interleaved (A, B, A, B, ...) for ROUNDS rounds; the table gives each build's median and
minimum, the ratio to the first build, and the object count (a speed change must not change the
labels: compare the counts, and the labels with --compare). Machines are shared: quote medians
and ratios, and run nothing else meanwhile.
"""

import argparse
import multiprocessing
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def spin(stop):
    """A busy background process: one core's worth of pure computation until told to stop."""
    x = 0
    while not stop.is_set():
        for _ in range(100000):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def run_segment(cli, image, labels, threads, extra=()):
    cmd = [cli, "segment", image, "-o", labels, "--quiet"] + list(extra)
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    count = int(p.stdout.strip().rsplit(":", 1)[1].split()[0])
    return elapsed, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", action="append", required=True, metavar="NAME=DIR",
                    help="a meson build folder, labelled NAME (repeat; the first is the base)")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=ARGS",
                    help="more `unet segment` arguments for the build NAME (e.g. after='--scale "
                         "1', to time a build with automatic scale at the older builds' scale)")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[0])
    ap.add_argument("--busy", type=int, nargs="+", default=[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--compare", action="store_true",
                    help="also match every build's labels to the first build's (instance F1 at "
                         "IoU 0.5, needs the Python package and tifffile)")
    args = ap.parse_args()
    builds = []
    for spec in args.build:
        name, _, folder = spec.partition("=")
        cli = os.path.join(folder, "tools", "unet")
        if not folder or not os.access(cli, os.X_OK):
            sys.exit("--build %s: no %s" % (spec, cli))
        builds.append((name, cli))
    extra = {}
    for spec in args.extra:
        name, _, more = spec.partition("=")
        extra[name] = shlex.split(more)

    work = tempfile.mkdtemp(prefix="segment_bench_")
    image = os.path.join(work, "sample.tif")
    subprocess.run([builds[0][1], "sample", "--size", str(args.size), "--seed", str(args.seed),
                    "-o", image], check=True, capture_output=True)
    print("unet segment on a %d^2 `unet sample` image (seed %d), %d interleaved rounds, %d CPUs"
          % (args.size, args.seed, args.rounds, os.cpu_count()))
    print("%-5s %-7s %-10s %9s %9s %7s %8s" % ("busy", "threads", "build", "median s", "min s",
                                              "ratio", "objects"))
    for busy in args.busy:
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(busy)]
        for s in spinners:
            s.start()
        try:
            for threads in args.threads:
                times = {name: [] for name, _ in builds}
                counts = {}
                for _ in range(args.rounds):
                    for name, cli in builds:
                        labels = os.path.join(work, name + ".tif")
                        t, counts[name] = run_segment(cli, image, labels, threads,
                                                      extra.get(name, ()))
                        times[name].append(t)
                base = statistics.median(times[builds[0][0]])
                for name, _ in builds:
                    med = statistics.median(times[name])
                    print("%-5d %-7s %-10s %9.3f %9.3f %7.2f %8d"
                          % (busy, threads or "default", name, med, min(times[name]), med / base,
                             counts[name]))
        finally:
            stop.set()
            for s in spinners:
                s.join()
    if args.compare:
        import tifffile
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                        "bindings", "python"))
        from unet import post
        ref = tifffile.imread(os.path.join(work, builds[0][0] + ".tif"))
        for name, _ in builds[1:]:
            m = post.instance_f1(tifffile.imread(os.path.join(work, name + ".tif")), ref, 0.5)
            print("labels of %s vs %s: F1 %.4f (tp %d fp %d fn %d)"
                  % (name, builds[0][0], m.f1, m.tp, m.fp, m.fn))


if __name__ == "__main__":
    main()
