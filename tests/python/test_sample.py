"""`unet sample` and unet.sample: the classic images bit for bit (checksums taken before the wide
scene existed), the wide scene's options through the program and the Python keywords."""

import os
import subprocess

import numpy as np
import pytest

import unet

CLI = os.environ.get("UNET_CLI")
needs_cli = pytest.mark.skipif(not CLI, reason="the unet program is not built")
tifffile = pytest.importorskip("tifffile")

KINDS = ("auto", "flat", "ramp", "haze", "debris", "noise")


def fnv(values: np.ndarray) -> int:
    """FNV-1a 64 of the values' little-endian bytes (as tests/c/test_sample.c)."""
    h = 0xcbf29ce484222325
    for b in values.astype(values.dtype.newbyteorder("<")).tobytes():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def run(tmp_path, *args):
    img, lab = tmp_path / "img.tif", tmp_path / "lab.tif"
    r = subprocess.run([CLI, "sample", *args, "-o", str(img), "--labels", str(lab)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return tifffile.imread(img), tifffile.imread(lab), r.stdout


@needs_cli
@pytest.mark.parametrize("bits, image_hash", [("16", 0x69861c4c89001f07),
                                              ("8", 0x9b666bb47a5ba09b)])
def test_classic_sample_is_unchanged(tmp_path, bits, image_hash):
    img, lab, _ = run(tmp_path, "--seed", "0", "--size", "256", "--bits", bits)
    assert img.dtype == (np.uint8 if bits == "8" else np.uint16)
    assert fnv(img.astype(np.uint16)) == image_hash
    assert fnv(lab.astype(np.uint32)) == 0xbb81c6b42a7bf806 and lab.max() == 13


@needs_cli
@pytest.mark.parametrize("kind", KINDS)
def test_empty_fields_have_no_labels(tmp_path, kind):
    for seed in range(3):
        img, lab, out = run(tmp_path, "--nuclei", "0", "--background", kind, "--seed",
                            str(seed), "--size", "192")
        assert lab.max() == 0 and ", 0 nuclei" in out
        assert img.max() > img.min()


@needs_cli
def test_wide_options_and_bit_depth(tmp_path):
    img, lab, _ = run(tmp_path, "--bits", "12", "--nuclei", "30", "--min-diameter", "12",
                      "--max-diameter", "24", "--size", "256", "--seed", "4")
    assert img.dtype == np.uint16 and img.max() < 4096
    assert lab.max() == 30
    again, _ = unet.sample(256, seed=4, bits=12, nuclei=30, min_diameter=12, max_diameter=24)
    assert np.array_equal(again, img)  # the program and the binding agree
    for args, words in ((["--nuclei", "-2"], "nuclei"), (["--background", "fog"], "background"),
                        (["--scene", "classic", "--clusters", "1"], "scene = classic")):
        r = subprocess.run([CLI, "sample", *args, "-o", str(tmp_path / "x.tif")],
                           capture_output=True, text=True)
        assert r.returncode == 1 and words in r.stderr, (args, r.stderr)
    r = subprocess.run([CLI, "sample", "--help"], capture_output=True, text=True)
    for flag in ("--nuclei", "--min-diameter", "--max-diameter", "--clusters", "--background",
                 "--scene", "8|12|16"):
        assert flag in r.stdout


def test_python_keywords():
    image, labels = unet.sample(128, seed=1, nuclei=5, max_diameter=20)
    assert labels.max() == 5 and image.dtype == np.uint16
    image, labels = unet.sample(128, seed=1, nuclei=0, background="haze")
    assert labels.max() == 0
    classic, _ = unet.sample(128, seed=1)
    named, _ = unet.sample(128, seed=1, scene="classic")
    assert np.array_equal(classic, named)
    with pytest.raises(unet.UnetError, match="min_diameter"):
        unet.sample(64, min_diameter=40, max_diameter=20)
