"""The built-in default model and the generator it was trained on.

models/nuclei.unet (made by tools/make_default_model.py from `unet sample` images only) must
segment real nuclei it never saw: instance F1 at IoU 0.5 >= 0.75 on nuclei2d (the resolving
note gives the measured figure). A missing model file fails, it never skips. `unet sample`
must be deterministic, honour --bits, and produce labels of plausible nuclei.
"""
import os
import subprocess

import numpy as np
import pytest
from conftest import require

tifffile = require("tifffile")

import unet
from unet import post

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "models", "nuclei.unet")
CLI = os.environ.get("UNET_CLI", os.path.join(REPO, "build", "tools", "unet"))


def segment(model, image):
    """Labels at the image's own scale, cut as the model's output metadata says (the library's
    rules), and their count."""
    labels = model.segment_probabilities(model.predict(image, threads=2), threads=2)
    return labels, int(labels.max())


def test_default_model_segments_real_nuclei(data_dir):
    assert os.path.exists(MODEL), "missing %s: run tools/make_default_model.py" % MODEL
    assert os.path.getsize(MODEL) < 8e6  # "a few MB"
    model = unet.Model.load(MODEL)
    meta = model.metadata
    assert meta["preprocessing"]["normalize"] == "percentile"
    assert meta["output"]["target"] in ("foreground", "3class", "distance")
    img = tifffile.imread(os.path.join(data_dir, "nuclei2d", "img2d.tif"))
    truth = tifffile.imread(os.path.join(data_dir, "nuclei2d", "mask2d.tif"))
    labels, n = segment(model, img)
    m = post.instance_f1(labels, truth)
    print("default model on nuclei2d: %d objects, F1 %.4f (tp %d fp %d fn %d)"
          % (n, m.f1, m.tp, m.fp, m.fn))
    assert m.f1 >= 0.75, m


def sample(tmp_path, name, *args):
    img, lab = tmp_path / (name + ".tif"), tmp_path / (name + "_labels.tif")
    r = subprocess.run([CLI, "sample", *args, "-o", str(img), "--labels", str(lab)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return tifffile.imread(img), tifffile.imread(lab), img


def test_sample_is_deterministic(tmp_path):
    a_img, a_lab, a_path = sample(tmp_path, "a", "--size", "256", "--seed", "42")
    b_img, b_lab, b_path = sample(tmp_path, "b", "--size", "256", "--seed", "42")
    c_img, _, _ = sample(tmp_path, "c", "--size", "256", "--seed", "43")
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert a_path.read_bytes() == b_path.read_bytes()
    assert not np.array_equal(a_img, c_img)


@pytest.mark.parametrize("bits, dtype", [("8", np.uint8), ("16", np.uint16)])
def test_sample_bit_depth_and_labels(tmp_path, bits, dtype):
    for seed in range(4):
        img, lab, _ = sample(tmp_path, "s%d" % seed, "--size", "384", "--seed", str(seed),
                             "--bits", bits)
        assert img.dtype == dtype and img.shape == (384, 384)
        assert lab.dtype == np.uint16 and lab.shape == img.shape
        ids = np.unique(lab)[1:]
        assert np.array_equal(ids, np.arange(1, ids.size + 1))  # 1..N, no gaps
        assert 5 <= ids.size <= 1500, ids.size
        area = np.bincount(lab.ravel())[1:]
        inside = [i for i in ids if not (lab[[0, -1], :] == i).any()
                  and not (lab[:, [0, -1]] == i).any()]  # whole nuclei only
        diam = 2 * np.sqrt(area[np.array(inside) - 1] / np.pi)
        # outlines are 10..60 px across; equivalent diameters of cut or overlapped ones less
        assert np.median(diam) >= 10 and diam.max() <= 62, (np.median(diam), diam.max())
        assert (diam >= 7).mean() > 0.95
        assert img[lab > 0].mean() > img[lab == 0].mean()  # nuclei are bright


def test_sample_rejects_bad_options(tmp_path):
    for args in (["--bits", "10"], ["--size", "3"], ["--seed", "-1"]):
        r = subprocess.run([CLI, "sample", *args, "-o", str(tmp_path / "x.tif")],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "unet:" in r.stderr, (args, r.stderr)


def test_builtin_model_fast_path_keeps_the_accuracy_contract(tmp_path):
    """The built-in model's 16-channel layers run by Winograd; its probabilities stay within
    the engine's contract (max |fast - precise| <= 1e-4 x max |precise|) and its labels equal
    the precise path's (F1 1.0 at IoU 0.5)."""
    img, _, _ = sample(tmp_path, "wino", "--size", "768", "--seed", "11")
    model = unet.Model.builtin("nuclei")
    fast = model.predict(img, threads=2)
    precise = model.predict(img, threads=2, precise=True)
    err = float(np.abs(fast - precise).max())
    assert err <= 1e-4 * float(np.abs(precise).max()), err
    fast_labels = model.segment(img, threads=2)
    precise_labels = model.segment(img, threads=2, precise=True)
    m = post.instance_f1(fast_labels, precise_labels, 0.5)
    assert m.f1 == 1.0, m
