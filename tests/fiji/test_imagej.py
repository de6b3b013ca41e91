"""The Fiji plugin in ImageJ 1.54f, as users run it: the plugin jar copied into a fresh
ImageJ folder's plugins/, macros run with `-batch` and ImageJ's user interface driven by
FijiGuiTest.java, all under Xvfb (ImageJ 1.x needs a display even in batch mode). Results are
compared with the `unet` command line's on the same image. Lines starting "figure:" are the
measurements the issue asks for (click latency, Segment time against the CLI)."""

import os
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import tifffile
from scipy import ndimage

ENV = os.environ
IMG2D = os.path.join(ENV["UNET_SHARED_DATA"], "nuclei2d", "img2d.tif")
KEYS = "model=nuclei tile=0 threads=0 threshold=auto min_size=auto min_distance=auto diameter=auto"
TIMEOUT = 300


@pytest.fixture(scope="module")
def ijdir(tmp_path_factory):
    """An ImageJ folder with only our jar in plugins/, and a native cache of its own."""
    d = tmp_path_factory.mktemp("imagej")
    os.makedirs(d / "plugins")
    shutil.copy(ENV["FIJI_PLUGIN_JAR"], d / "plugins")
    os.makedirs(d / "cache")
    return d


def java_env(ijdir):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ""
    env["XDG_CACHE_HOME"] = str(ijdir / "cache")
    return env


def xvfb(ijdir, java_args):
    cmd = [ENV["XVFB_RUN"], "-a", "-s", "-screen 0 1280x1024x24", ENV["JAVA"],
           f"-Dplugins.dir={ijdir}"] + java_args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=TIMEOUT, env=java_env(ijdir), cwd=ijdir)
    return r.returncode, r.stdout


def run_macro(ijdir, name, macro, argument):
    path = ijdir / f"{name}.ijm"
    path.write_text(macro)
    rc, out = xvfb(ijdir, ["-jar", ENV["IJ_JAR"], "-ijpath", str(ijdir), "-batch", str(path),
                           argument])
    assert rc == 0, out
    return out


