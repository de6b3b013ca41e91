"""Test-time augmentation (the predict option tta, issue 15 point 3): the four flips of every
window averaged, tiled like any prediction, and the same objects from clicks and segment."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tifffile

import unet
import unet.segment  # noqa: F401 - adds Model.segment
from unet.click import ClickSession

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))
FLIPS = (lambda a: a, lambda a: a[..., ::-1], lambda a: a[..., ::-1, :],
         lambda a: a[..., ::-1, ::-1])


@pytest.fixture(scope="module")
def model():
    # base 16: 3x3 layers of 16 channels run Winograd on the fast path; no final activation,
    # so the accuracy contract applies to the outputs as they are
    with unet.Model.create({"depth": 3, "base_features": 16}, seed=11) as m:
        yield m


def test_tta_is_the_mean_of_the_four_flipped_predictions(model):
    # A size the block multiple divides: the canvas is then symmetric, and the flipped image
    # predicted whole is exactly what tta runs for its flipped window.
    img = np.random.default_rng(3).random((64, 96), dtype=np.float32)
    want = model.predict(img, tile=-1, precise=True).copy()
    for flip in FLIPS[1:]:  # the engine's order: left-right, up-down, both
        want += flip(model.predict(np.ascontiguousarray(flip(img)), tile=-1, precise=True))
    want *= np.float32(0.25)
    got = model.predict(img, tile=-1, precise=True, tta=True)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, model.predict(img, tile=-1, precise=True))


def test_tta_tiles_equal_the_whole_image(model):
    img = (np.random.default_rng(4).random((83, 117)) * 1000).astype(np.uint16)
    exact = model.predict(img, tile=-1, precise=True, tta=True)
    for tile, batch in ((-1, 1), (16, 1), (32, 3), (8, 2)):
        got = model.predict(img, tile=tile, batch=batch, precise=True, tta=True, threads=2)
        np.testing.assert_array_equal(got, exact, err_msg=str((tile, batch)))  # direct: bitwise
        # Winograd: the engine's accuracy contract against the direct path, tiled or whole (a
        # flipped output put back in the wrong place would be off by O(1))
        fast = model.predict(img, tile=tile, batch=batch, tta=True, threads=2)
        assert np.abs(fast - exact).max() <= 1e-4 * np.abs(exact).max(), (tile, batch)


def test_tta_clicks_equal_segmented_objects():
    m = unet.Model.builtin("nuclei")
    img, _ = unet.sample(192, seed=5)
    labels = m.segment(img, threads=2, tta=True)
    plain = m.segment(img, threads=2)
    assert labels.max() > 5
    assert not np.array_equal(labels, plain)  # the flips change some pixels
    # the automatic scale is measured without the flips: the same with and without tta
    assert m.segment_scale(img, tta=True) == m.segment_scale(img)
    s = ClickSession(m, img, threads=2, tta=True)
    ids = np.unique(labels)[1:]
    for i in ids[:: max(len(ids) // 6, 1)]:
        ys, xs = np.nonzero(labels == i)
        y, x = ys[len(ys) // 2], xs[len(xs) // 2]
        res = s.click(int(x), int(y))
        want = labels == labels[y, x]
        got = np.zeros_like(want)
        x0, y0, w, h = res.bbox
        got[y0:y0 + h, x0:x0 + w] = res.mask.astype(bool)
        np.testing.assert_array_equal(got, want)


def test_cli_segment_tta(tmp_path):
    img, _ = unet.sample(192, seed=6)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, img)
    out = tmp_path / "labels.tif"
    r = subprocess.run([CLI, "segment", str(src), "-o", str(out), "--tta", "--quiet",
                        "--threads", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    m = unet.Model.builtin("nuclei")
    np.testing.assert_array_equal(tifffile.imread(out), m.segment(img, threads=2, tta=True))
    assert "--tta" in subprocess.run([CLI, "segment", "--help"], capture_output=True,
                                     text=True).stdout
