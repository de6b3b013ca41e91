#!/usr/bin/env python3
"""Default threads against fixed thread counts, quiet, under load and with concurrent calls
(issue 18, point 1).

    python3 tools/bench/load_bench.py --build build-release [--compare /tmp/before/build] \\
        [--rounds 7] [--cases quiet busy1 busy2 calls2 calls4] [--tasks predict-nuclei \\
        predict-d4b32 segment]

Tasks: `predict-nuclei` (`unet predict` of a 512^2 `unet sample` image with the model file
--model, by default the repository's models/nuclei.unet, the built-in model), `predict-d4b32`
(the same with a depth-4, base-32 U-Net made by `unet create --seed 1`, random weights) and
`segment` (`unet segment` of a 2048^2 `unet sample` image with --model, at --segment-scale when
given). Every build gets the
same model files and images.

Cases: `quiet`; `busy1`, `busy2`: with 1 or 2 busy background processes (pure-Python spin
loops this script starts before the case and stops after it); `calls2`, `calls4`: 2 or 4
calls at once from Python threads on one `unet.Model` (ctypes releases the GIL), timed from
the first call's start to the last call's end, in a fresh Python process per run (after one
untimed warm-up call) that loads the build's library through its own source tree's binding.
The single-call cases time the `unet` program (process start to exit).

Thread counts: 0 (the default), 1 and 2 (`--threads`). Runs are interleaved (for each round:
every build, every thread count) and the table gives medians: per case, task and build the
default's median, the fixed counts' medians, and default / best fixed (target <= 1.15); with
--compare, also this build's default against the other build's default (same run). Quote
medians and ratios, on a machine running nothing else. --smoke: one round at small sizes, to
see that the script works (not figures).
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
THREADS = (0, 1, 2)
TARGET = 1.15


def spin(stop):
    """A busy background process: one core's worth of pure computation until told to stop."""
    x = 0
    while not stop.is_set():
        for _ in range(100000):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF


class Build:
    """A meson build folder: its `unet` program, its library and its source tree's binding."""

    def __init__(self, name, folder):
        self.name = name
        self.folder = os.path.abspath(folder)
        self.cli = os.path.join(self.folder, "tools", "unet")
        self.lib = os.path.join(self.folder, "lib", "libunet.so")
        if not os.access(self.cli, os.X_OK) or not os.path.exists(self.lib):
            sys.exit("%s: no tools/unet or lib/libunet.so (a meson build folder, CLI on)"
                     % folder)
        source = ROOT
        info = os.path.join(self.folder, "meson-info", "meson-info.json")
        if os.path.exists(info):
            with open(info) as f:
                source = json.load(f)["directories"]["source"]
        self.python = os.path.join(source, "bindings", "python")


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return elapsed


def run_cli(build, task, threads, files, work):
    out = os.path.join(work, build.name + "-out.tif")
    if task == "segment":
        cmd = [build.cli, "segment", files["segment_image"], "-o", out, "--quiet",
               "--model", files["nuclei"]]
        if files.get("segment_scale"):
            cmd += ["--scale", files["segment_scale"]]
    else:
        cmd = [build.cli, "predict", "--model", files[task.split("-", 1)[1]],
               files["predict_image"], "-o", out, "--quiet"]
    if threads:
        cmd += ["--threads", str(threads)]
    return timed(cmd)


def run_calls(build, task, threads, calls, files, sizes):
    """`calls` concurrent calls in a fresh Python process on `build`; their wall time."""
    env = dict(os.environ, UNET_LIBRARY=build.lib, PYTHONPATH=build.python)
    spec = {"task": task, "threads": threads, "calls": calls,
            "model": files["nuclei"] if task == "segment" else files[task.split("-", 1)[1]],
            "size": sizes["segment"] if task == "segment" else sizes["predict"],
            "scale": files.get("segment_scale")}
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("worker on %s failed (%d): %s" % (build.name, p.returncode, p.stderr.strip()))
    return float(p.stdout.strip().splitlines()[-1])


