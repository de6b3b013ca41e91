"""unet.dask.segment finds the objects of Model.segment on the whole array (F1 = 1.0 at IoU
0.5, and the same labels) on the real nuclei2d image and on a 4096^2 unet.sample image for
several chunkings, odd ones included; objects larger than the overlap keep one id."""

import time

import dask
import dask.array as da
import numpy as np
import pytest
import unet
import unet.dask

from conftest import assert_same_objects, figure, near_threshold


def run(*ys):
    out = dask.compute(*ys, scheduler="threads", num_workers=2)
    return out if len(ys) > 1 else out[0]


@pytest.mark.parametrize("chunks", [(129, 200), (256, 256), (97, 512)])
def test_nuclei2d(nuclei, img2d, chunks):
    want = nuclei.segment(img2d, scale=1)
    # nuclei2d's largest clump of touching nuclei spans 77 px: an overlap of 80 holds it
    y = unet.dask.segment(nuclei, da.from_array(img2d, chunks=chunks), largest_object=40)
    assert y.dtype == np.uint32 and len(y.chunks[0]) * len(y.chunks[1]) > 1
    match = assert_same_objects(run(y), want, near_threshold(nuclei, img2d))
    assert match.tp == want.max() > 100


def test_sample_4096():
    nuclei = unet.Model.builtin("nuclei")
    image, _ = unet.sample(4096, seed=1)
    t = time.time()
    want = nuclei.segment(image, scale=1)
    figure("Model.segment 4096^2", time.time() - t, "s")
    chunkings = [(1000, 1365), (777, 4096), (2048, 1500)]
    ys = [unet.dask.segment(nuclei, da.from_array(image, chunks=c)) for c in chunkings]
    t = time.time()
    got = run(*ys)
    figure("unet.dask.segment 4096^2, 3 chunkings", time.time() - t, "s")
    near = near_threshold(nuclei, image)
    for c, y, g in zip(chunkings, ys, got):
        print("chunks", c, "->", [len(s) for s in y.chunks], "blocks")
        assert_same_objects(g, want, near)
    assert want.max() > 5000


def test_objects_larger_than_the_overlap_keep_one_id(nuclei):
    image, _ = unet.sample(1024, seed=2)
    want = nuclei.segment(image, scale=1)
    # A small overlap: many clumps are cut by chunk borders and merged across them.
    y = unet.dask.segment(nuclei, da.from_array(image, chunks=(200, 150)), largest_object=8)
    got = run(y)
    ids = np.unique(got)
    assert ids[0] == 0 and np.array_equal(ids, np.arange(len(ids)))  # 1..N
    pairs = np.unique(np.stack([want.ravel(), got.ravel()], 1), axis=0)
    pairs = pairs[(pairs[:, 0] > 0) & (pairs[:, 1] > 0)]
    per_object = np.bincount(pairs[:, 0])
    assert per_object.max() == 1, "an object of the whole image got two ids"
    assert 0.5 * want.max() < got.max() <= want.max()


def test_errors(nuclei, img2d):
    with pytest.raises(ValueError, match="overlap"):
        unet.dask.segment(nuclei, da.from_array(img2d), overlap=16)
    with pytest.raises(unet.ShapeError):
        unet.dask.segment(nuclei, da.zeros((3, 64, 64), dtype=np.uint16), axes="ZYX")
    with pytest.raises(unet.UnetError, match="threshold"):
        unet.dask.segment(nuclei, da.from_array(img2d), threshold=1.5)


@pytest.mark.parametrize("height,width", [(100, 100), (70000, 70000)])
def test_resolution_of_ids(height, width):
    from unet.dask import _segment
    dtype, flag = _segment.id_type(height, width)
    assert dtype == (np.uint32 if height * width < 2 ** 31 else np.uint64)
    ids = [np.array([0, 5, 9], dtype), np.array([0, 3 | flag, 7 | flag, 9], dtype)]
    # a face where piece 3* meets object 5 and piece 7*, and object 9 meets itself
    face = np.array([[5, 5, 0, 9], [3 | flag, 7 | flag, 7 | flag, 9]], dtype)
    pairs = [_segment.face_pairs([[face]], 0, flag)]
    assert sorted(map(tuple, pairs[0].tolist())) == [(5, 3 | int(flag)), (5, 7 | int(flag))]
    sorted_ids, final = _segment.resolve(ids, pairs, flag)
    got = dict(zip(sorted_ids.tolist(), final.tolist()))
    # 3*, 5 and 7* are one object first seen at raster index 2 (id 3): label 1; 9 is label 2
    assert got == {0: 0, 3 | int(flag): 1, 5: 1, 7 | int(flag): 1, 9: 2}
    block = np.array([[0, 9], [5, 7 | flag]], dtype)
    assert _segment.relabel(block, (sorted_ids, final)).tolist() == [[0, 2], [1, 1]]
