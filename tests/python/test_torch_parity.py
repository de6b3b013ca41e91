"""libunet against the reference PyTorch module on configs that together use every config
key and value: same weights in, same numbers out (eval mode, random weights and BN stats)."""

import re

import numpy as np
import pytest
from conftest import require

torch = require("torch")

import unet
from unet.torch import UNet, export, load

torch.set_num_threads(2)

# (name, config, sizes); sizes are (H, W) for same padding, wanted minima for valid padding.
CONFIGS = [
    ("all-keys-default", {
        "ndim": 2, "in_channels": 1, "out_channels": 1, "depth": 4, "base_features": 8,
        "growth": 2, "kernel_size": 3, "padding": "same", "block": "crcr",
        "downsample": "maxpool", "factor": 2, "upsample": "transposed",
        "upsample_conv": False, "skip": "concat", "final_activation": "none"},
        [(32, 48), (64, 40)]),
    ("valid-transposed", {"depth": 2, "base_features": 16, "padding": "valid",
                          "in_channels": 2, "final_activation": "sigmoid"}, [40, 61]),
    ("bilinear-conv-ccr", {"depth": 3, "base_features": 8, "growth": 1.5, "block": "ccr",
                           "upsample": "bilinear", "upsample_conv": True,
                           "final_activation": "sigmoid"}, [(32, 32), (48, 36)]),
    ("bn-nearest-softmax", {"depth": 3, "base_features": 12, "block": "cbrcbr",
                            "upsample": "nearest", "in_channels": 3, "out_channels": 3,
                            "final_activation": "softmax"}, [(32, 44), (40, 40)]),
    ("gn8-avgpool", {"depth": 3, "base_features": 16, "block": "cgrcgr",
                     "downsample": "avgpool", "out_channels": 2}, [(32, 32), (44, 52)]),
    ("gn1-growth1.5", {"depth": 3, "base_features": 12, "growth": 1.5, "block": "cgrcgr",
                       "upsample": "bilinear", "final_activation": "sigmoid"},
     [(36, 28), (48, 48)]),
    ("valid-k5-leaky", {"depth": 2, "base_features": 8, "kernel_size": 5, "padding": "valid",
                        "block": "clcl", "upsample": "nearest", "upsample_conv": True,
                        "final_activation": "sigmoid"}, [44, 60]),
    ("elu-k5-bilinear-softmax", {"depth": 3, "base_features": 8, "kernel_size": 5,
                                 "block": "cece", "downsample": "avgpool",
                                 "upsample": "bilinear", "out_channels": 2,
                                 "final_activation": "softmax"}, [(32, 40), (48, 32)]),
    ("dropout", {"depth": 3, "base_features": 8, "block": "crdcr", "in_channels": 2},
     [(32, 36), (40, 48)]),
    ("factor3-same", {"depth": 3, "base_features": 8, "factor": 3}, [(27, 36), (45, 54)]),
    ("factor3-valid", {"depth": 2, "base_features": 8, "factor": 3, "padding": "valid",
                       "block": "ccr", "downsample": "avgpool", "upsample": "bilinear",
                       "upsample_conv": True, "out_channels": 2}, [40, 52]),
    ("depth5", {"depth": 5, "base_features": 8, "upsample": "nearest", "upsample_conv": True,
                "out_channels": 3, "final_activation": "softmax"}, [(32, 48), (64, 32)]),
    ("valid-depth4-bn", {"depth": 4, "base_features": 8, "padding": "valid",
                         "block": "cbrcbr", "out_channels": 3,
                         "final_activation": "softmax"}, [92, 110]),
    ("base32", {"depth": 2, "base_features": 32, "block": "ccr", "in_channels": 3},
     [(32, 34), (48, 40)]),
    ("valid-bilinear-growth1.5", {"depth": 3, "base_features": 10, "growth": 1.5,
                                  "padding": "valid", "upsample": "bilinear",
                                  "final_activation": "sigmoid"}, [52, 70]),
]

WORST = {}  # config name -> (max abs error, bound)


def fan_in(name, weight, cfg):
    if re.fullmatch(r"up\d+\.weight", name) and cfg.get("upsample") == "transposed":
        return weight.shape[0]  # [in, out, f, f]: one tap per input channel per output pixel
    return weight[0].numel()


def random_module(cfg, seed):
    """A UNet in eval mode with random weights, BN statistics and norm affine parameters.
    He-scaled weights keep activations O(1) through every level, so no layer hides."""
    torch.manual_seed(seed)
    net = UNet(cfg)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 4:
                p.normal_(0, (2.0 / fan_in(name, p, cfg)) ** 0.5)
            elif name.endswith(".bias"):
                p.normal_(0, 0.1)
        for mod in net.modules():
            if isinstance(mod, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.2)
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.num_batches_tracked.fill_(7)
    return net.eval()


def input_shapes(model, cfg, sizes):
    if cfg.get("padding") == "valid":
        return [(model.fit_size(n)[0], model.fit_size(n + 6)[0]) for n in sizes]
    return sizes


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    print("\nworst |libunet - torch| per config:")
    for name, (err, bound) in WORST.items():
        print("  %-26s %.3g (bound %.3g)" % (name, err, bound))