def value(out, key):
    m = re.search(rf"^{key} (.*)$", out, re.M)
    assert m, f"no '{key}' line in ImageJ's output:\n{out}"
    return m.group(1).strip()


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """`unet segment` on img2d with the built-in model, and its wall time."""
    d = tmp_path_factory.mktemp("cli")
    out = d / "labels.tif"
    t0 = time.perf_counter()
    subprocess.run([ENV["UNET_CLI"], "segment", IMG2D, "-o", str(out), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL, timeout=TIMEOUT)
    seconds = time.perf_counter() - t0
    return {"labels": tifffile.imread(out), "seconds": seconds, "dir": d}


def objects(labels):
    """Area and bounding box (x, y, w, h) of every label."""
    found = {}
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        area = int((labels[sl] == k).sum())
        found[k] = (area, (sl[1].start, sl[0].start, sl[1].stop - sl[1].start,
                           sl[0].stop - sl[0].start))
    return found


def click_points(labels, n=5):
    """n nuclei spread over the image, each clicked at its deepest interior pixel."""
    found = objects(labels)
    areas = sorted(found.values(), key=lambda v: v[0])
    median = areas[len(areas) // 2][0]
    h, w = labels.shape
    chosen = [k for k, (area, (x, y, bw, bh)) in sorted(found.items())
              if 0.5 * median <= area <= 2 * median and x > 2 and y > 2 and x + bw < w - 2
              and y + bh < h - 2]
    chosen = chosen[:: max(1, len(chosen) // n)][:n]
    points = []
    for k in chosen:
        depth = ndimage.distance_transform_edt(labels == k)
        y, x = np.unravel_index(np.argmax(depth), depth.shape)
        points.append((int(x), int(y)))
    return points


ROI_LINES = """
n = roiManager("count");
print("rois " + n);
for (i = 0; i < n; i++) {
    roiManager("select", i);
    getSelectionBounds(x, y, w, h);
    Roi.getContainedPoints(xs, ys);
    print("roi " + x + " " + y + " " + w + " " + h + " " + xs.length + " " + Roi.getName);
}
"""


def rois(out):
    """(x, y, w, h, area, name) of every ROI line a macro printed."""
    return [(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), m[6]) for m in
            re.finditer(r"^roi (\d+) (\d+) (\d+) (\d+) (\d+) (.*)$", out, re.M)]


def test_segment_equals_cli(ijdir, cli, tmp_path):
    macro = f"""
args = split(getArgument(), " ");
open(args[0]);
id = getImageID();
t0 = getTime();
run("U-Net Segment...", "{KEYS} rois");
print("first_ms " + (getTime() - t0));
print("title " + getTitle());
print("bits " + bitDepth());
saveAs("Tiff", args[1] + "/labels.tif");
{ROI_LINES}
selectImage(id);
t0 = getTime();
run("U-Net Segment...", "{KEYS}");
print("again_ms " + (getTime() - t0));
"""
    out = run_macro(ijdir, "segment", macro, f"{IMG2D} {tmp_path}")
    assert value(out, "title") == "img2d-labels"
    assert value(out, "bits") == "16"
    labels = tifffile.imread(tmp_path / "labels.tif")
    expected = cli["labels"]
    assert labels.shape == expected.shape and labels.max() > 100
    np.testing.assert_array_equal(labels, expected)
    # With `rois`, one ROI per object: its pixels are the object's.
    found = objects(expected)
    listed = rois(out)
    assert int(value(out, "rois")) == len(found) == len(listed)
    for x, y, w, h, area, name in listed:
        k = int(re.match(r"U-Net (\d+) \((\d+) px\)", name).group(1))
        assert (area, (x, y, w, h)) == found[k], name
        assert name == f"U-Net {k} ({area} px)"
    print(f"\nfigure: U-Net Segment on img2d (512x512) in ImageJ: {float(value(out, 'first_ms')):.0f} ms"
          f" first run (model load and JIT included), {float(value(out, 'again_ms')):.0f} ms again;"
          f" `unet segment` CLI: {1000 * cli['seconds']:.0f} ms (whole process)")


def cli_labels(tmp_path, *flags):
    """`unet segment img2d` with extra flags: its labels."""
    out = tmp_path / "cli.tif"
    subprocess.run([ENV["UNET_CLI"], "segment", IMG2D, "-o", str(out), "--quiet", *flags],
                   check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT)
    return tifffile.imread(out)


def assert_segment_and_click_match(ijdir, tmp_path, name, keys, expected):
    """U-Net Segment with `keys` gives `expected`, and U-Net Click with them on one of its
    objects gives that object."""
    (x, y), = click_points(expected, 1)
    macro = f"""
args = split(getArgument(), " ");
open(args[0]);
id = getImageID();
run("U-Net Segment...", "{keys}");
saveAs("Tiff", args[1] + "/labels.tif");
selectImage(id);
makePoint({x}, {y});
run("U-Net Click...", "{keys}");
{ROI_LINES}
"""
    out = run_macro(ijdir, name, macro, f"{IMG2D} {tmp_path}")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "labels.tif"), expected)
    (rx, ry, w, h, area, roi), = rois(out)
    assert (area, (rx, ry, w, h)) == objects(expected)[int(expected[y, x])], roi


def test_diameter_equals_cli(ijdir, cli, tmp_path):
    """`diameter=30` resizes as `unet segment --diameter 30` does, for Segment and Click."""
    expected = cli_labels(tmp_path, "--diameter", "30")
    assert expected.max() != cli["labels"].max()  # another scale than the automatic one
    assert_segment_and_click_match(ijdir, tmp_path, "diameter",
                                   KEYS.replace("diameter=auto", "diameter=30"), expected)


def test_tta_equals_cli(ijdir, cli, tmp_path):
    """The `tta` key averages the four flips as `unet segment --tta` does, for Segment and
    Click."""
    expected = cli_labels(tmp_path, "--tta")
    assert not np.array_equal(expected, cli["labels"])  # the flips change the labels
    assert_segment_and_click_match(ijdir, tmp_path, "tta", KEYS + " tta", expected)


def test_click_macro(ijdir, cli, tmp_path):
    points = click_points(cli["labels"])
    assert len(points) == 5
    macro = f"""
args = split(getArgument(), " ");
open(args[0]);
id = getImageID();
run("U-Net Segment...", "{KEYS}");
saveAs("Tiff", args[1] + "/segment.tif");
selectImage(id);
points = split(args[2], ";");
for (i = 0; i < points.length; i++) {{
    xy = split(points[i], ",");
    makePoint(parseInt(xy[0]), parseInt(xy[1]));
    t0 = getTime();
    run("U-Net Click...", "{KEYS}");
    print("latency " + (getTime() - t0));
}}
{ROI_LINES}
// Edited in place, the image gets a new session: the first nucleus is gone.
selectImage(id);
run("Select None");
run("Set...", "value=0");
xy = split(points[0], ",");
makePoint(parseInt(xy[0]), parseInt(xy[1]));
run("U-Net Click...", "{KEYS}");
roiManager("select", roiManager("count") - 1);
Roi.getContainedPoints(xs, ys);
print("after_edit " + roiManager("count") + " " + xs.length);
"""
    arg = ";".join(f"{x},{y}" for x, y in points)
    out = run_macro(ijdir, "click", macro, f"{IMG2D} {tmp_path} {arg}")
    segment = tifffile.imread(tmp_path / "segment.tif")
    found = objects(segment)
    listed = rois(out)
    assert int(value(out, "rois")) == 5 and len(listed) == 5
    for (x, y, w, h, area, name), (px, py) in zip(listed, points):
        k = int(segment[py, px])
        assert k > 0
        assert (area, (x, y, w, h)) == found[k], (name, (px, py))
        assert name.endswith(f"({area} px)")
    count, area = map(int, value(out, "after_edit").split())
    assert count == 5 or area != listed[0][4], "the click used the image as it was before"
    latencies = [float(v) for v in re.findall(r"^latency (\S+)$", out, re.M)]
    print(f"\nfigure: U-Net Click... (macro) latency: first {latencies[0]:.0f} ms (session and "
          f"first window), next {', '.join(f'{v:.0f}' for v in latencies[1:])} ms")


def test_stacks_channels_and_rgb(ijdir, cli, tmp_path):
    """A 2-slice stack gives a 2-plane label stack; a 2-channel hyperstack is read in the
    channel shown; an RGB image with equal channels is read as that channel."""
    macro = f"""
args = split(getArgument(), " ");
open(args[0]);
rename("a");
run("Duplicate...", "title=b");
run("Images to Stack", "name=stack title=[] use");
run("U-Net Segment...", "{KEYS}");
print("stack_title " + getTitle() + " slices " + nSlices);
saveAs("Tiff", args[1] + "/stack-labels.tif");
close("*");
open(args[0]);
rename("c1");
run("Duplicate...", "title=c2");
run("Invert");
run("Images to Stack", "name=two title=[] use");
run("Stack to Hyperstack...", "order=xyczt(default) channels=2 slices=1 frames=1 display=Grayscale");
Stack.setChannel(1);
run("U-Net Segment...", "{KEYS}");
saveAs("Tiff", args[1] + "/channel-labels.tif");
close("*");
open(args[0]);
run("8-bit");
saveAs("Tiff", args[1] + "/img8.tif");
run("RGB Color");
run("U-Net Segment...", "{KEYS}");
saveAs("Tiff", args[1] + "/rgb-labels.tif");
"""
    out = run_macro(ijdir, "stacks", macro, f"{IMG2D} {tmp_path}")
    assert value(out, "stack_title") == "stack-labels slices 2"
    stack = tifffile.imread(tmp_path / "stack-labels.tif")
    assert stack.shape == (2,) + cli["labels"].shape
    np.testing.assert_array_equal(stack[0], cli["labels"])
    np.testing.assert_array_equal(stack[1], cli["labels"])
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "channel-labels.tif"), cli["labels"])
    rgb8 = tmp_path / "cli8.tif"
    subprocess.run([ENV["UNET_CLI"], "segment", str(tmp_path / "img8.tif"), "-o", str(rgb8),
                    "--quiet"], check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "rgb-labels.tif"),
                                  tifffile.imread(rgb8))


