#!/usr/bin/python3
"""Training step time of libunet against PyTorch, measured in the same run: one optimizer step
(forward, loss, backward, Adam) on a batch of 4 x 1 x 256 x 256 for a depth-4, 32-feature
U-Net with BCE, at 1 and 2 threads (issue 5, item 8).

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so \\
        /usr/bin/python3 tools/bench_train.py [--size 256] [--base 32] [--repeats 3]

Steps of the two alternate; prints the median step time of each and the throughput ratio
(PyTorch time / libunet time).
The 3x3 convolutions of this network (16k channels) run by Winograd F(4x4, 3x3) in the
forward pass and both gradients (lib/kernels/train_winograd.c: the fast engine's tile
transforms plus their adjoints, 36 matrix products per pass); the first layer (1 input
channel), the transposed and the 1x1 convolutions by im2col + a packed AVX2/FMA matrix product
(lib/kernels/train_gemm.c). --precise times the direct convolutions everywhere.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))

import unet  # noqa: E402
from unet.train import Trainer  # noqa: E402


def libunet_step(cfg, x, t, threads, precise):
    """A function running one libunet training step (the trainer is created and warmed up)."""
    model = unet.Model.create(cfg)
    tr = Trainer(model, loss="bce", optimizer="adam", lr=1e-3, threads=threads,
                 precise=precise)
    tr.step_batch(x, t)  # warm-up: buffers
    return lambda: tr.step_batch(x, t), tr


def torch_step(cfg, x, t):
    """A function running one PyTorch training step of the same network (warmed up)."""
    import torch
    from unet.torch import UNet

    net = UNet(cfg).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    lossf = torch.nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad()
        loss = lossf(net.logits(xt), tt)
        loss.backward()
        opt.step()

    step()
    return step


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def step_flops(cfg, x):
    """Direct-convolution FLOPs of one training step: 3x those of the forward pass (forward,
    input gradient, weight gradient), counted on the PyTorch twin with forward hooks."""
    import torch
    from unet.torch import UNet

    net = UNet(cfg)
    total = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        if isinstance(mod, torch.nn.ConvTranspose2d):
            total[0] += 2 * inp[0].numel() * mod.out_channels * k
        else:
            total[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * k

    for mod in net.modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            mod.register_forward_hook(hook)
    with torch.no_grad():
        net.logits(torch.from_numpy(x))
    return 3 * total[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--precise", action="store_true", help="direct convolutions, no Winograd")
    args = ap.parse_args()
    cfg = {"depth": args.depth, "base_features": args.base, "final_activation": "sigmoid"}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, args.size, args.size)).astype(np.float32)
    t = (rng.uniform(0, 1, x.shape) > 0.5).astype(np.float32)
    print("training step: batch %d x 1 x %d x %d, depth %d, base %d, Adam, BCE; median of %d%s"
          % (args.batch, args.size, args.size, args.depth, args.base, args.repeats,
             "; precise" if args.precise else ""))
    flops = None if args.no_torch else step_flops(cfg, x)
    if flops:
        print("%.1f GFLOP per step as direct convolutions (3 x forward)" % (flops / 1e9))
    for threads in [int(v) for v in args.threads.split(",")]:
        ours_step, trainer = libunet_step(cfg, x, t, threads, args.precise)
        theirs_step = None
        if not args.no_torch:
            import torch
            torch.set_num_threads(threads)
            theirs_step = torch_step(cfg, x, t)
        # Interleaved, so that a busy spell of the shared machine hits both alike.
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(timed(ours_step))
            if theirs_step:
                theirs.append(timed(theirs_step))
        trainer.close()
        ours = statistics.median(ours)
        line = "threads %d: libunet %.3f s/step" % (threads, ours)
        if flops:
            line += " (%.0f effective GFLOP/s)" % (flops / ours / 1e9)
        if theirs:
            theirs = statistics.median(theirs)
            line += ", PyTorch %.3f s/step (%.0f GFLOP/s), throughput ratio %.2fx" % (
                theirs, flops / theirs / 1e9, theirs / ours)
        print(line, flush=True)

if __name__ == "__main__":
    main()