def test_configs_cover_every_key_and_value():
    seen = {}
    for _, cfg, _ in CONFIGS:
        for key, value in cfg.items():
            seen.setdefault(key, set()).add(value)
    need = {
        "depth": {2, 3, 4, 5}, "growth": {1.5, 2}, "kernel_size": {3, 5},
        "padding": {"same", "valid"}, "downsample": {"maxpool", "avgpool"},
        "upsample": {"transposed", "nearest", "bilinear"}, "upsample_conv": {True, False},
        "block": {"crcr", "ccr", "cbrcbr", "cgrcgr", "clcl", "cece", "crdcr"},
        "final_activation": {"none", "sigmoid", "softmax"}, "in_channels": {1, 2, 3},
        "out_channels": {1, 2, 3}, "factor": {2, 3}, "skip": {"concat"}, "ndim": {2},
        "base_features": {8, 32},
    }
    for key, values in need.items():
        assert values <= seen.get(key, set()), (key, values - seen.get(key, set()))
    ups = {(c.get("upsample"), c.get("upsample_conv", False)) for _, c, _ in CONFIGS}
    assert {("nearest", True), ("nearest", False), ("bilinear", True),
            ("bilinear", False)} <= ups


@pytest.mark.parametrize("name,cfg,sizes", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_forward_parity(name, cfg, sizes):
    net = random_module(cfg, seed=[c[0] for c in CONFIGS].index(name) + 1)
    worst = bound = 0.0
    with unet.Model.create(cfg) as model:
        model.load_state_dict(net.state_dict())
        assert set(model.state_dict()) == {k for k in net.state_dict()
                                           if not k.endswith(".num_batches_tracked")}
        for h, w in input_shapes(model, cfg, sizes):
            x = torch.randn(2, model.in_channels, h, w)
            with torch.no_grad():
                want = net(x).numpy()
            got = model.forward(x.numpy())
            assert got.shape == want.shape, (name, h, w)
            err = float(np.abs(got - want).max())
            worst, bound = max(worst, err), max(bound, 1e-4 * (1 + float(np.abs(want).max())))
            if cfg.get("padding") != "valid":
                # predict without normalisation at a block multiple is the same network
                model.set_metadata("preprocessing", {"normalize": "none"})
                if h % model.block_multiple == 0 and w % model.block_multiple == 0:
                    err = float(np.abs(model.predict(x.numpy()) - want).max())
                    worst = max(worst, err)
    WORST[name] = (worst, bound)
    print("parity %-26s worst %.3g (bound %.3g)" % (name, worst, bound))
    assert worst <= bound, "%s: max |libunet - torch| = %.3g > %.3g" % (name, worst, bound)


def test_same_padding_predict_pads_by_reflection():
    # "network" border: reflect-pad the far edges up to the block multiple, run, crop.
    cfg = {"depth": 3, "base_features": 8, "block": "cbrcbr", "final_activation": "sigmoid"}
    net = random_module(cfg, seed=99)
    with unet.Model.create(cfg) as model:
        model.load_state_dict(net.state_dict())
        model.set_metadata("preprocessing", {"normalize": "none"})
        x = np.random.default_rng(0).standard_normal((1, 1, 37, 53)).astype(np.float32)
        canvas = np.pad(x, ((0, 0), (0, 0), (0, 3), (0, 3)), mode="reflect")  # 40 x 56
        with torch.no_grad():
            want = net(torch.from_numpy(canvas)).numpy()[..., :37, :53]
        err = float(np.abs(model.predict(x) - want).max())
    print("parity predict-reflect worst %.3g" % err)
    assert err <= 1e-4, err


def test_export_and_load_through_file(tmp_path):
    cfg = {"depth": 3, "base_features": 8, "block": "cbrcgr", "upsample": "bilinear",
           "upsample_conv": True, "out_channels": 2, "final_activation": "softmax"}
    net = random_module(cfg, seed=42)
    path = str(tmp_path / "net.unet")
    pre = {"normalize": "zmuv", "eps": 1e-6}
    export(net, cfg, path, preprocessing=pre)

    back = load(path)
    assert not back.training
    ref = net.state_dict()
    for key, value in back.state_dict().items():
        if not key.endswith(".num_batches_tracked"):
            assert torch.equal(value, ref[key]), key

    x = torch.randn(2, 1, 32, 40)
    with torch.no_grad():
        want = net(x).numpy()
        assert np.array_equal(back(x).numpy(), want)
    with unet.Model.load(path) as model:
        assert model.metadata["preprocessing"] == pre
        assert model.config == back.config
        err = float(np.abs(model.forward(x.numpy()) - want).max())
    print("parity export-file worst %.3g" % err)
    assert err <= 1e-4 * (1 + float(np.abs(want).max()))


def test_torch_config_errors():
    with pytest.raises(ValueError):
        UNet({"depht": 3})
    with pytest.raises(ValueError):
        UNet({"upsample": "cubic"})