def test_colour_by_the_librarys_channel_rule(ijdir, tmp_path):
    """An RGB image with distinct channels: the plugin reads it through the library's channel
    rule, so its labels equal `unet segment` on the same RGB TIFF."""
    macro = f"""
args = split(getArgument(), " ");
open(args[0]);
run("8-bit");
rename("r");
run("Duplicate...", "title=g");
run("Multiply...", "value=0.6");
run("Duplicate...", "title=b");
run("Add...", "value=40");
run("Merge Channels...", "c1=r c2=g c3=b");
print("colour " + bitDepth());
saveAs("Tiff", args[1] + "/colour.tif");
run("U-Net Segment...", "{KEYS}");
saveAs("Tiff", args[1] + "/colour-labels.tif");
"""
    out = run_macro(ijdir, "colour", macro, f"{IMG2D} {tmp_path}")
    assert value(out, "colour") == "24"
    rgb = tifffile.imread(tmp_path / "colour.tif")
    assert rgb.shape[-1] == 3 and not (rgb[..., 0] == rgb[..., 1]).all()
    cli_labels = tmp_path / "cli-colour.tif"
    subprocess.run([ENV["UNET_CLI"], "segment", str(tmp_path / "colour.tif"), "-o",
                    str(cli_labels), "--quiet"], check=True, stdout=subprocess.DEVNULL,
                   timeout=TIMEOUT)
    labels = tifffile.imread(tmp_path / "colour-labels.tif")
    assert labels.max() > 50
    np.testing.assert_array_equal(labels, tifffile.imread(cli_labels))


