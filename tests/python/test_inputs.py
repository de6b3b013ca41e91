"""Inputs users have (issue 15, point 5), through the `unet` program: PNG (8/16-bit, grey or
colour, palette, alpha) read as the same pixels in a TIFF are, the hoechst nuclear.png as given,
colour by the library's channel rule (the Python binding's Model.segment is the oracle: it
hands the array to the same C rule), --channel for channel counts the rule does not cover,
and multi-page TIFFs: a label stack plane by plane (ids 1..N in each plane), or with
--axes CYX the pages as channels."""
import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile

import unet

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))
DATA = Path(os.environ.get("UNET_SHARED_DATA",
                           Path(__file__).resolve().parents[3] / "shared" / "data"))
MODEL = Path(__file__).resolve().parents[2] / "models" / "nuclei.unet"


def predicted_shape(*spatial):
    """What `unet predict` writes for MODEL: one sample per output channel when it has
    several (the built-in model has a foreground and a distance channel)."""
    with unet.Model.load(MODEL) as m:
        return spatial + ((m.out_channels,) if m.out_channels > 1 else ())


def run(*args, timeout=600):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def write_png(path, pixels, palette=None):
    """A PNG written here byte by byte (no imaging library): pixels (H, W) grey, (H, W, 2)
    grey + alpha, (H, W, 3) RGB or (H, W, 4) RGBA, uint8 or uint16; with `palette` (N, 3)
    uint8, pixels (H, W) are palette indices."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = a[..., None]
    colour_type = 3 if palette is not None else {1: 0, 2: 4, 3: 2, 4: 6}[a.shape[2]]
    depth = 16 if a.dtype == np.uint16 else 8
    rows = a.astype(">u2" if depth == 16 else np.uint8).reshape(a.shape[0], -1).view(np.uint8)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(a.shape[0]))  # filter: none

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", a.shape[1], a.shape[0], depth, colour_type, 0, 0, 0)
    body = chunk(b"IHDR", ihdr)
    if palette is not None:
        body += chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + body)


@pytest.fixture(scope="module")
def nuclei():
    with unet.Model.builtin("nuclei") as m:
        yield m


@pytest.fixture(scope="module")
def grey16():
    image, _ = unet.sample(size=(160, 192), seed=3, bits=16)
    return image


def colour_of(grey):
    """Distinct channels with the nuclei in all three (the luminance differs from each)."""
    g8 = (grey >> 8).astype(np.uint8)
    return np.stack([g8, g8 // 2, 255 - g8 // 3], axis=-1)


def segment_cli(tmp_path, image, *extra):
    out = tmp_path / ("labels_%d.tif" % len(list(tmp_path.iterdir())))
    r = run("segment", image, "-o", out, "--quiet", *extra)
    assert r.returncode == 0, r.stderr
    return tifffile.imread(out), r.stdout


def test_png_grey_reads_as_the_tiff_does(tmp_path, grey16):
    for image in (grey16, (grey16 >> 8).astype(np.uint8)):
        tif, png = tmp_path / "g.tif", tmp_path / "g.png"
        tifffile.imwrite(tif, image)
        write_png(png, image)
        from_tiff, _ = segment_cli(tmp_path, tif)
        from_png, out = segment_cli(tmp_path, png)
        assert from_png.max() > 5
        np.testing.assert_array_equal(from_png, from_tiff)
        assert out.startswith("%s: %d objects (scale " % (png, from_png.max()))


def test_png_colour_by_the_channel_rule(tmp_path, grey16, nuclei):
    rgb = colour_of(grey16)
    want = nuclei.segment(rgb)  # the binding hands (Y, X, 3) to the library's rule
    assert want.max() > 5
    lum = unet.channel_rule(np.moveaxis(rgb, -1, 0), 1)[0]
    np.testing.assert_array_equal(want, nuclei.segment(lum))
    write_png(tmp_path / "rgb.png", rgb)
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "rgb.png")[0], want)
    # Alpha is ignored; grey + alpha reads as grey.
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=-1)
    write_png(tmp_path / "rgba.png", rgba)
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "rgba.png")[0], want)
    write_png(tmp_path / "ga.png", np.stack([rgb[..., 0], rgb[..., 2]], axis=-1))
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "ga.png")[0],
                                  nuclei.segment(rgb[..., 0]))
    # 16-bit colour.
    rgb16 = np.stack([grey16, grey16 // 2, grey16 // 5], axis=-1)
    write_png(tmp_path / "rgb16.png", rgb16)
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "rgb16.png")[0],
                                  nuclei.segment(rgb16))
    # A palette image: its colours.
    levels = (rgb[..., 0] // 16).astype(np.uint8)
    palette = np.stack([np.arange(16) * 16, np.arange(16) * 8, 255 - np.arange(16) * 5], axis=-1)
    write_png(tmp_path / "pal.png", levels, palette=palette)
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "pal.png")[0],
                                  nuclei.segment(palette[levels].astype(np.uint8)))


def test_png_outlines_and_measurements(tmp_path, grey16):
    write_png(tmp_path / "rgb.png", colour_of(grey16))
    r = run("segment", tmp_path / "rgb.png", "-o", tmp_path / "l.tif", "--overlay",
            tmp_path / "o.png", "--measure", tmp_path / "m.csv", "--quiet")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(tmp_path / "l.tif")
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert len(rows) == 1 + labels.max()
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hoechst_png_as_given(tmp_path, nuclei):
    """../shared/data/hoechst/nuclear.png: RGB with equal channels, 1344 x 1024."""
    png = DATA / "hoechst" / "nuclear.png"
    labels, out = segment_cli(tmp_path, png)
    assert labels.shape == (1024, 1344)
    count = int(out.rsplit(":", 1)[1].split()[0])
    assert count > 20 and labels.max() == count
    from skimage.io import imread  # an independent PNG decoder
    pixels = imread(png)
    assert pixels.shape == (1024, 1344, 3) and (pixels[..., 0] == pixels[..., 2]).all()
    np.testing.assert_array_equal(labels, nuclei.segment(pixels[..., 0]))


def test_predict_png_equals_the_tiff(tmp_path, grey16):
    rgb = colour_of(grey16)
    write_png(tmp_path / "rgb.png", rgb)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    for kind in ("png", "tif"):
        r = run("predict", "--model", MODEL, tmp_path / ("rgb." + kind), "-o",
                tmp_path / ("p_%s.tif" % kind), "--type", "uint8", "--quiet")
        assert r.returncode == 0, r.stderr
    a, b = tifffile.imread(tmp_path / "p_png.tif"), tifffile.imread(tmp_path / "p_tif.tif")
    assert a.dtype == np.uint8 and a.shape == predicted_shape(160, 192) and a.max() == 255
    np.testing.assert_array_equal(a, b)
    r = run("predict", "--model", MODEL, tmp_path / "rgb.png", "-o", tmp_path / "rgb.png")
    assert r.returncode == 1 and "overwrite" in r.stderr
    assert (tmp_path / "rgb.png").read_bytes()[:4] == b"\x89PNG"


def test_channel_option(tmp_path, grey16, nuclei):
    two = np.stack([grey16, grey16[::-1]], axis=-1)  # (H, W, 2): two samples per pixel
    tifffile.imwrite(tmp_path / "two.tif", two, photometric="minisblack", planarconfig="contig")
    r = run("segment", tmp_path / "two.tif", "-o", tmp_path / "l.tif", "--quiet")
    assert r.returncode == 1
    assert "2 channels" in r.stderr and "--channel N" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    labels, _ = segment_cli(tmp_path, tmp_path / "two.tif", "--channel", "1")
    np.testing.assert_array_equal(labels, nuclei.segment(grey16[::-1]))
    r = run("segment", tmp_path / "two.tif", "-o", tmp_path / "l.tif", "--channel", "2")
    assert r.returncode == 1 and "channel 2 does not exist" in r.stderr
    r = run("segment", tmp_path / "two.tif", "-o", tmp_path / "l.tif", "--channel", "x")
    assert r.returncode == 2
    # predict too; and a colour image's G alone.
    r = run("predict", "--model", MODEL, tmp_path / "two.tif", "-o", tmp_path / "p.tif",
            "--quiet")
    assert r.returncode == 1 and "--channel N" in r.stderr
    rgb = colour_of(grey16)
    write_png(tmp_path / "rgb.png", rgb)
    labels, _ = segment_cli(tmp_path, tmp_path / "rgb.png", "--channel", "1")
    np.testing.assert_array_equal(labels, nuclei.segment(rgb[..., 1]))


def test_tiff_stack_plane_by_plane(tmp_path, grey16, nuclei):
    planes = np.stack([grey16, grey16[::-1], grey16[:, ::-1]])
    tifffile.imwrite(tmp_path / "stack.tif", planes, photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "stack.tif") as t:
        assert len(t.pages) == 3 and t.pages[0].samplesperpixel == 1
    labels, out = segment_cli(tmp_path, tmp_path / "stack.tif")
    assert labels.shape == planes.shape and labels.dtype == np.uint16
    # One scale for the stack: measured on its first plane, as Model.segment_scale measures.
    scale = nuclei.segment_scale(planes[0])
    newest = max(tmp_path.glob("labels_*.tif"), key=lambda f: f.stat().st_mtime_ns)
    with tifffile.TiffFile(newest) as t:
        assert json.loads(t.pages[0].description)["libunet"]["scale"] == pytest.approx(scale)
    counts = []
    for z in range(3):
        want = nuclei.segment(planes[z], scale=scale)
        np.testing.assert_array_equal(labels[z], want)
        assert labels[z].max() == want.max() > 5  # ids 1..N in each plane
        assert set(np.unique(labels[z])) == set(range(want.max() + 1))
        counts.append(int(want.max()))
    assert out.startswith("%s: %d objects in 3 planes (scale %.3g" % (tmp_path / "stack.tif",
                                                                       sum(counts), scale))
    # --axes ZYX says the same; YX is refused for three pages.
    np.testing.assert_array_equal(segment_cli(tmp_path, tmp_path / "stack.tif", "--axes",
                                              "ZYX")[0], labels)
    r = run("segment", tmp_path / "stack.tif", "-o", tmp_path / "x.tif", "--axes", "YX")
    assert r.returncode == 1 and "3 pages" in r.stderr
    # Outlines take one image: refused, naming the pages.
    r = run("segment", tmp_path / "stack.tif", "-o", tmp_path / "x.tif", "--overlay",
            tmp_path / "o.png")
    assert r.returncode == 1 and "3 pages" in r.stderr
    # predict: one output page per plane.
    r = run("predict", "--model", MODEL, tmp_path / "stack.tif", "-o", tmp_path / "p.tif",
            "--quiet")
    assert r.returncode == 0, r.stderr
    assert tifffile.imread(tmp_path / "p.tif").shape == predicted_shape(3, 160, 192)


def test_tiff_pages_as_channels(tmp_path, grey16, nuclei):
    rgb = colour_of(grey16)
    tifffile.imwrite(tmp_path / "pages.tif", np.moveaxis(rgb, -1, 0), photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "pages.tif") as t:  # R, G, B pages
        assert len(t.pages) == 3 and t.pages[0].samplesperpixel == 1
    labels, out = segment_cli(tmp_path, tmp_path / "pages.tif", "--axes", "CYX")
    assert labels.shape == (160, 192)
    np.testing.assert_array_equal(labels, nuclei.segment(rgb))
    assert out.startswith("%s: %d objects (scale " % (tmp_path / "pages.tif", labels.max()))
    r = run("predict", "--model", MODEL, tmp_path / "pages.tif", "-o", tmp_path / "p.tif",
            "--axes", "CYX", "--quiet")
    assert r.returncode == 0, r.stderr
    assert tifffile.imread(tmp_path / "p.tif").shape == predicted_shape(160, 192)
    r = run("segment", tmp_path / "pages.tif", "-o", tmp_path / "x.tif", "--axes", "XYZ")
    assert r.returncode == 2 and "--axes" in r.stderr


def test_folders_take_png_and_tiff(tmp_path, grey16, nuclei):
    src = tmp_path / "in"
    src.mkdir()
    write_png(src / "a.png", colour_of(grey16))
    tifffile.imwrite(src / "b.tif", grey16)
    (src / "notes.txt").write_text("not an image")
    r = run("segment", src, "-o", tmp_path / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.tif", "b.tif"]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out" / "a.tif"),
                                  nuclei.segment(colour_of(grey16)))


def test_fifos_are_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    for args in (["segment", fifo, "-o", tmp_path / "l.tif"],
                 ["predict", "--model", MODEL, fifo, "-o", tmp_path / "p.tif"]):
        r = run(*args, timeout=30)
        assert r.returncode == 1 and "not a regular file" in r.stderr, r.stderr


def test_png_is_held_whole_so_max_pixels_applies(tmp_path, grey16):
    write_png(tmp_path / "g.png", grey16)  # 160 x 192 = 30720 pixels
    for args in (["segment", tmp_path / "g.png", "-o", tmp_path / "l.tif"],
                 ["predict", "--model", MODEL, tmp_path / "g.png", "-o", tmp_path / "p.tif"]):
        r = run(*args, "--max-pixels", "30000")
        assert r.returncode == 1 and "--max-pixels" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert run(*args, "--max-pixels", "30720", "--quiet").returncode == 0
