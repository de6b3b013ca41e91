"""`unet predict`: TIFF in, TIFF out, equal to Model.predict; options, errors, Ctrl-C."""
import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

tifffile = require("tifffile")

import unet

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "sig.unet"
    with unet.Model.create({"depth": 3, "base_features": 6, "final_activation": "sigmoid"},
                           seed=4) as m:
        m.save(path)
    return path


def run(*args, **kw):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          **kw)


def test_predict_equals_python(model_path, tmp_path):
    rng = np.random.default_rng(1)
    img = (rng.random((3, 45, 70)) * 4000).astype(np.uint16)  # a Z stack of 3 planes
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, img, compression="zlib", photometric="minisblack")
    r = run("predict", "--model", model_path, src, "-o", dst, "--tile", "16", "--batch", "2",
            "--normalize", "percentile:1,99.8", "--quiet")
    assert r.returncode == 0, r.stderr
    got = tifffile.imread(dst)
    with unet.Model.load(model_path) as m:
        want = m.predict(img, axes="ZYX", tile=16, normalize="percentile:1,99.8")[0]
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-6


def test_uint8_output_and_options(model_path, tmp_path):
    rng = np.random.default_rng(2)
    img = (rng.random((64, 48)) * 255).astype(np.uint8)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, img, resolution=(2.0, 3.0))
    with unet.Model.load(model_path) as m:
        prob = m.predict(img, border="reflect", normalize="zmuv")[0]
    out8 = tmp_path / "o8.tif"
    r = run("predict", "-m", model_path, src, "-o", out8, "--type", "uint8", "--border",
            "reflect", "--normalize", "zmuv", "--deflate", "--blend", "4", "--tile", "32",
            "--threads", "2")
    assert r.returncode == 0, r.stderr
    with tifffile.TiffFile(out8) as t:
        got = t.asarray()
        tags = t.pages[0].tags
        assert tags["Compression"].value == 8  # deflate
        assert tags["XResolution"].value[0] / tags["XResolution"].value[1] == pytest.approx(2.0)
    assert got.dtype == np.uint8
    assert np.abs(got.astype(int) - np.rint(prob * 255)).max() <= 1


@pytest.mark.parametrize("args, needle", [
    (["--tile", "10"], "not a multiple"),
    (["--tile", "x"], "--tile"),
    (["--border", "mirror"], "--border"),
    (["--normalize", "percentile:5"], "--normalize"),
    (["--type", "int8"], "--type"),
    (["--output", "uint8"], "given twice"),  # --output is the file, as in unet train
    (["--bogus"], "unknown option"),
])
def test_bad_options(model_path, tmp_path, args, needle):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.zeros((16, 16), np.uint16))
    r = run("predict", "--model", model_path, src, "-o", tmp_path / "o.tif", *args)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not (tmp_path / "o.tif").exists()


def test_bad_inputs(model_path, tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00\x08\x00\x00\x00garbage")
    r = run("predict", "--model", model_path, bad, "-o", tmp_path / "o.tif")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    two = tmp_path / "two.tif"  # colour is read by the channel rule; two channels are not
    tifffile.imwrite(two, np.zeros((16, 16, 2), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    r = run("predict", "--model", model_path, two, "-o", tmp_path / "o.tif")
    assert r.returncode == 1 and "2 channels" in r.stderr and "--channel" in r.stderr
    assert not (tmp_path / "o.tif").exists()
    r = run("predict", "--model", model_path, rgb, "-o", rgb)
    assert r.returncode == 1 and "overwrite" in r.stderr
    r = run("predict", "--model", tmp_path / "none.unet", rgb, "-o", tmp_path / "o.tif")
    assert r.returncode == 1 and "cannot open" in r.stderr
    r = run("predict", rgb, "-o", tmp_path / "o.tif")
    assert r.returncode == 2


def test_ctrl_c_cancels_and_removes_output(model_path, tmp_path):
    src, dst = tmp_path / "big.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, np.random.default_rng(3).random((4, 1024, 1024), dtype=np.float32),
                     photometric="minisblack")
    p = subprocess.Popen([CLI, "predict", "--model", str(model_path), str(src), "-o", str(dst),
                          "--tile", "64", "--threads", "1"], stderr=subprocess.PIPE, text=True)
    # The output is written to a temporary file beside it, renamed into place on success.
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.tif.*.tmp")) and time.time() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.tif.*.tmp")), "never started writing"
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "cancelled" in err
    assert not dst.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["big.tif"]


def test_progress_bar_on_a_terminal(model_path, tmp_path):
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, np.random.default_rng(4).random((300, 300), dtype=np.float32))
    master, slave = pty.openpty()
    p = subprocess.Popen([CLI, "predict", "--model", str(model_path), str(src), "-o", str(dst),
                          "--tile", "32", "--threads", "1"], stderr=slave, stdout=slave)
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
    assert "ETA" in text and "Mpx/s" in text and "100.0%" in text


def test_precise_flag(tmp_path):
    path = tmp_path / "wide.unet"
    with unet.Model.create({"depth": 2, "base_features": 32}, seed=2) as m:
        m.save(path)
        img = np.random.default_rng(3).random((40, 52), dtype=np.float32)
        want = m.predict(img, tile=16, precise=True)[0]
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, img)
    r = run("predict", "--model", path, src, "-o", dst, "--tile", "16", "--precise", "--quiet")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(tifffile.imread(dst), want)
