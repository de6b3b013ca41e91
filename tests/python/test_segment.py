"""Model.segment and `unet segment`: labels equal predict + post-processing (whole image and
strips), scale, the CLI's label TIFF / CSV / PNG outputs against NumPy, folder mode, uint32
labels, the built-in model mechanism, and clear errors without tracebacks."""
import os
import pty
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require

tifffile = require("tifffile")
from PIL import Image

import unet
from unet import post

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))
CSV_HEADER = "label,area,centroid_y,centroid_x,bbox_y0,bbox_x0,bbox_y1,bbox_x1,mean_intensity"


def linear_model(out_weights, out_bias, output):
    """A 1x1 network: feature = image, outputs = w * image + b, sigmoid or softmax."""
    c = len(out_weights)
    m = unet.Model.create({"depth": 1, "base_features": 1, "kernel_size": 1, "block": "c",
                           "out_channels": c,
                           "final_activation": "sigmoid" if c == 1 else "softmax"})
    m.load_state_dict({"down0.conv0.weight": np.ones((1, 1, 1, 1)),
                       "down0.conv0.bias": np.zeros(1),
                       "out.weight": np.asarray(out_weights, np.float32).reshape(c, 1, 1, 1),
                       "out.bias": np.asarray(out_bias, np.float32)})
    m.set_metadata("preprocessing", {"normalize": "none"})
    m.set_metadata("output", output)
    return m


@pytest.fixture(scope="module")
def prob_model():
    # sigmoid(10 x - 5): foreground where the image is above 0.5
    return linear_model([10.0], [-5.0], {"target": "foreground", "pixel_size": 1.0})


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "fg.unet"
    # An image in 0..1000 (uint16): foreground above 500.
    with linear_model([0.02], [-10.0], {"target": "foreground"}) as m:
        m.save(path)
    return path


