#!/usr/bin/env python3
"""libunet against PyTorch and ONNX Runtime in one run, on the same U-Net with the same
weights (DESIGN section 9: benchmarks are programs, not timed tests).

The network is the depth-4, base-32 U-Net of the reference PyTorch module
(bindings/python/unet/torch.py) with its default random initialisation; libunet gets its
state_dict through the Python binding, ONNX Runtime the model exported by torch.onnx.export.
Each engine runs the raw forward pass on exactly N x N (1 x 1 x N x N, no extra halo). Runs are
interleaved (libunet, torch, ORT, libunet, ...), each after a 0.1 s pause so no engine's idle
workers still spin on the cores, and medians reported: the machine is shared.
The FMA peak and the direct-convolution kernel come from tools/bench/bench_fast.c.

Run from the repository (needs the ORT venv, see docs):
    .venv-bench/bin/python tools/bench/bench.py --build /tmp/fastbuild
Options: --sizes 512 2048 --threads 1 2 --rounds 7 3 (per size) --skip-2048 ...
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

CFG = {"depth": 4, "base_features": 32}
PAUSE_S = 0.1  # before every timed run (see the timing loop)


def results(text):
    """The RESULT lines of unet-bench as dicts."""
    out = []
    for line in text.splitlines():
        if line.startswith("RESULT "):
            out.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return out


def run_bench(exe, *args):
    p = subprocess.run([exe, *map(str, args)], check=True, capture_output=True, text=True)
    return results(p.stdout), p.stdout


def conv_flops(size):
    """2 x multiply-adds of the convolutions of the U-Net at size x size (as GFLOP)."""
    f, ch, s = 0.0, 1, size
    feats = [32 * 2 ** level for level in range(4)]
    for level, c in enumerate(feats):
        if level:
            s //= 2
        f += 2 * s * s * 9 * (ch * c + c * c)
        ch = c
    for level in range(2, -1, -1):
        c = feats[level]
        s *= 2
        f += 2 * s * s * ch * c          # transposed conv: cin MACs per output pixel
        f += 2 * s * s * 9 * (2 * c * c + c * c)
        ch = c
    f += 2 * s * s * 32 * 1             # out: 1x1
    return f * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="meson build directory (libunet.so and tools/unet-bench)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, nargs="+", default=[7, 3],
                    help="interleaved rounds per size (last value repeats)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="also print medians of process CPU time per thread")
    args = ap.parse_args()

    os.environ.setdefault("UNET_LIBRARY", os.path.join(args.build, "lib", "libunet.so"))
    bench = os.path.join(args.build, "tools", "unet-bench")
    import torch
    import onnxruntime as ort
    import unet
    from unet.torch import UNet

    print("libunet %s (%s), PyTorch %s, ONNX Runtime %s" % (
        unet.version() if hasattr(unet, "version") else "?", os.environ["UNET_LIBRARY"],
        torch.__version__, ort.__version__))

    # --- machine: FMA peak, direct kernel -------------------------------------------------
    peak, peak_cpu = {}, {}
    for t in sorted(set(args.threads)):
        res, _ = run_bench(bench, "peak", "--threads", t)
        for r in res:
            peak[(r["isa"], t)] = float(r["gflops"])
        res, _ = run_bench(bench, "peak", "--threads", t, "--cpu-time")
        for r in res:
            peak_cpu[(r["isa"], t)] = float(r["gflops"])
    isa_default = "avx512" if ("avx512", 1) in peak else "avx2"
    for (isa, t), g in sorted(peak.items()):
        print("FMA peak %-6s %d thread(s): %6.1f GFLOP/s wall, %6.1f by CPU time (%.1f per "
              "thread)" % (isa, t, g, peak_cpu[(isa, t)], peak_cpu[(isa, t)] / t))
    res, text = run_bench(bench, "kernel", "--cin", 64, "--cout", 64, "--k", 3, "--size", 256,
                          "--reps", 9)
    print(text.strip().splitlines()[0])
    res_cpu, text = run_bench(bench, "kernel", "--cin", 64, "--cout", 64, "--k", 3, "--size",
                              256, "--reps", 9, "--cpu-time")
    print("  (process CPU time:) " + text.strip().splitlines()[0])

    # --- the network in three engines -------------------------------------------------------
    torch.manual_seed(0)
    net = UNet(CFG).eval()
    model = unet.Model.create(CFG)
    model.load_state_dict(net.state_dict())
    onnx_path = os.path.join(tempfile.mkdtemp(), "unet.onnx")
    with torch.no_grad():
        torch.onnx.export(net, torch.zeros(1, 1, 64, 64), onnx_path, input_names=["x"],
                          output_names=["y"], opset_version=13,
                          dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}})
    sessions = {}
    for t in args.threads:
        so = ort.SessionOptions()
        so.intra_op_num_threads = t
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions[t] = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

    def run_libunet(x, t):
        return model.forward(x, threads=t)

    def run_torch(x, t):
        torch.set_num_threads(t)
        with torch.no_grad():
            return net(torch.from_numpy(x)).numpy()

    def run_ort(x, t):
        return sessions[t].run(None, {"x": x})[0]

    engines = [("libunet", run_libunet), ("pytorch", run_torch), ("onnxruntime", run_ort)]
    table = {}
    for si, size in enumerate(args.sizes):
        rounds = args.rounds[min(si, len(args.rounds) - 1)]
        x = np.random.default_rng(size).standard_normal((1, 1, size, size)).astype(np.float32)
        for t in args.threads:
            outs = {}
            for name, fn in engines:  # warm-up (and first-call packing) outside the timing
                outs[name] = fn(x, t)
            ref = outs["pytorch"]
            for name in ("libunet", "onnxruntime"):
                err = float(np.abs(outs[name] - ref).max())
                scale = float(np.abs(ref).max())
                print("check %dx%d %d thread(s): max|%s - torch| = %.3g (max|torch| %.3g)" %
                      (size, size, t, name, err, scale))
            wall = {n: [] for n, _ in engines}
            cpu = {n: [] for n, _ in engines}
            for r in range(rounds):
                for name, fn in engines:
                    # ONNX Runtime's workers spin for 10-30 ms after a run and took a core
                    # from whichever engine came next (libunet on 2 threads: 193 ms right
                    # after ORT, 164 ms alone); a pause lets every engine start on idle cores.
                    time.sleep(PAUSE_S)
                    t0, c0 = time.perf_counter(), time.process_time()
                    fn(x, t)
                    wall[name].append(time.perf_counter() - t0)
                    cpu[name].append((time.process_time() - c0) / t)
            for name, _ in engines:
                table[(name, size, t)] = (statistics.median(wall[name]),
                                          statistics.median(cpu[name]), min(wall[name]))
            print("measured %dx%d, %d thread(s), %d rounds" % (size, size, t, rounds),
                  flush=True)

    # --- AVX2 against AVX-512 (same binary, ISA forced per run) ---------------------------
    isa_rows = []
    for isa in ("avx2", "avx512"):
        if (isa, 1) not in peak:
            isa_rows.append((isa, None))
            continue
        res, _ = run_bench(bench, "net", "--size", 512, "--threads", 1, "--isa", isa,
                           "--reps", 7)
        isa_rows.append((isa, res[0]))

    # --- report ------------------------------------------------------------------------------
    print()
    print("U-Net depth 4, base 32, 1x1xNxN, raw forward; median of interleaved runs (wall)")
    hdr = "%-12s %6s %3s %10s %10s %9s %8s %9s %9s" % (
        "engine", "size", "thr", "median ms", "min ms", "GFLOP/s", "% peak", "vs torch",
        "vs ORT")
    if args.cpu_time:
        hdr += " %11s %9s" % ("cpu ms/thr", "cpu %peak")
    print(hdr)
    for size in args.sizes:
        gf = conv_flops(size)
        for t in args.threads:
            pk = peak.get((isa_default, t)) or peak.get(("avx2", t))
            for name, _ in engines:
                w, c, mn = table[(name, size, t)]
                line = "%-12s %6d %3d %10.1f %10.1f %9.1f %7.1f%% %8.2fx %8.2fx" % (
                    name, size, t, w * 1e3, mn * 1e3, gf / w, 100 * gf / w / pk,
                    table[("pytorch", size, t)][0] / w, table[("onnxruntime", size, t)][0] / w)
                if args.cpu_time:  # % of the CPU-time peak of one thread, per thread
                    pc = peak_cpu.get((isa_default, t)) or peak_cpu.get(("avx2", t))
                    line += " %11.1f %8.1f%%" % (c * 1e3, 100 * gf / (c * t) / (pc / t))
                print(line)
    print("(GFLOP/s counts %.1f GFLOP per 512x512, 2 x multiply-adds of the convolutions; "
          "'vs X' = X's median time / this engine's: > 1 is faster than X; %% peak: of the "
          "FMA peak measured above for that thread count)" % conv_flops(512))
    if args.cpu_time:
        print("(cpu: process CPU time per thread; on a shared machine it leaves out the time "
              "other processes held the cores)")
    if 1 in args.threads and 2 in args.threads:
        for size in args.sizes:
            print("2 threads vs 1 at %dx%d: " % (size, size) + ", ".join(
                "%s %.2fx" % (n, table[(n, size, 1)][0] / table[(n, size, 2)][0])
                for n, _ in engines) + ("; by CPU time per thread: " + ", ".join(
                    "%s %.2fx" % (n, table[(n, size, 1)][1] / table[(n, size, 2)][1])
                    for n, _ in engines) if args.cpu_time else ""))
    print("ISA (unet-bench net, 512x512, 1 thread, median of 7):")
    for isa, r in isa_rows:
        if r is None:
            print("  %-6s not supported by this CPU" % isa)
        else:
            print("  %-6s %8.1f ms  %6.1f GFLOP/s" % (isa, float(r["ms"]), float(r["gflops"])))
    if all(r is not None for _, r in isa_rows):
        print("  avx2 / avx512 throughput: %.2f" % (float(isa_rows[1][1]["ms"]) /
                                                      float(isa_rows[0][1]["ms"])))


if __name__ == "__main__":
    main()
