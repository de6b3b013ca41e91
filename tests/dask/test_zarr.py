"""OME-Zarr in and out through the `unet` program (its predict and segment commands hand .zarr
stores to `python3 -m unet`): results equal Model.predict / Model.segment, written as NGFF 0.4
on zarr format 2 (an image; labels as an NGFF labels group with image-label metadata) that
ome-zarr reads; a pyramid level; NGFF 0.5 input; never into the input store; memory bounded
by blocks, not by the image."""

import json
import os
import subprocess

import dask.array as da
import numpy as np
import pytest
import unet
import unet.dask
import zarr

from conftest import assert_same_objects, near_threshold

CLI = os.environ.get("UNET_CLI", "unet")


def unet_cli(*args, check=True):
    r = subprocess.run([CLI, *args, "--quiet"], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def ome_nodes(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    return list(Reader(parse_url(path))())


@pytest.fixture(scope="module")
def image():
    img, _ = unet.sample((700, 600), seed=21)
    return img


@pytest.fixture
def store(tmp_path, image):
    path = str(tmp_path / "in.zarr")
    unet.dask.write_ome_zarr(da.from_array(image, chunks=200), path, "YX",
                             scale={"Y": 0.65, "X": 0.65}, chunk=200)
    return path


def test_predict_store(nuclei, image, store, tmp_path):
    out = str(tmp_path / "probs.zarr")
    r = unet_cli("predict", "--model", "nuclei", store, "-o", out, "--precise")
    assert "wrote" in r.stdout
    attrs = json.load(open(os.path.join(out, ".zattrs")))["multiscales"][0]
    assert attrs["version"] == "0.4" and [a["name"] for a in attrs["axes"]] == ["c", "y", "x"]
    assert attrs["datasets"][0]["coordinateTransformations"][0]["scale"] == [1.0, 0.65, 0.65]
    assert json.load(open(os.path.join(out, "0", ".zarray")))["zarr_format"] == 2
    (node,) = ome_nodes(out)
    assert np.array_equal(node.data[0].compute(), nuclei.predict(image, precise=True))
    # uint8 output: probabilities scaled to 0..255
    out8 = str(tmp_path / "probs8.zarr")
    unet_cli("predict", store, "-o", out8, "--type", "uint8", "--chunk", "128")
    got = da.from_zarr(os.path.join(out8, "0")).compute()
    chunks = zarr.open_array(os.path.join(out8, "0")).chunks
    assert got.dtype == np.uint8 and chunks == (nuclei.out_channels, 128, 128)
    want = np.rint(nuclei.predict(image) * 255)
    assert np.abs(got.astype(float) - want).max() <= 1


def test_segment_store(nuclei, image, store, tmp_path):
    out = str(tmp_path / "labels.zarr")
    r = unet_cli("segment", store, "-o", out)
    want = nuclei.segment(image, scale=1)
    assert "%d objects" % want.max() in r.stdout
    group = os.path.join(out, "labels")
    assert json.load(open(os.path.join(group, ".zattrs"))) == {"labels": ["nuclei"]}
    meta = json.load(open(os.path.join(group, "nuclei", ".zattrs")))
    assert meta["image-label"]["version"] == "0.4"
    assert os.path.normpath(os.path.join(group, "nuclei", meta["image-label"]["source"]["image"])) \
        == os.path.normpath(store)
    from ome_zarr.reader import Label
    # ome-zarr finds the labels, and follows their source to the input image
    (node,) = [n for n in ome_nodes(os.path.join(group, "nuclei"))
               if any(isinstance(s, Label) for s in n.specs)]
    labels = node.data[0]
    assert labels.dtype == np.uint32 and labels.chunksize == (200, 200)
    assert_same_objects(labels.compute(), want, near_threshold(nuclei, image))


def test_pyramid_level_and_ngff_05(nuclei, image, tmp_path):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image
    for fmt, zarr_format in ((FormatV04(), 2), (FormatV05(), 3)):
        path = str(tmp_path / ("pyramid-%s.zarr" % fmt.version))
        root = zarr.open_group(path, mode="w", zarr_format=zarr_format)
        write_image(image, root, scale_factors=[2], fmt=fmt, axes=["y", "x"],
                    storage_options={"chunks": (128, 128)})
        level1 = unet.dask.read_ome_zarr(path, level=1)
        assert level1.levels == 2 and level1.array.shape == (350, 300)
        out = str(tmp_path / ("level1-%s.zarr" % fmt.version))
        unet_cli("predict", path, "-o", out, "--level", "1", "--precise")
        got = da.from_zarr(os.path.join(out, "0")).compute()
        assert np.array_equal(got, nuclei.predict(level1.array.compute(), precise=True))
    with pytest.raises(ValueError, match="levels 0 to 1"):
        unet.dask.read_ome_zarr(path, level=2)


def test_never_into_the_input(store, tmp_path):
    r = unet_cli("segment", store, "-o", os.path.join(store, "labels.zarr"), check=False)
    assert r.returncode == 1 and "input store" in r.stderr
    r = unet_cli("predict", store, "-o", store, check=False)
    assert r.returncode == 1 and "input store" in r.stderr
    out = str(tmp_path / "exists.zarr")
    os.makedirs(out)
    r = unet_cli("predict", store, "-o", out, check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    assert os.listdir(out) == []
    r = unet_cli("predict", str(tmp_path / "missing.zarr"), "-o", str(tmp_path / "o.zarr"),
                 check=False)
    assert r.returncode == 1 and "no such OME-Zarr store" in r.stderr
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no staging left


def peak_rss_mb(*args):
    """Peak resident memory of one `unet` run (a fresh process, its children included)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    r = subprocess.run([os.environ.get("UNET_PYTHON", "python3"), "-c", code, CLI, *args,
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.split()[-1])


def tiny_model_and_store(tmp_path, size):
    """(a small model's path, a size x size uint16 store of noise in 512^2 chunks)."""
    model_path = str(tmp_path / "tiny.unet")
    if not os.path.exists(model_path):
        unet.Model.create({"depth": 2, "base_features": 4,
                           "final_activation": "sigmoid"}).save(model_path)
    src = str(tmp_path / ("in%d.zarr" % size))
    x = da.random.default_rng(0).integers(0, 1000, (size, size), chunks=512).astype(np.uint16)
    unet.dask.write_ome_zarr(x, src, "YX", chunk=512)
    return model_path, src


def test_memory_bounded_by_blocks(tmp_path):
    # A small model (normalisation none: no statistics pass) on a 2048^2 and an 8192^2 image:
    # the larger one's extra input and output alone are 360 MB. Blocks read their windows
    # straight from the store, so memory stays that of the blocks at work (dask's own overlap
    # held most of the input: 72 MB more for the larger image). 2048^2, not smaller, for the
    # first: it already runs both workers' blocks at once, as the larger one does.
    peaks = []
    for size in (2048, 8192):
        model_path, src = tiny_model_and_store(tmp_path, size)
        peaks.append(peak_rss_mb("predict", "--model", model_path, "--normalize", "none", src,
                                 "-o", str(tmp_path / ("out%d.zarr" % size)), "--workers", "2"))
    print("peak RSS: %.0f MB for 2048^2, %.0f MB for 8192^2" % tuple(peaks))
    grown = (8192 ** 2 - 2048 ** 2) * (2 + 4)  # the larger image's extra input + output bytes
    assert peaks[1] - peaks[0] < 0.1 * grown / 2 ** 20


def test_segment_memory_bounded_by_blocks(tmp_path):
    # Segmentation holds more than prediction: every block's provisional ids until the last
    # block's are known, and the windows of probabilities around each block. Through scratch
    # arrays beside the output neither stays in memory (held in memory: 224 MB more for
    # 6144^2 than for 2048^2, more than the extra image's 201 MB of input and output; now 33
    # MB). Connected components (--no-split) keep the test quick: the watershed runs inside a
    # block and holds nothing across blocks. Nothing is left beside the output.
    peaks = []
    for size in (2048, 6144):
        model_path, src = tiny_model_and_store(tmp_path, size)
        peaks.append(peak_rss_mb("segment", "--model", model_path, "--normalize", "none",
                                 "--no-split", src, "-o", str(tmp_path / ("l%d.zarr" % size)),
                                 "--workers", "2"))
    print("peak RSS: %.0f MB for 2048^2, %.0f MB for 6144^2" % tuple(peaks))
    grown = (6144 ** 2 - 2048 ** 2) * (2 + 4)  # the larger image's extra input + output bytes
    assert peaks[1] - peaks[0] < 0.25 * grown / 2 ** 20
    assert sorted(os.listdir(tmp_path)) == ["in2048.zarr", "in6144.zarr", "l2048.zarr",
                                            "l6144.zarr", "tiny.unet"]