def discs(h, w, seed, rmin=5, rmax=11, touching=True):
    """Touching pairs of discs on a grid (objects cross any strip border)."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((h, w), np.uint32)
    yy, xx = np.mgrid[:h, :w]
    n = 0
    for cy in range(0, h - 44, 45):
        for cx in range(0, w - 44, 45):
            r = rng.uniform(rmin, rmax)
            centres = [(cy + 22, cx + 22 - 0.8 * r), (cy + 22, cx + 22 + 0.8 * r)] if touching \
                else [(cy + 22, cx + 22)]
            for y0, x0 in centres:
                n += 1
                inside = ((yy - y0) ** 2 + (xx - x0) ** 2 <= r * r) & \
                    (yy > cy) & (yy < cy + 44) & (xx > cx) & (xx < cx + 44)
                truth[inside] = n
    return truth


def noisy(truth, seed, lo=0.0, hi=1.0):
    rng = np.random.default_rng(seed)
    fg = truth > 0
    x = np.where(fg, rng.uniform(0.55, 1.0, truth.shape), rng.uniform(0.0, 0.45, truth.shape))
    return (lo + (hi - lo) * x).astype(np.float32)


def reference(model, img, min_distance=4, min_size=16):
    prob = model.predict(img)[0]
    labels, _ = post.watershed(post.threshold(prob, 0.5), min_distance=min_distance)
    return post.filter_sizes(labels, min_size=min_size)[0]


def test_segment_equals_predict_then_post(prob_model):
    img = noisy(discs(230, 180, 1), 2)
    want = reference(prob_model, img)
    assert want.max() > 10
    got = prob_model.segment(img)
    assert got.dtype == np.uint32 and got.shape == img.shape
    np.testing.assert_array_equal(got, want)
    # Strips much shorter than the objects' spacing: the same labels.
    np.testing.assert_array_equal(prob_model.segment(img, strip=17, overlap=50, tile=64), want)


def test_segment_3class():
    truth = discs(180, 180, 3)
    edge = np.zeros(truth.shape, bool)
    for axis in (0, 1):
        for shift in (1, -1):
            edge |= (truth != np.roll(truth, shift, axis)) & (truth > 0)
    img = np.where(edge, 1.0, np.where(truth > 0, 2.0, 0.0)).astype(np.float32)
    with linear_model([0, 8, 4], [0, -8, -2], {"target": "3class"}) as m:
        probs = m.predict(img)
        want, _ = post.filter_sizes(post.labels_from_3class(probs)[0], min_size=16)
        assert want.max() >= 10
        np.testing.assert_array_equal(m.segment(img, strip=9, overlap=46), want)
        np.testing.assert_array_equal(m.segment(img), want)


def test_segment_options_and_scale(prob_model):
    truth = discs(200, 200, 4, touching=False, rmin=9, rmax=10)
    img = noisy(truth, 5)
    assert prob_model.segment(img, threshold=1.0).max() == 0
    assert prob_model.segment(img, min_size=10 ** 6).max() == 0
    half = prob_model.segment(img, scale=0.5, min_distance=6)
    assert half.shape == img.shape and half.max() == truth.max()
    assert post.instance_f1(half, truth, 0.7).f1 == 1.0
    # The image's pixel size against the model's recorded one gives the same scale.
    np.testing.assert_array_equal(prob_model.segment(img, pixel_size=0.5, min_distance=6), half)
    with pytest.raises(unet.UnetError, match="scale"):
        prob_model.segment(img, scale=100)
    with pytest.raises(unet.UnetError, match="threshold"):
        prob_model.segment(img, threshold=2)
    with pytest.raises(unet.ShapeError):
        prob_model.segment(np.zeros((2, 3, 4, 5), np.float32))
    with pytest.raises(unet.Cancelled):
        prob_model.segment(img, progress=lambda f: True)


def test_segment_takes_the_prediction_keywords(prob_model):
    truth = discs(150, 150, 6, touching=False)
    img = noisy(truth, 7)
    # A fixed normalisation moves the foreground: segment follows predict's own options.
    opts = dict(normalize="fixed:0.2,1.0", border="zero", batch=2, precise=True, tile=64,
                blend=8)
    prob = prob_model.predict(img, **opts)[0]
    want = post.filter_sizes(post.watershed(post.threshold(prob, 0.5), min_distance=4)[0],
                             min_size=16)[0]
    assert not np.array_equal(want, prob_model.segment(img))
    np.testing.assert_array_equal(prob_model.segment(img, **opts), want)
    # Each keyword reaches the library (its own range checks answer).
    with pytest.raises(unet.UnetError, match="blend"):
        prob_model.segment(img, tile=32, blend=64)
    with pytest.raises(unet.UnetError, match="batch"):
        prob_model.segment(img, batch=5000)
    with pytest.raises(unet.UnetError, match="border"):
        prob_model.segment(img, border="bogus")
    with pytest.raises(unet.UnetError, match="normalize"):
        prob_model.segment(img, normalize="bogus")


# ---- the command line ----------------------------------------------------------------------

def run(*args, **kw):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          **kw)


def uint16_image(truth, seed):
    return np.round(noisy(truth, seed) * 1000).astype(np.uint16)


def test_cli_outputs(model_file, tmp_path):
    truth = discs(140, 190, 6)
    img = uint16_image(truth, 7)
    src = tmp_path / "img.tif"
    tifffile.imwrite(src, img)
    out, png, csv = tmp_path / "labels.tif", tmp_path / "o.png", tmp_path / "m.csv"
    r = run("segment", src, "-o", out, "--model", model_file, "--overlay", png, "--measure", csv,
            "--threads", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(out)
    assert labels.dtype == np.uint16 and labels.shape == img.shape
    with unet.Model.load(model_file) as m:
        np.testing.assert_array_equal(labels, m.segment(img))
    n = int(labels.max())
    assert n > 10 and set(np.unique(labels)) == set(range(n + 1))
    # The test model records no training diameter: scale 1, no diameter.
    assert r.stdout.strip() == "%s: %d objects (scale 1)" % (src, n)
    # Labels only: the streamed path (unet_segment_tiff) writes the same file contents.
    out2 = tmp_path / "streamed.tif"
    r2 = run("segment", src, "-o", out2, "--model", model_file, "--quiet")
    assert r2.returncode == 0 and r2.stdout == r.stdout, r2.stderr
    streamed = tifffile.imread(out2)
    assert streamed.dtype == np.uint16
    np.testing.assert_array_equal(streamed, labels)
    # CSV against NumPy.
    lines = csv.read_text().strip().split("\n")
    assert lines[0] == CSV_HEADER and len(lines) == n + 1
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    for row in rows:
        lab = int(row[0])
        ys, xs = np.nonzero(labels == lab)
        assert row[1] == ys.size
        assert abs(row[2] - ys.mean()) < 1e-5 and abs(row[3] - xs.mean()) < 1e-5
        assert tuple(row[4:8]) == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
        assert abs(row[8] - img[ys, xs].mean()) < 1e-4 * max(1.0, img[ys, xs].mean())
    # PNG: readable RGB of the image's size, outlines drawn.
    with Image.open(png) as im:
        assert im.size == (img.shape[1], img.shape[0]) and im.mode == "RGB"
        rgb = np.asarray(im)
    outline = (rgb[..., 0] == 255) & (rgb[..., 1] == 220) & (rgb[..., 2] == 0)
    assert outline.any() and not outline[labels == 0].any()


def test_cli_folder_mode(model_file, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        tifffile.imwrite(src / ("im%d.tif" % k), uint16_image(discs(100, 100, 10 + k), k))
    (src / "notes.txt").write_text("not an image")
    extra = tmp_path / "extra.tiff"
    tifffile.imwrite(extra, uint16_image(discs(90, 95, 20), 3))
    out, pngs, csvs = tmp_path / "out", tmp_path / "png", tmp_path / "csv"
    r = run("segment", src, extra, "-o", out, "-m", model_file, "--overlay", pngs, "--measure",
            csvs, "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["extra.tif", "im0.tif", "im1.tif"]
    assert sorted(p.name for p in pngs.iterdir()) == ["extra.png", "im0.png", "im1.png"]
    assert sorted(p.name for p in csvs.iterdir()) == ["extra.csv", "im0.csv", "im1.csv"]
    assert len(r.stdout.strip().split("\n")) == 3
    assert tifffile.imread(out / "extra.tif").shape == (90, 95)


def test_cli_scale(model_file, tmp_path):
    """--scale resizes before prediction; the labels come back on the image's grid."""
    img = uint16_image(discs(160, 150, 12, touching=False, rmin=9, rmax=10), 13)
    src, out = tmp_path / "img.tif", tmp_path / "l.tif"
    tifffile.imwrite(src, img)
    r = run("segment", src, "-o", out, "-m", model_file, "--scale", "0.5", "--quiet")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(out)
    assert labels.shape == img.shape
    with unet.Model.load(model_file) as m:
        np.testing.assert_array_equal(labels, m.segment(img, scale=0.5))
        assert not np.array_equal(labels, m.segment(img))


