"""The bioimage.io "UNet 2D Nuclei Broad" model: its ONNX weights mapped onto a libunet config
must reproduce the published test output."""

import os
import re

import numpy as np
import pytest
from conftest import require

onnx = require("onnx")
torch = require("torch")
numpy_helper = require("onnx.numpy_helper")

import unet
from unet.torch import UNet

CONFIG = {"depth": 4, "base_features": 16, "block": "ccr", "upsample": "bilinear",
          "upsample_conv": True, "final_activation": "sigmoid"}
PREPROCESSING = {"normalize": "zmuv", "eps": 1e-6}

# ONNX initialiser prefix -> DESIGN name prefix.
RENAMES = [
    (r"^encoders\.(\d)\.(\d)\.", lambda m: "down%s.conv%s." % (m[1], m[2])),
    (r"^base\.(\d)\.", lambda m: "down3.conv%s." % m[1]),
    (r"^decoders\.(\d)\.(\d)\.", lambda m: "up%d.conv%s." % (2 - int(m[1]), m[2])),
    (r"^upsamplers\.(\d)\.1\.", lambda m: "up%d." % (2 - int(m[1]))),
    (r"^output\.", lambda m: "out."),
]


def design_name(onnx_name):
    for pattern, repl in RENAMES:
        name, n = re.subn(pattern, repl, onnx_name)
        if n:
            return name
    raise KeyError("unexpected initialiser %s" % onnx_name)


@pytest.fixture(scope="module")
def files(data_dir):
    folder = os.path.join(data_dir, "bioimageio-unet2d-nuclei-broad")
    paths = {k: os.path.join(folder, k) for k in
             ("weights.onnx", "test_input.npy", "test_output.npy")}
    for p in paths.values():
        assert os.path.isfile(p), "missing test data %s" % p
    return paths


@pytest.fixture(scope="module")
def weights(files):
    graph = onnx.load(files["weights.onnx"]).graph
    return {design_name(t.name): numpy_helper.to_array(t) for t in graph.initializer}


@pytest.fixture(scope="module")
def model(weights):
    with unet.Model.create(CONFIG) as m:
        m.load_state_dict(weights)  # strict: every tensor mapped, none left over
        m.set_metadata("preprocessing", PREPROCESSING)
        yield m


@pytest.fixture(scope="module")
def reference(files):
    return np.load(files["test_input.npy"]), np.load(files["test_output.npy"])


@pytest.fixture(scope="module")
def prediction(model, reference):
    return model.predict(reference[0])


def test_mapping_is_complete(model, weights):
    assert model.param_count == 449489 == sum(w.size for w in weights.values())


def test_predict_matches_test_output(prediction, reference):
    x, want = reference
    assert x.shape == want.shape == prediction.shape == (1, 1, 512, 512)
    err = float(np.abs(prediction - want).max())
    print("bioimage.io nuclei broad: max |libunet - test_output| = %.3g" % err)
    assert err <= 1e-4, err


def test_torch_module_matches_test_output(weights, reference):
    x, want = reference
    net = UNet(CONFIG).eval()
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.items()})
    x64 = x.astype(np.float64)
    xn = (x64 - x64.mean()) / (x64.std() + 1e-6)
    with torch.no_grad():
        got = net(torch.from_numpy(xn.astype(np.float32))).numpy()
    err = float(np.abs(got - want).max())
    print("bioimage.io nuclei broad: max |torch - test_output| = %.3g" % err)
    assert err <= 1e-4, err


def test_saved_model_predicts_the_same(model, prediction, reference, tmp_path):
    path = str(tmp_path / "nuclei.unet")
    model.save(path)
    with unet.Model.load(path) as loaded:
        assert loaded.metadata["preprocessing"] == PREPROCESSING
        assert loaded.config == model.config
        assert np.array_equal(loaded.predict(reference[0]), prediction)
