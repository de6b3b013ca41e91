#!/usr/bin/python3
"""Proof that libunet learns restoration: a denoiser for ../shared/data/hoechst/nuclear.png
with synthetic Poisson + Gaussian noise, evaluated on a held-out crop.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so \\
        /usr/bin/python3 tools/train_denoise.py [--minutes 5] [--threads 2]

The clean image (8-bit, high signal-to-noise) is scaled to `--photons` expected photons at
its brightest, Poisson-sampled, and given Gaussian read noise of `--read-noise` photons. The
network trains on several noise realisations of the left part and is evaluated on the right
quarter (never seen in training), all in the input's normalised units (percentiles 1 and
99.8 of the noisy image, which prediction repeats). Prints PSNR and SSIM of the noisy input
and of the denoised output against the clean image, and the gain.
"""

import argparse
import os
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))

import unet  # noqa: E402
from unet.train import Trainer  # noqa: E402

CONFIG = {"depth": 3, "base_features": 16, "final_activation": "none"}


def noisy(clean, photons, read_noise, rng):
    lam = clean.astype(np.float64) / clean.max() * photons
    return (rng.poisson(lam) + rng.normal(0, read_noise, lam.shape)).astype(np.float32)


def normalise(x, ref):
    lo, hi = np.percentile(ref, [1, 99.8])
    return (x - lo) / (hi - lo + 1e-20)


def psnr(x, ref):
    rng = ref.max() - ref.min()
    return 10 * np.log10(rng * rng / np.mean((x - ref) ** 2))


def ssim(x, ref):
    """Wang et al. with a Gaussian window (sigma 1.5), as skimage's gaussian_weights=True,
    use_sample_covariance=False (scipy's reflect border; the window radius cropped)."""
    from scipy.ndimage import gaussian_filter
    x, ref = x.astype(np.float64), ref.astype(np.float64)
    rng = ref.max() - ref.min()
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5)  # noqa: E731
    mx, my = f(x), f(ref)
    vx, vy, cxy = f(x * x) - mx * mx, f(ref * ref) - my * my, f(x * ref) - mx * my
    c1, c2 = (0.01 * rng) ** 2, (0.03 * rng) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s[5:-5, 5:-5].mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared",
                                         "data")))
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--photons", type=float, default=20.0)
    ap.add_argument("--read-noise", type=float, default=2.0)
    ap.add_argument("--realisations", type=int, default=4)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    clean = np.asarray(Image.open(os.path.join(args.data, "hoechst", "nuclear.png")))
    if clean.ndim == 3:
        clean = clean[..., 0]
    clean = clean.astype(np.float32)
    h, w = clean.shape
    split = (w * 3 // 4) // 8 * 8
    rng = np.random.default_rng(args.seed)
    train_clean, test_clean = clean[:, :split], clean[:, split:]
    test_noisy = noisy(test_clean, args.photons, args.read_noise, rng)
    print("data: %s, %d x %d; train columns [0, %d), held-out [%d, %d); %.0f photons at the "
          "brightest pixel, read noise %.1f" % ("nuclear.png", h, w, split, split, w,
                                                args.photons, args.read_noise))

    def options(steps):
        return dict(steps=steps, batch=4, patch=96, lr=2e-3, loss="mse", target="image",
                    normalize="percentile", val_every=max(steps // 5, 1), threads=args.threads,
                    seed=args.seed, aug_elastic=0, aug_scale=0, aug_shift=0, fg_bias=0)

    def add_all(t):
        for _ in range(args.realisations):
            t.add(noisy(train_clean, args.photons, args.read_noise, rng), train_clean,
                  split="train")
        t.add(test_noisy, test_clean, split="val")

    t_start = time.time()
    steps = args.steps
    if steps <= 0:
        with Trainer(unet.Model.create(CONFIG, seed=args.seed), **options(1000)) as t:
            t.add(test_noisy, test_clean, split="train")
            t.step(2)
            t0 = time.time()
            t.step(4)
            per_step = (time.time() - t0) / 4
        steps = max(int((args.minutes * 60 - (time.time() - t_start)) * 0.8 / per_step), 10)
        print("timing: %.3f s/step at %d threads -> %d steps" % (per_step, args.threads, steps))

    model = unet.Model.create(CONFIG, seed=args.seed)

    def report(step, total, loss, metric):
        if step % max(total // 5, 1) == 0:
            print("  step %5d/%d  train mse %.5f  val PSNR %.2f dB  (%.0f s)"
                  % (step, total, loss, metric, time.time() - t_start), flush=True)

    with Trainer(model, progress=report, **options(steps)) as t:
        add_all(t)
        t.train()
        m = t.metrics
    elapsed = time.time() - t_start

    # The held-out crop in the input's normalised units (what prediction outputs).
    out = model.predict(test_noisy, threads=args.threads)[0]
    ref = normalise(test_clean, test_noisy)
    inp = normalise(test_noisy, test_noisy)
    p_in, p_out = psnr(inp, ref), psnr(out, ref)
    s_in, s_out = ssim(inp, ref), ssim(out, ref)
    print()
    print("trained %d steps in %.1f s (%.1f min) on %d threads" % (steps, elapsed, elapsed / 60,
                                                                  args.threads))
    print("held-out crop %d x %d: noisy input PSNR %.2f dB, SSIM %.4f" % (h, w - split, p_in,
                                                                          s_in))
    print("                     denoised       PSNR %.2f dB, SSIM %.4f" % (p_out, s_out))
    print("PSNR gain %.2f dB (trainer's own validation: PSNR %.2f dB, SSIM %.4f)"
          % (p_out - p_in, m["psnr"], m["ssim"]))
    return 0 if p_out > p_in else 1


if __name__ == "__main__":
    sys.exit(main())