def test_cli_progress_bar_on_terminal(model_file, tmp_path):
    """On a terminal the bar covers the batch: image k of n, up to 100%."""
    for k in range(2):
        tifffile.imwrite(tmp_path / ("im%d.tif" % k), uint16_image(discs(300, 300, k), k))
    master, slave = pty.openpty()
    p = subprocess.Popen([CLI, "segment", str(tmp_path / "im0.tif"), str(tmp_path / "im1.tif"),
                          "-o", str(tmp_path / "out"), "-m", str(model_file)],
                         stderr=slave, stdout=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=120)
    os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert p.returncode == 0, text
    assert "segment 2/2" in text and "100.0%" in text and "ETA" in text
    assert "im1.tif: " in text and " objects" in text


def test_cli_uint32_labels(tmp_path):
    """More than 65535 objects: the label TIFF is uint32."""
    img = np.zeros((600, 600), np.float32)
    img[::2, ::2] = 1
    src, out, mpath = tmp_path / "dots.tif", tmp_path / "l.tif", tmp_path / "m.unet"
    tifffile.imwrite(src, img)
    with linear_model([10.0], [-5.0], {"target": "foreground"}) as m:
        m.save(mpath)
    r = run("segment", src, "-o", out, "-m", mpath, "--min-size", "0", "--quiet")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(out)
    assert labels.dtype == np.uint32 and labels.max() == 90000
    assert "90000 objects" in r.stdout


def test_cli_default_model(tmp_path):
    """Without --model: the model embedded at build time (-Ddefault_model), if there was one."""
    src, out = tmp_path / "img.tif", tmp_path / "l.tif"
    tifffile.imwrite(src, uint16_image(discs(96, 96, 8), 9))
    r = run("segment", src, "-o", out, "--quiet")
    embedded = os.environ.get("UNET_DEFAULT_MODEL", "")
    if not embedded:
        assert r.returncode == 1 and "model is needed" in r.stderr
        return
    assert r.returncode == 0, r.stderr
    out2 = tmp_path / "l2.tif"
    r2 = run("segment", src, "-o", out2, "--model", embedded, "--quiet")
    assert r2.returncode == 0, r2.stderr
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(out2))


@pytest.mark.parametrize("args,code,message", [
    (["missing.tif", "-o", "o.tif"], 1, "missing.tif"),
    (["bad.tif", "-o", "o.tif"], 1, "bad.tif"),
    (["img.tif", "-o", "o.tif", "--scale", "abc"], 2, "--scale"),
    (["img.tif", "-o", "o.tif", "--scale", "0"], 2, "--scale"),
    (["img.tif", "-o", "o.tif", "--diameter", "0.5"], 2, "--diameter"),
    (["img.tif", "-o", "o.tif", "--diameter", "30"], 1, "records its training diameter"),
    (["img.tif", "-o", "o.tif", "--bogus"], 2, "--bogus"),
    (["img.tif"], 2, "-o"),
    (["-o", "o.tif"], 2, "input"),
    (["img.tif", "-o", "o.tif", "--threads"], 2, "missing value"),
    (["emptydir", "-o", "out"], 1, "no .tif"),
    (["img.tif", "-o", "o.tif", "--model", "nomodel.unet"], 1, "nomodel.unet"),
])
def test_cli_errors(model_file, tmp_path, args, code, message):
    tifffile.imwrite(tmp_path / "img.tif", np.zeros((20, 20), np.uint8))
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage that is not a TIFF")
    (tmp_path / "emptydir").mkdir()
    if "--model" not in args and "-o" in args:
        args = ["--model", str(model_file)] + args
    r = run("segment", *args, cwd=tmp_path)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith("unet: ")
    assert len(r.stderr.strip().split("\n")) <= 2


def test_cli_help():
    r = run("segment", "--help")
    assert r.returncode == 0 and "--overlay" in r.stdout and "--measure" in r.stdout
    assert "segment" in run("--help").stdout
