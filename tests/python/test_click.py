"""unet.click.ClickSession: clicked objects equal whole-image prediction + the same
post-processing, the cache, background clicks, errors, outlines (shoelace == area), stacks."""

import os
import threading

import numpy as np
import pytest

import unet
from unet import post
from unet.click import ClickSession

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def identity_model(padding="same", depth=3, seed=3):
    """out = sigmoid(20 (x - 0.5) + small non-local terms): objects are the bright discs."""
    m = unet.Model.create({"depth": depth, "base_features": 8, "padding": padding,
                           "final_activation": "sigmoid"}, seed=seed)
    sd = m.state_dict()
    for layer, scale in (("down0.conv0", 0.0), ("down0.conv1", 0.0), ("up0.conv0", 0.02),
                         ("up0.conv1", 0.0)):
        w, b = sd[layer + ".weight"], sd[layer + ".bias"]
        w[0] *= scale
        w[0, 0, w.shape[2] // 2, w.shape[3] // 2] = 1.0
        b[0] = 0.0
    sd["out.weight"][:] = 0
    sd["out.weight"][0, 0] = 20.0
    sd["out.bias"][0] = -10.0
    m.load_state_dict(sd)
    m.set_metadata("preprocessing", {"normalize": "percentile", "low": 1, "high": 99.8})
    return m


def disc_image(h, w, discs, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    img = np.full((h, w), 0.1)
    for y, x, r in discs:
        img[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = 0.9
    img += 0.03 * (rng.random((h, w)) - 0.5)
    return (img * 65535).astype(np.uint16)


DISCS = [(40, 40, 12), (40, 62, 12), (5, 120, 15), (198, 170, 18), (130, 64, 20),
         (100, 150, 9), (150, 120, 45), (160, 20, 2)]


def reference(model, img, min_distance=4, min_size=16, split=True, **kw):
    prob = model.predict(img, **kw)[0]
    mask = prob > np.float32(0.5)
    if split:
        labels, _ = post.watershed(mask, min_distance=min_distance)
    else:
        labels, _ = post.label(mask)
    labels, _ = post.filter_sizes(labels, min_size=min_size)
    return labels


def shoelace(poly):
    x, y = poly[:, 0].astype(float), poly[:, 1].astype(float)
    return (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def check(res, labels, x, y):
    want = labels == labels[y, x] if labels[y, x] else np.zeros_like(labels, bool)
    assert res.area == int(want.sum())
    if res.area == 0:
        assert res.mask.size == 0 and res.polygon.shape == (0, 2)
        return
    x0, y0, w, h = res.bbox
    got = np.zeros_like(want)
    got[y0:y0 + h, x0:x0 + w] = res.mask.astype(bool)
    np.testing.assert_array_equal(got, want)
    assert shoelace(res.polygon) + sum(shoelace(p) for p in res.holes) == res.area
    assert shoelace(res.polygon) > 0 and all(shoelace(p) < 0 for p in res.holes)
    assert res.complete


@pytest.mark.parametrize("border", ["network", "reflect", "zero"])
def test_matches_whole_image(border):
    m = identity_model()
    img = disc_image(211, 197, DISCS)
    labels = reference(m, img, border=border, threads=2)
    s = m.click_session(img, border=border, threads=2)
    for y, x, r in DISCS:
        y, x = min(y, 210), min(x, 196)
        mask, bbox, polygon = res = s.click(x, y)
        check(res, labels, x, y)
        assert polygon.dtype == np.int64 and mask.dtype == np.uint8 and len(bbox) == 4
    check(s.click(190, 3), labels, 190, 3)


def test_valid_padding_components():
    m = identity_model("valid", 3, seed=5)
    img = disc_image(150, 170, DISCS[:6])
    labels = reference(m, img, split=False, min_size=0)
    s = ClickSession(m, img, split=False, min_size=0)
    for y, x, _ in DISCS[:6]:
        y, x = min(y, 149), min(x, 169)
        check(s.click(x, y), labels, x, y)


def test_cache_and_background():
    m = identity_model(depth=4)
    img = disc_image(512, 512, [(200, 200, 12), (200, 232, 10), (400, 400, 10)])
    s = ClickSession(m, img, threads=2)
    first = s.click(200, 200)
    assert first.area > 300
    st = s.stats()
    assert st["network_runs"] >= 1 and st["cached_pixels"] < 512 * 512 // 3
    assert s.click(232, 200).area > 200
    bg = s.click(220, 180)
    assert bg.area == 0 and bg.mask.shape == (0, 0) and bg.holes == [] and bg.complete
    assert s.stats() == st
    s.click(400, 400)
    assert s.stats()["network_runs"] > st["network_runs"]
    s.close()
    with pytest.raises(unet.UnetError):
        s.click(1, 1)


def test_stack_planes():
    m = identity_model()
    planes = [disc_image(120, 110, [(30 + 20 * p, 40, 10 + 3 * p)], seed=p) for p in range(3)]
    stack = np.stack(planes)  # guessed as ZYX
    s = ClickSession(m, stack)
    for p in (2, 0, 1):
        labels = reference(m, stack[p])
        y, x = 30 + 20 * p, 40
        check(s.click(x, y, plane=p), labels, x, y)
        check(s.click(x, y, plane=(p,)), labels, x, y)


def test_errors():
    m = identity_model()
    img = disc_image(64, 64, [(32, 32, 8)])
    s = ClickSession(m, img)
    with pytest.raises(unet.UnetError, match="outside"):
        s.click(64, 0)
    with pytest.raises(unet.UnetError, match="plane"):
        s.click(0, 0, plane=1)
    with pytest.raises(unet.UnetError, match="threshold"):
        ClickSession(m, img, threshold=2.0)
    with pytest.raises(unet.DtypeError):
        ClickSession(m, img.astype(np.int64))
    with pytest.raises(unet.ShapeError):
        ClickSession(m, np.zeros((2, 3, 16, 16), np.float32), axes="CZYX")
    bad = img.astype(np.float32)
    bad[10, 11] = np.nan
    with pytest.raises(unet.UnetError, match="not finite"):
        ClickSession(m, bad).click(32, 32)


def test_cancel():
    """cancel() from another thread stops a first click (or it finished first); it stays
    until reset_cancel(), and the click after the reset is the one an uncancelled session
    gives."""
    m = identity_model(depth=4)
    img = disc_image(1024, 1024, [(300, 300, 12), (700, 650, 10)])
    with ClickSession(m, img, threads=2) as fresh:
        want = fresh.click(300, 300)
    s = ClickSession(m, img, threads=2)
    s.cancel()
    with pytest.raises(unet.Cancelled, match="cancelled"):
        s.click(300, 300)
    assert s.stats()["network_runs"] == 0
    s.reset_cancel()
    got = s.click(300, 300)
    assert got.bbox == want.bbox and np.array_equal(got.mask, want.mask)
    s.close()
    stopped = 0
    for delay in (0.0005, 0.002, 0.008, 0.032):
        with ClickSession(m, img, threads=2) as s:
            t = threading.Timer(delay, s.cancel)
            t.start()
            try:
                s.click(300, 300)
            except unet.Cancelled:
                stopped += 1
            t.join()
            s.reset_cancel()
            got = s.click(300, 300)
            assert got.bbox == want.bbox and np.array_equal(got.mask, want.mask)
    assert stopped > 0


def test_default_model_if_present():
    """The shipped nuclei model, when it exists: a click on a nucleus of the sample image
    returns the object unet_segment labels there."""
    path = os.path.join(REPO, "models", "nuclei.unet")
    try:
        import unet.segment  # noqa: F401 - adds Model.segment
    except ImportError:
        pass
    if not os.path.exists(path) or not hasattr(unet.Model, "segment"):
        pytest.skip("models/nuclei.unet or Model.segment not available")
    m = unet.Model.load(path)
    rng = np.random.default_rng(0)
    img = disc_image(256, 256, [(64, 64, 10), (64, 86, 11), (180, 150, 14)], seed=1)
    img = (img.astype(np.float32) * (0.8 + 0.4 * rng.random(img.shape))).astype(np.uint16)
    labels = m.segment(img, threads=2)
    s = ClickSession(m, img, threads=2)
    for y, x in ((64, 64), (64, 86), (180, 150), (10, 200)):
        check(s.click(x, y), labels, x, y)