@pytest.mark.parametrize("tta", [False, True])
def test_predict_equals_cli(ijdir, tmp_path, tta):
    """Predict's output equals `unet predict`'s, and with the `tta` key `unet predict --tta`'s
    (which differs from the plain output, so the key is not ignored)."""
    macro = """
args = split(getArgument(), " ");
open(args[0]);
run("U-Net Predict...", "model=nuclei tile=0 threads=0%s");
print("title " + getTitle());
print("bits " + bitDepth());
saveAs("Tiff", args[1] + "/prediction.tif");
""" % (" tta" if tta else "")
    out = run_macro(ijdir, "predict", macro, f"{IMG2D} {tmp_path}")
    assert value(out, "title") == "img2d-prediction"
    assert value(out, "bits") == "32"
    ours = tifffile.imread(tmp_path / "prediction.tif")
    # the built-in model's outputs (foreground, distance) as the image's channels
    assert ours.dtype == np.float32 and ours.shape == (2, 512, 512)
    cli = {}
    for flags in ([], ["--tta"]):
        cli_out = tmp_path / ("cli-prediction%s.tif" % "".join(flags))
        subprocess.run([ENV["UNET_CLI"], "predict", "--model", ENV["UNET_DEFAULT_MODEL_FILE"],
                        IMG2D, "-o", str(cli_out), "--quiet", *flags], check=True,
                       stdout=subprocess.DEVNULL, timeout=TIMEOUT)
        cli[bool(flags)] = np.moveaxis(tifffile.imread(cli_out), -1, 0)  # (H, W, C) samples
    assert np.abs(cli[True] - cli[False]).max() > 1e-3
    np.testing.assert_array_equal(ours, cli[tta])


def test_fine_tune(ijdir, cli, tmp_path):
    """Fine-tune on img2d with the CLI's labels painted as the plugin wants them (0 not
    annotated, 1 background, 2.. objects), save, and segment with the saved model."""
    tifffile.imwrite(tmp_path / "train-labels.tif",
                     np.where(cli["labels"] > 0, cli["labels"] + 1, 1).astype(np.uint16))
    saved = tmp_path / "tuned.unet"
    macro = f"""
args = split(getArgument(), " ");
open(args[1] + "/train-labels.tif");
open(args[0]);
id = getImageID();
t0 = getTime();
run("U-Net Fine-tune...", "model=nuclei tile=64 threads=2 labels=train-labels.tif steps=3 save=" + args[1] + "/tuned.unet");
print("tune_ms " + (getTime() - t0));
selectImage(id);
run("U-Net Segment...", "model=" + args[1] + "/tuned.unet tile=0 threads=0 threshold=auto min_size=auto min_distance=auto");
getStatistics(area, mean, min, max);
print("objects " + max);
"""
    out = run_macro(ijdir, "finetune", macro, f"{IMG2D} {tmp_path}")
    assert saved.is_file() and saved.stat().st_size > 100000
    assert int(float(value(out, "objects"))) > 50
    print(f"\nfigure: U-Net Fine-tune, 3 steps (patch 64) on img2d: {value(out, 'tune_ms')} ms")