def worker(spec):
    """In the worker process: load the model, warm up, then time the concurrent calls."""
    spec = json.loads(spec)
    import unet
    image, _ = unet.sample(size=spec["size"], seed=3)
    model = unet.Model.load(spec["model"])

    def call():
        if spec["task"] == "segment":
            extra = {"scale": float(spec["scale"])} if spec.get("scale") else {}
            model.segment(image, threads=spec["threads"], **extra)
        else:
            model.predict(image, threads=spec["threads"])

    call()
    errors = []

    def guarded():
        try:
            call()
        except Exception as e:  # reported after the threads end
            errors.append(e)

    threads = [threading.Thread(target=guarded) for _ in range(spec["calls"])]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    print(elapsed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="the meson build folder measured (default: build)")
    ap.add_argument("--compare", metavar="BUILD_DIR",
                    help="another build folder measured in the same run (e.g. before the change)")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "nuclei.unet"),
                    help="model file of predict-nuclei and segment (default: the built-in one)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cases", nargs="+", default=["quiet", "busy1", "busy2", "calls2", "calls4"],
                    choices=["quiet", "busy1", "busy2", "calls2", "calls4"])
    ap.add_argument("--tasks", nargs="+", default=["predict-nuclei", "predict-d4b32", "segment"],
                    choices=["predict-nuclei", "predict-d4b32", "segment"])
    ap.add_argument("--predict-size", type=int, default=512)
    ap.add_argument("--segment-size", type=int, default=2048)
    ap.add_argument("--segment-scale", metavar="S",
                    help="the segment task's --scale (default: each build's own default, the "
                         "automatic scale where it has one; 1 compares builds with and without "
                         "it on the same work)")
    ap.add_argument("--smoke", action="store_true",
                    help="one round at 128^2 / 256^2: checks the script, gives no figures")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if args.smoke:
        args.rounds, args.predict_size, args.segment_size = 1, 128, 256
    builds = [Build("this", args.build)]
    if args.compare:
        builds.append(Build("compare", args.compare))
    if not os.path.exists(args.model):
        sys.exit("--model %s: no such file" % args.model)

    work = tempfile.mkdtemp(prefix="load_bench_")
    cli = builds[0].cli
    files = {"nuclei": os.path.abspath(args.model),
             "d4b32": os.path.join(work, "d4b32.unet"),
             "predict_image": os.path.join(work, "predict.tif"),
             "segment_image": os.path.join(work, "segment.tif"),
             "segment_scale": args.segment_scale}
    sizes = {"predict": args.predict_size, "segment": args.segment_size}
    config = os.path.join(work, "d4b32.json")
    with open(config, "w") as f:
        json.dump({"depth": 4, "base_features": 32, "final_activation": "sigmoid"}, f)
    for cmd in ([cli, "create", "--config", config, "-o", files["d4b32"], "--seed", "1"],
                [cli, "sample", "--size", str(args.predict_size), "--seed", "3", "-o",
                 files["predict_image"]],
                [cli, "sample", "--size", str(args.segment_size), "--seed", "3", "-o",
                 files["segment_image"]]):
        subprocess.run(cmd, check=True, capture_output=True)

    print("default threads vs --threads 1 and 2: predict %d^2, segment %d^2; %d interleaved "
          "rounds; %d CPUs; builds: %s" % (args.predict_size, args.segment_size, args.rounds,
                                           os.cpu_count(),
                                           ", ".join("%s=%s" % (b.name, b.folder)
                                                     for b in builds)))
    header = "%-7s %-15s %-8s %9s %9s %9s %9s" % ("case", "task", "build", "default s", "1 s",
                                                  "2 s", "def/best")
    if args.compare:
        header += " %11s" % "def/compare"
    print(header)
    worst = {}
    for case in args.cases:
        busy = int(case[4:]) if case.startswith("busy") else 0
        calls = int(case[5:]) if case.startswith("calls") else 0
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(busy)]
        for s in spinners:
            s.start()
        try:
            for task in args.tasks:
                times = {(b.name, t): [] for b in builds for t in THREADS}
                for _ in range(args.rounds):
                    for b in builds:
                        for t in THREADS:
                            if calls:
                                e = run_calls(b, task, t, calls, files, sizes)
                            else:
                                e = run_cli(b, task, t, files, work)
                            times[(b.name, t)].append(e)
                med = {k: statistics.median(v) for k, v in times.items()}
                for b in builds:
                    best = min(med[(b.name, 1)], med[(b.name, 2)])
                    ratio = med[(b.name, 0)] / best
                    line = "%-7s %-15s %-8s %9.3f %9.3f %9.3f %9.2f" % (
                        case, task, b.name, med[(b.name, 0)], med[(b.name, 1)],
                        med[(b.name, 2)], ratio)
                    if args.compare:
                        line += " %11.2f" % (med[(b.name, 0)] / med[("compare", 0)])
                    print(line, flush=True)
                    worst[b.name] = max(worst.get(b.name, 0), ratio)
        finally:
            stop.set()
            for s in spinners:
                s.join()
    for b in builds:
        print("%s: worst default / best fixed %.2f (target <= %.2f)%s"
              % (b.name, worst[b.name], TARGET, "" if worst[b.name] <= TARGET else ": MISSED"))


if __name__ == "__main__":
    main()
