"""The `unet` package against libunet: models, files, shapes, forward and predict.
No torch here: this file also runs under AddressSanitizer."""

import json
import math
import os
import struct
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

import unet

DEFAULTS = {
    "ndim": 2, "in_channels": 1, "out_channels": 1, "depth": 4, "base_features": 32,
    "growth": 2, "kernel_size": 3, "padding": "same", "block": "crcr",
    "downsample": "maxpool", "factor": 2, "upsample": "transposed", "upsample_conv": False,
    "skip": "concat", "final_activation": "none",
}
SAME = {"depth": 3, "base_features": 8, "block": "crcr"}
VALID = {"depth": 2, "base_features": 8, "padding": "valid", "upsample": "nearest",
         "upsample_conv": True}

E_INVALID_ARG, E_IO, E_FORMAT, E_UNSUPPORTED, E_SHAPE = -1, -2, -3, -6, -7


def expected_shapes(config):
    """Tensor names and shapes of DESIGN section 5, written out independently of libunet."""
    cfg = dict(DEFAULTS, **config)
    k, depth = cfg["kernel_size"], cfg["depth"]
    feat = [int(math.floor(cfg["base_features"] * cfg["growth"] ** l + 0.5))
            for l in range(depth)]
    shapes = {}

    def block(prefix, ch, out):
        n = {"c": 0, "b": 0, "g": 0}
        for op in cfg["block"]:
            if op == "c":
                shapes["%s.conv%d.weight" % (prefix, n["c"])] = (out, ch, k, k)
                shapes["%s.conv%d.bias" % (prefix, n["c"])] = (out,)
                ch = out
            elif op == "b":
                for t in ("weight", "bias", "running_mean", "running_var"):
                    shapes["%s.bn%d.%s" % (prefix, n["b"], t)] = (ch,)
            elif op == "g":
                for t in ("weight", "bias"):
                    shapes["%s.gn%d.%s" % (prefix, n["g"], t)] = (ch,)
            if op in n:
                n[op] += 1

    ch = cfg["in_channels"]
    for l in range(depth):
        block("down%d" % l, ch, feat[l])
        ch = feat[l]
    f = cfg["factor"]
    for l in range(depth - 2, -1, -1):
        if cfg["upsample"] == "transposed":
            shapes["up%d.weight" % l], up = (feat[l + 1], feat[l], f, f), feat[l]
        elif cfg["upsample_conv"]:
            shapes["up%d.weight" % l], up = (feat[l], feat[l + 1], 1, 1), feat[l]
        else:
            up = feat[l + 1]
        if "up%d.weight" % l in shapes:
            shapes["up%d.bias" % l] = (feat[l],)
        block("up%d" % l, feat[l] + up, feat[l])
    shapes["out.weight"] = (cfg["out_channels"], feat[0], 1, 1)
    shapes["out.bias"] = (cfg["out_channels"],)
    return shapes


