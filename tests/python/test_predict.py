"""Model.predict's issue-3 interface: axes, tiling options, progress and cancellation."""
import threading

import numpy as np
import pytest

import unet

CFG = {"depth": 3, "base_features": 4}


@pytest.fixture(scope="module")
def model():
    with unet.Model.create(CFG, seed=3) as m:
        yield m


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_axes_guessing_and_placement(model, rng):
    img = rng.random((3, 20, 28), dtype=np.float32)
    # 3-D whose first size differs from in_channels (1): a Z stack, output channels first.
    out = model.predict(img)
    assert out.shape == (1, 3, 20, 28)
    for z in range(3):
        assert np.array_equal(out[:, z], model.predict(img[z]))
    # Explicit axes: T and Z planes around C, channels stay where C was.
    x = rng.random((2, 1, 3, 20, 28), dtype=np.float32)
    out = model.predict(x, axes="TCZYX")
    assert out.shape == (2, 1, 3, 20, 28)
    assert np.array_equal(out[1, :, 2], model.predict(x[1, :, 2]))
    # Y and X may come in any order.
    out = model.predict(img[0].T.copy(), axes="XY")
    assert out.shape == (1, 28, 20)
    assert np.array_equal(out[0].T, model.predict(img[0])[0])
    # (C, Y, X) with C == in_channels and the 4-D default ZCYX.
    assert model.predict(img[:1]).shape == (1, 20, 28)
    assert model.predict(img[:, None]).shape == (3, 1, 20, 28)


@pytest.mark.parametrize("axes", ["YXY", "CC", "ZYQ", "ZY", "YX"])
def test_bad_axes(model, axes, rng):
    with pytest.raises(unet.UnetError):
        model.predict(rng.random((4, 8, 8), dtype=np.float32), axes=axes)


def test_tiled_equals_whole(model, rng):
    img = (rng.random((83, 117)) * 1000).astype(np.uint16)
    whole = model.predict(img, tile=-1, normalize="percentile:1,99.8")
    for tile, batch, blend in [(8, 1, 0), (16, 3, 0), (32, 2, 4), (256, 1, 0)]:
        got = model.predict(img, tile=tile, batch=batch, blend=blend,
                            normalize="percentile:1,99.8", threads=2)
        assert np.abs(got - whole).max() <= 1e-5, (tile, batch, blend)
    for border in ("network", "reflect", "zero"):
        a = model.predict(img, border=border, tile=-1, normalize="zmuv")
        b = model.predict(img, border=border, tile=16, normalize="zmuv")
        assert np.abs(a - b).max() <= 1e-5
    with pytest.raises(unet.UnetError, match="not a multiple"):
        model.predict(img, tile=10)


def test_normalize_forms(model, rng):
    img = rng.random((24, 24), dtype=np.float32) * 50 + 10
    fixed = model.predict(img, normalize="fixed:10,50")
    manual = model.predict((img - 10) / 50, normalize="none")
    assert np.allclose(fixed, manual, atol=1e-5)
    assert np.array_equal(model.predict(img, normalize=("percentile", 1, 99.8)),
                          model.predict(img, normalize="percentile"))
    for bad in ("magic", "percentile:9", "fixed:1,0", ("percentile", 50, 10)):
        with pytest.raises(unet.UnetError):
            model.predict(img, normalize=bad)


def test_progress_and_cancel(model, rng):
    img = rng.random((160, 160), dtype=np.float32)
    seen = []
    model.predict(img, tile=16, progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(a <= b for a, b in zip(seen, seen[1:]))
    assert seen.count(1.0) == 1
    # Returning True cancels.
    with pytest.raises(unet.Cancelled):
        model.predict(img, tile=16, progress=lambda f: True)
    # An exception inside the callback cancels the run and comes back out unchanged.
    class Boom(Exception):
        pass

    def explode(fraction):
        raise Boom("from the callback")

    with pytest.raises(Boom, match="from the callback"):
        model.predict(img, tile=16, progress=explode)
    # The model still works afterwards.
    assert model.predict(img[:16, :16]).shape == (1, 16, 16)


def test_threads_share_model(model, rng):
    imgs = [rng.random((40 + 8 * i, 56), dtype=np.float32) for i in range(4)]
    want = [model.predict(im, tile=16, threads=1) for im in imgs]
    got = [None] * 4

    def work(i):
        got[i] = model.predict(imgs[i], tile=16, threads=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(got, want):
        assert np.array_equal(a, b)


def test_precise_turns_winograd_off(rng):
    # base 32: 3x3 layers with >= 32 channels run Winograd by default; precise=True runs
    # direct convolutions, which equal the float64 reference more closely.
    with unet.Model.create({"depth": 2, "base_features": 32}, seed=5) as m:
        img = rng.random((70, 90), dtype=np.float32)
        fast = m.predict(img, tile=16, batch=2)
        precise = m.predict(img, tile=16, batch=2, precise=True)
        whole_precise = m.predict(img, tile=-1, precise=True)
        assert np.array_equal(precise, whole_precise)  # direct: tiles equal the whole, bitwise
        diff = np.abs(fast - precise).max()
        assert 0 < diff <= 1e-4 * np.abs(precise).max()
