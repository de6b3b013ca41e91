"""Importing models: the bioimage.io U-Net (YAML + ONNX) and reference state dicts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require

tifffile = require("tifffile")

import unet
from unet.importer import ImportError_, import_bioimageio, import_state_dict

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("UNET_SHARED_DATA", ROOT.parent / "shared" / "data"))
BROAD = DATA / "bioimageio-unet2d-nuclei-broad"
CLI = os.environ.get("UNET_CLI", str(ROOT / "build/tools/unet"))


def python_m_unet(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bindings" / "python"))
    return subprocess.run([sys.executable, "-m", "unet", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


def test_bioimageio_through_unet_predict_tiles(tmp_path):
    assert BROAD.is_dir(), "shared data missing: %s" % BROAD
    out = tmp_path / "broad.unet"
    r = python_m_unet("import", BROAD / "bioimageio.yaml", "-o", out)
    assert r.returncode == 0, r.stderr
    with unet.Model.load(out) as m:
        cfg = m.config
        assert (cfg["depth"], cfg["base_features"], cfg["block"], cfg["upsample"],
                cfg["upsample_conv"], cfg["final_activation"]) == (4, 16, "ccr", "bilinear", True,
                                                                    "sigmoid")
        assert m.param_count == 449489
        assert m.metadata["preprocessing"] == {"normalize": "zmuv", "eps": 1e-6}
        # The model states a halo of 32, below its receptive field: it may only raise it.
        assert m.metadata["halo"] == 32 and m.halo > 32
    x = np.load(BROAD / "test_input.npy")[0, 0]
    want = np.load(BROAD / "test_output.npy")[0, 0]
    src, dst = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, x.astype(np.float32))
    r = subprocess.run([CLI, "predict", "--model", str(out), str(src), "-o", str(dst), "--tile",
                        "256", "--border", "network", "--quiet"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    err = float(np.abs(tifffile.imread(dst) - want).max())
    print("bioimage.io import, unet predict --tile 256: max |diff| = %.3g" % err)
    assert err <= 1e-4


def test_unsupported_onnx_names_the_node(tmp_path):
    onnx = require("onnx")
    TensorProto, helper = onnx.TensorProto, require("onnx.helper")
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1, 3, 3], np.zeros(36, np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv0", pads=[1, 1, 1, 1],
                              kernel_shape=[3, 3]),
             helper.make_node("Tanh", ["c"], ["t"], name="squash")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph), tmp_path / "w.onnx")
    (tmp_path / "rdf.yaml").write_text("name: t\nweights:\n  onnx:\n    source: w.onnx\n")
    with pytest.raises(ImportError_, match="'squash' \\(op Tanh\\)"):
        import_bioimageio(tmp_path / "rdf.yaml")
    r = python_m_unet("import", tmp_path / "rdf.yaml", "-o", tmp_path / "x.unet")
    assert r.returncode == 1 and "squash" in r.stderr
    assert not (tmp_path / "x.unet").exists()


def test_state_dict_import(tmp_path):
    torch = require("torch")
    from unet.torch import UNet
    cfg = {"depth": 2, "base_features": 4, "block": "cbr"}
    module = UNet(cfg).eval()
    torch.save(module.state_dict(), tmp_path / "s.pt")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    r = python_m_unet("import", tmp_path / "s.pt", "--config", tmp_path / "cfg.json", "-o",
                      tmp_path / "s.unet")
    assert r.returncode == 0, r.stderr
    with unet.Model.load(tmp_path / "s.unet") as m:
        for name, value in module.state_dict().items():
            if not name.endswith("num_batches_tracked"):
                assert np.array_equal(m.state_dict()[name], value.numpy()), name
    r = python_m_unet("import", tmp_path / "s.pt", "-o", tmp_path / "t.unet")
    assert r.returncode != 0 and "--config" in r.stderr