def test_errors_stop_the_macro(ijdir, tmp_path):
    for keys, message in [
            ("model=/nonexistent/model.unet", "neither a built-in model"),
            ("model=nuclei threshold=2", "threshold"),
            ("model=nuclei diameter=0.5", "diameter"),
            ("model=nuclei tile=20", "20")]:
        macro = f"""
open(getArgument());
run("U-Net Segment...", "{keys}");
print("reached the next line");
"""
        out = run_macro(ijdir, "error", macro, IMG2D)
        assert "U-Net Segment: " in out and message in out, out
        assert "reached the next line" not in out, out
        assert "Exception" not in out, out


def test_tool_click_and_escape(ijdir, cli):
    """The tool on a real image window: mouse presses on 5 nuclei give their outlines in the
    ROI Manager, segmented off the event thread (ImageJ stays responsive); Esc stops a slow
    first click and the next click works, and stops the U-Net Click... command; a screenshot is
    saved; the macro recorder records a dialog confirmed with OK;
    Esc stops a long Segment and a long Fine-tune, leaving no result."""
    points = click_points(cli["labels"])
    shot = os.path.join(ENV["FIJI_TEST_OUTPUT"], "fiji-click-tool.png")
    if os.path.exists(shot):
        os.remove(shot)
    # The second click on the first nucleus again: served from the session's cache.
    clicks = points + [points[0]]
    rc, out = xvfb(ijdir, ["-cp", f"{ENV['IJ_JAR']}:{ENV['FIJI_GUI_TEST_JAR']}", "FijiGuiTest",
                           IMG2D, shot] + [f"{x},{y}" for x, y in clicks])
    assert rc == 0, out
    assert value(out, "tool") == "U-Net Click Tool"
    found = objects(cli["labels"])
    listed = rois(out)
    assert len(listed) == len(clicks), out
    for (x, y, w, h, area, name), (px, py) in zip(listed, clicks):
        assert (area, (x, y, w, h)) == found[int(cli["labels"][py, px])], name
    assert os.path.getsize(shot) > 20000
    latencies = [float(v) for v in re.findall(r"^click \d+ \d+ latency_ms (\S+)", out, re.M)]
    # ImageJ stays responsive during a click: the first one (scale, session, network) was
    # still running when the event thread had handled the press and run another task.
    first = re.search(r"^click \d+ \d+ latency_ms \S+ added 1 event_ms (\S+) pending (\w+)",
                      out, re.M)
    assert first and first.group(2) == "yes", out
    # Esc during a first click on a 2048 x 2048 image stops it (no ROI); the next click works.
    assert value(out, "click_escape seconds").endswith("added 0"), out
    assert value(out, "click_status") == "U-Net Click Tool: cancelled", out
    assert value(out, "click_after_escape added") == "1", out
    # Esc stops the U-Net Click... command too: no ROI from any of its three points.
    assert value(out, "click_command_escape seconds").endswith("added 0"), out
    assert value(out, "click_command_status") == "U-Net Click: cancelled", out
    # The dialog, shown and confirmed as a user does, is recorded with every key.
    assert value(out, "recorded") == f'run("U-Net Segment...", "{KEYS}");', out
    assert value(out, "escape seconds").endswith("result no"), out
    assert value(out, "status") == "U-Net Segment: cancelled", out
    assert value(out, "training_escape seconds").endswith("saved no"), out
    assert value(out, "training_status") == "U-Net Fine-tune: cancelled", out
    print(f"\nfigure: U-Net Click Tool latency (mouse press to ROI in the manager): first "
          f"{latencies[0]:.0f} ms (session and first window; the model loads when the tool is "
          f"selected), next "
          f"{', '.join(f'{v:.0f}' for v in latencies[1:-1])} ms, same nucleus again "
          f"{latencies[-1]:.0f} ms; the event thread was free after "
          f"{float(first.group(1)):.0f} ms of the first click; Esc stopped a first click on "
          f"a 2048x2048 image after {value(out, 'click_escape seconds').split()[0]} s and U-Net "
          f"Click... after {value(out, 'click_command_escape seconds').split()[0]} s; Esc "
          f"stopped a 2048x2048 Segment after "
          f"{value(out, 'escape seconds').split()[0]} s; screenshot {shot}")
