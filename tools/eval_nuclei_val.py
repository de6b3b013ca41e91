#!/usr/bin/python3
"""Instance F1 at IoU 0.5 of `unet segment IN -o OUT` on real nuclei images never used in
development, per image and on average, for one or more settings side by side.

    PYTHONPATH=bindings/python UNET_LIBRARY=build/lib/libunet.so UNET_CLI=build/tools/unet \\
        /usr/bin/python3 tools/eval_nuclei_val.py [--setting auto=] [--setting scale1=--scale 1]
        [--threads 2] [--hoechst] [--timing] [--json results.json]

Data (never copied into the project): ../shared/data/nuclei-val (29 image/label pairs numbered
by nucleus size; REPORT ONLY: choose nothing on it, one setting for all images) and
../shared/data/nuclei2d. Each --setting is NAME=EXTRA-ARGS for `unet segment` (default: "auto"
with no extra argument, i.e. what a new user runs, and "scale1" with --scale 1, the 1.0
default). --hoechst counts objects on ../shared/data/hoechst/nuclear.png (converted to a TIFF
in a temporary folder) for each setting and at --scale 0.3, the scale whose outlines are right
by eye (issue 15), and writes overlays beside --json when given. --timing times, on a 2048^2
`unet sample` image, `unet segment` per setting and the automatic scale's first pass alone
(Model.segment_scale), the median of --repeat runs. The JSON output keeps everything for the
next session's ablation table.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.append(os.path.join(REPO, "bindings", "python"))  # PYTHONPATH first

import unet  # noqa: E402
from unet import post  # noqa: E402

GROUPS = [("01-08 (10-14 px)", 1, 8), ("09-18 (17-29 px)", 9, 18), ("19-29 (34-58 px)", 19, 29)]


def cli_path():
    path = os.environ.get("UNET_CLI") or os.path.join(REPO, "build", "tools", "unet")
    if not os.path.exists(path):
        sys.exit("no unet CLI at %s (build it, or set UNET_CLI)" % path)
    return path


def segment(cli, image, out, extra, threads, overlay=None):
    """Run `unet segment`; (labels, its stdout line, seconds)."""
    args = [cli, "segment", image, "-o", out, "--quiet", "--threads", str(threads)] + extra
    if overlay:
        args += ["--overlay", overlay]
    t0 = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("unet segment failed on %s: %s" % (image, r.stderr.strip()))
    return tifffile.imread(out), r.stdout.strip(), seconds


def scale_of(line):
    """The scale `unet segment` printed ("... objects (scale S[, diameter D px])")."""
    return float(line.rsplit("(scale ", 1)[1].split(")")[0].split(",")[0])


def image_pairs(data):
    """(name, image path, labels path) of the 29 nuclei-val images, then nuclei2d."""
    pairs = [("%02d" % k, os.path.join(data, "nuclei-val", "%02d_image.tif" % k),
              os.path.join(data, "nuclei-val", "%02d_labels.tif" % k)) for k in range(1, 30)]
    pairs.append(("nuclei2d", os.path.join(data, "nuclei2d", "img2d.tif"),
                  os.path.join(data, "nuclei2d", "mask2d.tif")))
    return pairs


def evaluate(cli, data, settings, threads, folder):
    rows = []
    for name, image, truth_path in image_pairs(data):
        truth = tifffile.imread(truth_path)
        row = {"image": name, "nuclei": int(len(np.unique(truth)) - 1)}
        for setting, extra in settings:
            labels, line, _ = segment(cli, image, os.path.join(folder, "l.tif"), extra,
                                      threads)
            m = post.instance_f1(labels, truth)
            row[setting] = {"f1": m.f1, "objects": int(labels.max()), "tp": m.tp, "fp": m.fp,
                            "fn": m.fn, "scale": scale_of(line)}
        rows.append(row)
        print("  ".join(["%-8s %4d" % (name, row["nuclei"])] +
                        ["%s F1 %.3f (%4d obj, scale %.3g)"
                         % (s, row[s]["f1"], row[s]["objects"], row[s]["scale"])
                         for s, _ in settings]), flush=True)
    return rows


def summary(rows, settings):
    val = [r for r in rows if r["image"] != "nuclei2d"]
    out = {}
    for setting, _ in settings:
        f1 = [r[setting]["f1"] for r in val]
        s = {"mean_f1": float(np.mean(f1)), "below_0.75": int(sum(v < 0.75 for v in f1)),
             "worst": min((r[setting]["f1"], r["image"]) for r in val),
             "nuclei2d_f1": next(r[setting]["f1"] for r in rows if r["image"] == "nuclei2d")}
        for label, a, b in GROUPS:
            s[label] = float(np.mean([r[setting]["f1"] for r in val if a <= int(r["image"]) <= b]))
        out[setting] = s
    return out


def hoechst(cli, data, settings, threads, folder, overlay_dir):
    from PIL import Image
    rgb = np.asarray(Image.open(os.path.join(data, "hoechst", "nuclear.png")))
    grey = rgb[..., 0] if rgb.ndim == 3 else rgb  # R = G = B: the channel itself
    if rgb.ndim == 3:
        assert all(np.array_equal(rgb[..., 0], rgb[..., c]) for c in (1, 2))
    path = os.path.join(folder, "hoechst.tif")
    tifffile.imwrite(path, grey)
    counts = {}
    for setting, extra in list(settings) + [("scale0.3", ["--scale", "0.3"])]:
        overlay = os.path.join(overlay_dir, "hoechst_%s.png" % setting) if overlay_dir else None
        labels, line, _ = segment(cli, path, os.path.join(folder, "h.tif"), extra, threads,
                                  overlay)
        counts[setting] = {"objects": int(labels.max()), "scale": scale_of(line)}
        print("hoechst %-8s %s" % (setting, line.split(": ", 1)[1]), flush=True)
    return counts


def timing(cli, settings, threads, repeat, folder):
    path = os.path.join(folder, "s2048.tif")
    subprocess.run([cli, "sample", "--size", "2048", "-o", path], check=True,
                   capture_output=True)
    image = tifffile.imread(path)
    out = {}
    times = {name: [] for name, _ in settings}
    times["first_pass"] = []
    # Rounds of every setting in turn, so a shared machine's drift hits them alike.
    with unet.Model.builtin() as m:
        for _ in range(repeat):
            for setting, extra in settings:
                times[setting].append(segment(cli, path, os.path.join(folder, "t.tif"), extra,
                                              threads)[2])
            t0 = time.perf_counter()
            scale = m.segment_scale(image, threads=threads)
            times["first_pass"].append(time.perf_counter() - t0)
    for setting, _ in settings:
        out[setting] = statistics.median(times[setting])
        print("2048^2 unet segment %-8s %.2f s (median of %d)" % (setting, out[setting], repeat),
              flush=True)
    out["first_pass"] = statistics.median(times["first_pass"])
    out["first_pass_scale"] = scale
    print("2048^2 first pass (Model.segment_scale) %.2f s, scale %.3g" % (out["first_pass"],
                                                                       scale), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get(
        "UNET_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data")))
    ap.add_argument("--setting", action="append", metavar="NAME=ARGS",
                    help="a named setting: extra arguments of unet segment (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hoechst", action="store_true", help="object counts on the hoechst image")
    ap.add_argument("--timing", action="store_true", help="time a 2048^2 sample image")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (median)")
    ap.add_argument("--no-f1", action="store_true", help="skip nuclei-val and nuclei2d")
    ap.add_argument("--json", help="write every number here")
    args = ap.parse_args()
    settings = []
    for s in args.setting or ["auto=", "scale1=--scale 1"]:
        name, _, extra = s.partition("=")
        settings.append((name, shlex.split(extra)))
    cli = cli_path()
    result = {"settings": {n: e for n, e in settings}}
    with tempfile.TemporaryDirectory() as folder:
        if not args.no_f1:
            rows = evaluate(cli, args.data, settings, args.threads, folder)
            result["images"] = rows
            result["summary"] = summary(rows, settings)
            for name, s in result["summary"].items():
                print("%-8s mean F1 %.4f over nuclei-val (%s), %d below 0.75, worst %.3f (%s); "
                      "nuclei2d %.3f" % (name, s["mean_f1"], ", ".join(
                          "%s %.3f" % (g, s[g]) for g, _, _ in GROUPS), s["below_0.75"],
                          s["worst"][0], s["worst"][1], s["nuclei2d_f1"]))
        if args.hoechst:
            result["hoechst"] = hoechst(cli, args.data, settings, args.threads, folder,
                                        os.path.dirname(os.path.abspath(args.json))
                                        if args.json else None)
        if args.timing:
            result["timing_2048"] = timing(cli, settings, args.threads, args.repeat, folder)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
