"""unet.dask.predict equals Model.predict on the whole array: bit for bit with precise=True
for any chunking (odd sizes, chunks smaller than the halo, one chunk), planes, channels and
border modes; within the tiling engine's bound otherwise; statistics of the whole array."""

import dask.array as da
import numpy as np
import pytest
import unet
import unet.dask
from unet.dask import _workers


@pytest.fixture(scope="module")
def image():
    img, _ = unet.sample((600, 760), seed=7)
    return img


@pytest.fixture(scope="module")
def whole_precise(nuclei, image):
    return nuclei.predict(image, precise=True)


def run(y):
    return y.compute(scheduler="threads", num_workers=2)


@pytest.mark.parametrize("chunks", [(173, 251), (20, 30), (600, 760), (96, 400)],
                         ids=["odd", "smaller-than-halo", "one-chunk", "block-multiple"])
def test_any_chunking_bit_for_bit(nuclei, image, whole_precise, chunks):
    y = unet.dask.predict(nuclei, da.from_array(image, chunks=chunks), precise=True)
    assert isinstance(y, da.Array) and y.dtype == np.float32
    B, depth = nuclei.block_multiple, -(-nuclei.halo // nuclei.block_multiple) * nuclei.block_multiple
    for sizes in y.chunks[1:]:  # on the block grid, each chunk able to lend its neighbours a halo
        assert all(s % B == 0 for s in sizes[:-1]), y.chunks
        assert len(sizes) == 1 or min(sizes) >= depth, y.chunks
    got = run(y)
    assert got.shape == whole_precise.shape
    assert np.array_equal(got, whole_precise)


def test_default_within_tiling_bound(nuclei, image):
    want = nuclei.predict(image)
    got = run(unet.dask.predict(nuclei, da.from_array(image, chunks=(173, 251))))
    assert np.abs(got - want).max() <= 1e-5 * max(1.0, float(np.abs(want).max()))


def test_planes_each_with_their_statistics(nuclei, image):
    stack = np.stack([image, (image // 3 + 40).astype(np.uint16), image[::-1] // 2])
    want = nuclei.predict(stack, axes="ZYX", precise=True)
    y = unet.dask.predict(nuclei, da.from_array(stack, chunks=(2, 250, 333)), axes="ZYX",
                          precise=True)
    assert y.shape == (nuclei.out_channels, 3, 600, 760)
    assert np.array_equal(run(y), want)
    stats = unet.dask.statistics(nuclei, stack, axes="ZYX")
    assert stats.mean.shape == (3, 1) and len(set(stats.mean[:, 0].tolist())) == 3


def windows_read_from_storage(y):
    return any(name.startswith("unet-window-") for name in y.dask.layers)


def test_stored_arrays_read_window_by_window(nuclei, image, whole_precise, tmp_path):
    # A numpy or zarr array is read by each block's own window task (no dask overlap): the
    # same result, bit for bit, for planes, chunks smaller than the halo and channels last.
    import zarr

    stored = zarr.create_array(str(tmp_path / "image.zarr"), shape=image.shape,
                               chunks=(128, 200), dtype=image.dtype)
    stored[...] = image
    y = unet.dask.predict(nuclei, stored, precise=True)
    assert windows_read_from_storage(y) and np.array_equal(run(y), whole_precise)
    y = unet.dask.predict(nuclei, da.from_array(image, chunks=(128, 200)), precise=True)
    assert not windows_read_from_storage(y)  # a dask array: its graph is computed once
    stack = np.stack([image, image[::-1] // 2])
    y = unet.dask.predict(nuclei, stack, axes="ZYX", precise=True)
    assert windows_read_from_storage(y)
    assert np.array_equal(run(y), nuclei.predict(stack, axes="ZYX", precise=True))
    model = unet.Model.create({"depth": 3, "base_features": 8, "in_channels": 2,
                               "out_channels": 2, "final_activation": "sigmoid"}, seed=3)
    last = np.stack([image, image // 7 + 900], axis=-1)
    y = unet.dask.predict(model, last[:, :130], axes="YXC", precise=True)
    assert windows_read_from_storage(y)
    assert np.array_equal(run(y), model.predict(last[:, :130], axes="YXC", precise=True))


def test_channels_and_channel_axis_last():
    model = unet.Model.create({"depth": 3, "base_features": 8, "in_channels": 2,
                               "out_channels": 2, "final_activation": "sigmoid"}, seed=3)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 4000, (2, 300, 260)).astype(np.uint16)
    img[1] = img[1] // 7 + 900  # channels with different statistics: normalised here
    norm = "percentile:2,99"
    want = model.predict(img, axes="CYX", normalize=norm, precise=True)
    got = run(unet.dask.predict(model, da.from_array(img, chunks=(2, 77, 101)), axes="CYX",
                                normalize=norm, precise=True))
    assert np.array_equal(got, want)
    last = np.moveaxis(img, 0, -1)
    want = model.predict(last, axes="YXC", normalize=norm, precise=True)
    got = run(unet.dask.predict(model, da.from_array(last, chunks=(90, 70, 2)), axes="YXC",
                                normalize=norm, precise=True))
    assert got.shape == (300, 260, 2) and np.array_equal(got, want)


@pytest.mark.parametrize("border", ["reflect", "zero"])
def test_border_modes(nuclei, image, border):
    want = nuclei.predict(image, border=border, precise=True)
    got = run(unet.dask.predict(nuclei, da.from_array(image, chunks=(129, 301)), border=border,
                                precise=True))
    assert np.array_equal(got, want)


def test_statistics_read_in_pieces(nuclei, image):
    # 16-bit percentile: histograms summed over chunks; float: the array read band by band;
    # both are the library's whole-plane values.
    a = unet.dask.statistics(nuclei, da.from_array(image, chunks=(100, 300)))
    b = unet.dask.statistics(nuclei, da.from_array(image.astype(np.float32), chunks=(64, 500)))
    assert a.mean.shape == (1,) and a.mean[0] == b.mean[0] and a.std[0] == b.std[0]
    assert a.mean[0] == np.percentile(image, 1)  # the model's percentile:1,99.8
    assert a.std[0] == np.percentile(image, 99.8) - np.percentile(image, 1) + 1e-20
    want = nuclei.predict(image, normalize="zmuv", precise=True)
    got = run(unet.dask.predict(nuclei, da.from_array(image, chunks=(211, 190)),
                                normalize="zmuv", precise=True))
    assert np.array_equal(got, want)
    # statistics passed in are used as they are
    fixed = unet.dask.Statistics(np.array([100.0]), np.array([900.0]), "")
    got = run(unet.dask.predict(nuclei, da.from_array(image, chunks=300), stats=fixed,
                                precise=True))
    assert np.array_equal(got, nuclei.predict(image, normalize="fixed:100,900", precise=True))


def test_lazy_and_loaded_once_per_process(nuclei, image):
    before = _workers.load_count()
    y = unet.dask.predict(nuclei, da.from_array(image, chunks=200), precise=True)
    assert _workers.load_count() == before  # nothing ran yet
    run(y)
    run(y)
    assert _workers.load_count() - before <= 1


def test_errors(nuclei, image):
    with pytest.raises(unet.ShapeError):
        unet.dask.predict(nuclei, da.zeros((2, 64, 64), dtype=np.uint16), axes="CYX")
    with pytest.raises(unet.DtypeError):
        unet.dask.predict(nuclei, da.zeros((64, 64), dtype=np.int64))
    with pytest.raises(unet.ShapeError):
        unet.dask.predict(nuclei, da.zeros((64, 64), dtype=np.uint16), axes="YZ")
    with pytest.raises(unet.UnetError):
        unet.dask.predict(nuclei, da.from_array(image), tile=100)
    with pytest.raises(unet.UnetError):
        unet.dask.predict(nuclei, da.from_array(image), normalize="sideways")
    with pytest.raises(unet.UnetError, match="batch"):
        unet.dask.predict(nuclei, da.from_array(image), batch=0)
    with pytest.raises(unet.UnetError, match="border"):
        unet.dask.predict(nuclei, da.from_array(image), border="mirror")
    bad = image.astype(np.float32)
    bad[5, 5] = np.nan
    with pytest.raises(unet.UnetError, match="non-finite"):
        unet.dask.predict(nuclei, da.from_array(bad, chunks=200))
    with pytest.raises(TypeError):
        unet.dask.predict(42, da.from_array(image))


def test_valid_padding_model():
    model = unet.Model.create({"depth": 3, "base_features": 8, "padding": "valid",
                               "final_activation": "sigmoid"}, seed=1)
    img = np.random.default_rng(0).integers(0, 1000, (300, 280)).astype(np.uint16)
    want = model.predict(img, precise=True, normalize="percentile:1,99")
    for chunks in [(97, 131), (40, 40)]:
        got = run(unet.dask.predict(model, da.from_array(img, chunks=chunks), precise=True,
                                    normalize="percentile:1,99"))
        assert np.array_equal(got, want)