def write_safetensors(path, tensors):
    """A plain safetensors file (no libunet metadata), as the `safetensors` package writes."""
    header, offset, blobs = {}, 0, []
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors_header(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return n, json.loads(raw[8:8 + n]), raw[8 + n:]


def assert_error(exc_info, code, *words):
    err = exc_info.value
    assert isinstance(err, unet.UnetError)
    assert err.code == code, (err.code, err.message)
    assert err.status and isinstance(err.status, str)
    for w in words:
        assert w in err.message, (w, err.message)


@pytest.fixture(scope="module")
def same_model():
    with unet.Model.create(SAME, seed=1) as m:
        m.set_metadata("preprocessing", {"normalize": "none"})
        yield m


@pytest.fixture(scope="module")
def valid_model():
    with unet.Model.create(VALID, seed=2) as m:
        m.set_metadata("preprocessing", {"normalize": "none"})
        yield m


# ---- package --------------------------------------------------------------------------------

def test_import_does_not_import_torch():
    code = "import sys, unet; assert 'torch' not in sys.modules, 'unet imported torch'"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(unet.__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_version():
    assert unet.version() == unet.__version__
    assert len(unet.version().split(".")) == 3


# ---- creation and config --------------------------------------------------------------------

def test_create_defaults():
    with unet.Model.create({}) as m:
        assert m.config == DEFAULTS
        assert (m.ndim, m.in_channels, m.out_channels, m.depth) == (2, 1, 1, 4)
        assert m.block_multiple == 8 and m.is_same_padding
        shapes = {k: v.shape for k, v in m.state_dict().items()}
        assert shapes == expected_shapes({})
        assert m.param_count == sum(int(np.prod(s)) for s in shapes.values())


def test_partial_config_filled():
    cfg = {"depth": 3, "base_features": 12, "growth": 1.5, "block": "cbrcgr",
           "upsample": "bilinear", "upsample_conv": True, "out_channels": 3}
    with unet.Model.create(cfg) as m:
        assert m.config == dict(DEFAULTS, **cfg)
        assert {k: v.shape for k, v in m.state_dict().items()} == expected_shapes(cfg)


@pytest.mark.parametrize("depth,factor,multiple", [(2, 2, 2), (4, 2, 8), (5, 2, 16),
                                                   (3, 3, 9), (2, 3, 3)])
def test_block_multiple(depth, factor, multiple):
    with unet.Model.create({"depth": depth, "factor": factor, "base_features": 4}) as m:
        assert m.block_multiple == multiple == factor ** (depth - 1)


def test_seed_determines_weights():
    a, b, c = (unet.Model.create(SAME, seed=s) for s in (5, 5, 6))
    for (name, x), y, z in zip(a.state_dict().items(), b.state_dict().values(),
                               c.state_dict().values()):
        assert np.array_equal(x, y), name
        if name.endswith(".weight"):
            assert not np.array_equal(x, z), name
            assert np.all(np.isfinite(x)) and x.std() > 0, name


@pytest.mark.parametrize("config,code,word", [
    ({"bogus_key": 1}, E_INVALID_ARG, "bogus_key"),
    ({"ndim": 3}, E_UNSUPPORTED, "3"),
    ({"padding": "wide"}, E_INVALID_ARG, "wide"),
    ({"block": "cxr"}, E_INVALID_ARG, "cxr"),
    ({"depth": 0}, E_INVALID_ARG, "depth"),
    ({"upsample": "cubic"}, E_INVALID_ARG, "cubic"),
    ({"final_activation": "tanh"}, E_INVALID_ARG, "tanh"),
])
def test_bad_config(config, code, word):
    with pytest.raises(unet.UnetError) as e:
        unet.Model.create(config)
    assert_error(e, code, word)


# ---- files ----------------------------------------------------------------------------------

def test_save_load_roundtrip(tmp_path):
    cfg = {"depth": 3, "base_features": 8, "block": "cbrcbr", "out_channels": 2,
           "final_activation": "softmax"}
    path = str(tmp_path / "m.unet")
    with unet.Model.create(cfg, seed=7) as m:
        m.set_metadata("preprocessing", {"normalize": "percentile", "low": 1.0, "high": 99.8})
        m.set_metadata("training", {"epochs": 3, "data": "synthetic"})
        m.save(path)
        before, meta = m.state_dict(), m.metadata
    with unet.Model.load(path) as m2:
        after = m2.state_dict()
        assert list(after) == list(before)
        for name in before:
            assert after[name].dtype == np.float32
            assert np.array_equal(after[name], before[name]), name
        meta2 = m2.metadata
        assert {k: v for k, v in meta2.items() if k != "crc32"} == \
            {k: v for k, v in meta.items() if k != "crc32"}
        assert meta2["format_version"] == 1 and meta2["architecture"] == dict(DEFAULTS, **cfg)
        # Saving the loaded model gives the same bytes.
        m2.save(str(tmp_path / "again.unet"))
    assert open(path, "rb").read() == open(str(tmp_path / "again.unet"), "rb").read()


def test_file_is_plain_safetensors(tmp_path):
    path = str(tmp_path / "m.unet")
    with unet.Model.create(SAME, seed=3) as m:
        m.save(path)
        state = m.state_dict()
    n, header, data = read_safetensors_header(path)
    assert n % 8 == 0
    doc = json.loads(header.pop("__metadata__")["libunet"])
    assert doc["format_version"] == 1
    assert doc["crc32"] == "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    spans = sorted(v["data_offsets"] for v in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gaps between tensors"
    for name, v in header.items():
        assert v["dtype"] == "F32" and tuple(v["shape"]) == state[name].shape
        lo, hi = v["data_offsets"]
        assert np.array_equal(np.frombuffer(data[lo:hi], "<f4").reshape(v["shape"]), state[name])


def test_bytes_roundtrip():
    with unet.Model.create(SAME, seed=4) as m:
        blob = m.to_bytes()
        with unet.Model.from_bytes(blob) as m2:
            assert m2.to_bytes() == blob
            assert m2.config == m.config


def test_plain_state_dict_with_config(tmp_path):
    path = str(tmp_path / "plain.safetensors")
    with unet.Model.create(SAME, seed=8) as m:
        state = m.state_dict()
    write_safetensors(path, state)
    with unet.Model.load(path, config=SAME) as m2:
        for name, x in m2.state_dict().items():
            assert np.array_equal(x, state[name]), name
    with pytest.raises(unet.UnetError):  # no metadata and no config
        unet.Model.load(path)
    with pytest.raises(unet.UnetError):  # tensors that do not fit the config
        unet.Model.load(path, config=dict(SAME, base_features=16))


def test_load_errors(tmp_path):
    with pytest.raises(unet.UnetError) as e:
        unet.Model.load(str(tmp_path / "missing.unet"))
    assert_error(e, E_IO)

    garbage = tmp_path / "garbage.unet"
    garbage.write_bytes(os.urandom(1000))
    with pytest.raises(unet.UnetError) as e:
        unet.Model.load(str(garbage))
    assert_error(e, E_FORMAT)

    good = tmp_path / "good.unet"
    with unet.Model.create(SAME) as m:
        m.save(str(good))
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.unet"
    truncated.write_bytes(raw[:-5])
    with pytest.raises(unet.UnetError) as e:
        unet.Model.load(str(truncated))
    assert_error(e, E_FORMAT)

    flipped = bytearray(raw)
    flipped[-3] ^= 0x40  # a weight byte: only the checksum can tell
    (tmp_path / "flipped.unet").write_bytes(bytes(flipped))
    with pytest.raises(unet.UnetError) as e:
        unet.Model.load(str(tmp_path / "flipped.unet"))
    assert_error(e, E_FORMAT)


def test_metadata():
    with unet.Model.create(SAME) as m:
        assert m.metadata["format_version"] == 1
        assert m.metadata["architecture"] == m.config
        for pre in ({"normalize": "none"}, {"normalize": "zmuv", "eps": 1e-6},
                    {"normalize": "fixed", "mean": 10.0, "std": 2.5}):
            m.set_metadata("preprocessing", pre)
            assert m.metadata["preprocessing"] == pre
        m.set_metadata("output", {"kind": "probability"})
        assert m.metadata["output"] == {"kind": "probability"}
        m.set_metadata("output", None)
        assert "output" not in m.metadata
        with pytest.raises(unet.UnetError) as e:
            m.set_metadata("architecture", {"depth": 2})
        assert_error(e, E_INVALID_ARG)


def test_stated_halo_only_raises():
    with unet.Model.create(SAME) as m:
        own = m.halo
        assert own > 0
        m.set_metadata("halo", own + 50)
        assert m.halo == own + 50 and m.metadata["halo"] == own + 50
        m.set_metadata("halo", 1)
        assert m.halo == own
        with pytest.raises(unet.UnetError):
            m.set_metadata("halo", -3)


# ---- parameters -----------------------------------------------------------------------------

def test_state_dict_roundtrip():
    a, b = unet.Model.create(SAME, seed=1), unet.Model.create(SAME, seed=2)
    b.load_state_dict(a.state_dict())
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert np.array_equal(x, y), name
    # float64 and list values convert; num_batches_tracked is ignored.
    state = {k: v.astype(np.float64) for k, v in a.state_dict().items()}
    state["down0.bn0.num_batches_tracked"] = np.array(5)
    b.load_state_dict(state)
    x = np.ones((1, 16, 16), np.float32)
    assert np.array_equal(a.forward(x), b.forward(x))


def test_state_dict_errors():
    m = unet.Model.create(SAME, seed=1)
    good = m.state_dict()
    bad = dict(good, **{"down0.conv0.weight": np.zeros((8, 1, 5, 5), np.float32)})
    with pytest.raises(unet.UnetError) as e:
        m.load_state_dict(bad)
    assert_error(e, E_SHAPE, "down0.conv0.weight")

    missing = dict(good)
    del missing["out.bias"]
    with pytest.raises(unet.UnetError) as e:
        m.load_state_dict(missing)
    assert "out.bias" in e.value.message

    with pytest.raises(unet.UnetError) as e:
        m.load_state_dict(dict(good, extra=np.zeros(3)))
    assert "extra" in e.value.message

    # Failures change nothing; non-strict loads take a subset and ignore unknown names.
    zeros = {k: np.zeros_like(v) for k, v in good.items()}
    with pytest.raises(unet.UnetError):
        m.load_state_dict(dict(zeros, **{"out.bias": np.zeros(7)}))
    assert all(np.array_equal(m.state_dict()[k], v) for k, v in good.items())
    m.load_state_dict({"out.bias": np.full(1, 0.5), "nope": np.zeros(1)}, strict=False)
    assert m.state_dict()["out.bias"][0] == 0.5
    assert np.array_equal(m.state_dict()["out.weight"], good["out.weight"])


# ---- shapes and forward ---------------------------------------------------------------------

def test_forward_shapes_same(rng):
    with unet.Model.create(dict(SAME, out_channels=2, in_channels=3)) as m:
        x = rng.standard_normal((2, 3, 32, 48)).astype(np.float32)
        y = m.forward(x)
        assert y.shape == (2, 2, 32, 48) and y.dtype == np.float32
        assert m.forward(x[1]).shape == (2, 32, 48)
        assert np.allclose(m.forward(x[1]), y[1], rtol=0, atol=1e-6)
        assert m.output_shape((2, 3, 32, 48)) == (2, 2, 32, 48)
        assert m.output_shape((32, 48)) == (32, 48)
        assert m.fit_size(37) == (40, 40)


def test_forward_shapes_valid(valid_model, rng):
    m = valid_model
    assert not m.is_same_padding
    # depth 2, 3x3 convs: 40 -4-> 36 -pool-> 18 -4-> 14 -up-> 28 -4-> 24
    assert m.fit_size(40) == (40, 24)
    assert m.halo == 8
    for n in (40, 57):
        size, out = m.fit_size(n)
        assert size >= n and size - out == 2 * m.halo
        x = rng.standard_normal((2, 1, size, size + 4)).astype(np.float32)
        y = m.forward(x)
        assert y.shape == (2, 1) + m.output_shape((size, size + 4))
        assert y.shape[2] == out


def test_forward_size_refused(rng):
    with unet.Model.create(dict(SAME, depth=4)) as m:
        x = rng.standard_normal((1, 37, 37)).astype(np.float32)
        with pytest.raises(unet.UnetError) as e:
            m.forward(x)
        assert_error(e, E_SHAPE)
        assert "32" in e.value.message or "40" in e.value.message, e.value.message
        with pytest.raises(unet.UnetError) as e:
            m.output_shape((1, 1, 37, 40))
        assert e.value.code == E_SHAPE


def test_forward_bad_input(same_model):
    m = same_model
    with pytest.raises(unet.UnetError) as e:
        m.forward(np.zeros((2, 32, 32), np.float32))  # 2 channels, model takes 1
    assert e.value.code in (E_SHAPE, E_INVALID_ARG)
    with pytest.raises(TypeError) as e:
        m.forward(np.zeros((1, 32, 32), np.int32))
    assert isinstance(e.value, unet.UnetError)
    with pytest.raises(unet.UnetError):
        m.forward(np.zeros((32, 32), np.float32))


def test_forward_float64_and_views(same_model, rng):
    x = rng.standard_normal((1, 32, 40))
    y = same_model.forward(x.astype(np.float32))
    assert np.array_equal(same_model.forward(x.astype(np.float32)), y)
    assert np.array_equal(same_model.forward(x), y)
    xt = np.ascontiguousarray(x.astype(np.float32).transpose(0, 2, 1)).transpose(0, 2, 1)
    assert np.array_equal(same_model.forward(xt), y)


def test_forward_threads_agree(same_model, rng):
    x = rng.standard_normal((2, 1, 40, 48)).astype(np.float32)
    one = same_model.forward(x, threads=1)
    two = same_model.forward(x, threads=2)
    assert np.allclose(one, two, rtol=0, atol=1e-5)


def test_forward_nan_does_not_crash(same_model):
    # NaN/inf input may be refused or give NaN, but never crash.
    for bad in (np.nan, np.inf):
        x = np.zeros((1, 32, 32), np.float32)
        x[0, 3, 4] = bad
        try:
            assert same_model.forward(x).shape == (1, 32, 32)
        except unet.UnetError as e:
            assert e.code == E_INVALID_ARG and e.message


# ---- predict --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["same", "valid"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_predict_keeps_size(kind, dtype, rng, same_model, valid_model):
    m = same_model if kind == "same" else valid_model
    img = (rng.random((37, 53)) * 200).astype(dtype)
    y = m.predict(img)
    assert y.shape == (1, 37, 53) and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.array_equal(m.predict(img[None]), y)
    batch = np.stack([img, img[::-1].copy()])[:, None]
    yb = m.predict(batch)
    assert yb.shape == (2, 1, 37, 53)
    assert np.allclose(yb[0], y, rtol=0, atol=1e-5)


def test_predict_channels_and_batch(rng):
    cfg = dict(SAME, in_channels=2, out_channels=3, final_activation="softmax")
    with unet.Model.create(cfg, seed=3) as m:
        m.set_metadata("preprocessing", {"normalize": "zmuv", "eps": 1e-6})
        x = rng.random((3, 2, 21, 30)).astype(np.float32) * [[[[1.0]], [[50.0]]]]
        y = m.predict(x.astype(np.float32))
        assert y.shape == (3, 3, 21, 30)
        assert np.allclose(y.sum(axis=1), 1.0, atol=1e-5)
        for i in range(3):  # normalisation is per image
            assert np.allclose(m.predict(x[i].astype(np.float32)), y[i], rtol=0, atol=1e-5)
        with pytest.raises(unet.UnetError):
            m.predict(x[0, 0])  # (H,W) for a 2-channel model


@pytest.mark.parametrize("final", ["none", "sigmoid", "softmax"])
def test_predict_equals_forward_on_block_multiple(final, rng):
    # forward is the whole network, final activation included (DESIGN 5); predict adds only
    # normalisation (none here) and padding (none needed at a multiple of the block).
    cfg = dict(SAME, out_channels=1 if final == "sigmoid" else 3, final_activation=final)
    with unet.Model.create(cfg, seed=11) as m:
        m.set_metadata("preprocessing", {"normalize": "none"})
        x = rng.standard_normal((2, 1, 32, 48)).astype(np.float32)
        y = m.forward(x)
        if final == "sigmoid":
            assert y.min() >= 0 and y.max() <= 1
        elif final == "softmax":
            assert np.allclose(y.sum(axis=1), 1.0, atol=1e-5)
        assert np.allclose(m.predict(x), y, rtol=0, atol=1e-6)


def test_predict_constant_valid(valid_model):
    # Valid convs, max pooling and nearest upsampling keep a constant image constant, so the
    # reflect-padded prediction must equal the network's value on any constant canvas.
    img = np.full((37, 53), 0.7, np.float32)
    size, _ = valid_model.fit_size(40)
    canvas = valid_model.forward(np.full((1, size, size), 0.7, np.float32))
    y = valid_model.predict(img)
    assert np.allclose(y, canvas[:, :1, :1], rtol=0, atol=1e-5)


def test_predict_dtypes_agree(same_model, rng):
    img = (rng.random((40, 37)) * 255).astype(np.uint8)
    want = same_model.predict(img.astype(np.float32))
    for dtype in (np.uint8, np.uint16, np.int16, np.uint32, np.float64, ">f4"):
        got = same_model.predict(img.astype(dtype))
        assert np.allclose(got, want, rtol=0, atol=1e-6), dtype
    for dtype in (np.int64, np.bool_, np.complex64):
        with pytest.raises(TypeError):
            same_model.predict(img.astype(dtype))
    with pytest.raises(unet.UnetError):
        same_model.predict(img[None, None, None])


def test_predict_normalization(rng):
    img = (rng.random((33, 41)) * 1000 + 50).astype(np.float32)
    with unet.Model.create(SAME, seed=5) as m:
        m.set_metadata("preprocessing", {"normalize": "none"})
        mean, std = img.astype(np.float64).mean(), img.astype(np.float64).std()
        ref = m.predict(((img - mean) / (std + 1e-6)).astype(np.float32))
        m.set_metadata("preprocessing", {"normalize": "zmuv", "eps": 1e-6})
        assert np.allclose(m.predict(img), ref, rtol=0, atol=1e-4)
        m.set_metadata("preprocessing", {"normalize": "fixed", "mean": 500.0, "std": 250.0})
        m2 = unet.Model.from_bytes(m.to_bytes())
        m2.set_metadata("preprocessing", {"normalize": "none"})
        assert np.allclose(m.predict(img), m2.predict((img - 500.0) / 250.0), rtol=0, atol=1e-4)
        # Percentile normalisation is invariant to an affine change of intensities.
        m.set_metadata("preprocessing", {"normalize": "percentile", "low": 1.0, "high": 99.8})
        y = m.predict(img)
        assert np.allclose(m.predict(img * 3.0 + 7.0), y, rtol=0, atol=1e-4)
        assert not np.allclose(y, ref, rtol=0, atol=1e-3)  # it did something else than zmuv


def test_predict_from_threads(same_model, rng):
    imgs = [rng.random((48, 40)).astype(np.float32) for _ in range(4)]
    want = [same_model.predict(im, threads=1) for im in imgs]
    got = [None] * len(imgs)

    def run(i):
        got[i] = same_model.predict(imgs[i], threads=1)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(imgs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


def test_predict_border_modes(same_model, rng):
    img = rng.random((37, 45)).astype(np.float32)
    for border in ("default", "network", "reflect", "zero"):
        assert same_model.predict(img, border=border).shape == (1, 37, 45)
    assert np.array_equal(same_model.predict(img), same_model.predict(img, border="network"))
    with pytest.raises(unet.UnetError):
        same_model.predict(img, border="mirror")


# ---- lifetime -------------------------------------------------------------------------------

def test_close():
    m = unet.Model.create(SAME)
    with m:
        assert m.depth == 3
    with pytest.raises(unet.UnetError):
        m.depth
    m.close()  # twice is fine
    assert "closed" in repr(m)
