"""The reference PyTorch U-Net: the semantics and tensor names of DESIGN section 5, so its
state_dict and a libunet model's tensors match one to one (plus num_batches_tracked)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

DEFAULTS = {
    "ndim": 2, "in_channels": 1, "out_channels": 1, "depth": 4, "base_features": 32,
    "growth": 2, "kernel_size": 3, "padding": "same", "block": "crcr",
    "downsample": "maxpool", "factor": 2, "upsample": "transposed", "upsample_conv": False,
    "skip": "concat", "final_activation": "none",
}

_CHOICES = {
    "padding": ("same", "valid"), "downsample": ("maxpool", "avgpool"),
    "upsample": ("transposed", "nearest", "bilinear"), "skip": ("concat",),
    "final_activation": ("none", "sigmoid", "softmax"),
}


def full_config(config=None):
    """The config with every key present; unknown keys and values raise ValueError."""
    cfg = dict(DEFAULTS)
    for key, value in (config or {}).items():
        if key not in DEFAULTS:
            raise ValueError("unknown config key %r" % key)
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ValueError("config %s %r is not one of %s" % (key, value, _CHOICES[key]))
        cfg[key] = value
    if cfg["ndim"] != 2:
        raise ValueError("only 2-D U-Nets are supported (ndim %r)" % cfg["ndim"])
    bad = set(cfg["block"]) - set("crlebgd")
    if bad or "c" not in cfg["block"]:
        raise ValueError("block %r must be made of c r l e b g d with at least one c"
                         % cfg["block"])
    return cfg


def features(cfg, level):
    return int(math.floor(cfg["base_features"] * cfg["growth"] ** level + 0.5))


def _groups(channels):
    return 8 if channels % 8 == 0 else 1


class Block(nn.Module):
    """The ops of the block string in order; convs and norms numbered as libunet names them."""

    def __init__(self, ops, in_ch, out_ch, kernel, pad):
        super().__init__()
        self.ops = []  # (kind, submodule name or None)
        count = {"conv": 0, "bn": 0, "gn": 0}
        ch = in_ch
        for op in ops:
            if op == "c":
                name, layer = "conv%d" % count["conv"], nn.Conv2d(ch, out_ch, kernel, padding=pad)
                ch = out_ch
            elif op == "b":
                name, layer = "bn%d" % count["bn"], nn.BatchNorm2d(ch, eps=1e-5)
            elif op == "g":
                name, layer = "gn%d" % count["gn"], nn.GroupNorm(_groups(ch), ch, eps=1e-5)
            else:
                self.ops.append((op, None))
                continue
            count[name.rstrip("0123456789")] += 1
            self.add_module(name, layer)
            self.ops.append((op, name))

    def run(self, x):
        for op, name in self.ops:
            if name is not None:
                x = getattr(self, name)(x)
            elif op == "r":
                x = F.relu(x)
            elif op == "l":
                x = F.leaky_relu(x, 0.01)
            elif op == "e":
                x = F.elu(x, 1.0)
            elif op == "d":
                x = F.dropout(x, 0.1, self.training)
        return x

    forward = run


class UpLevel(Block):
    """Decoder level: upsampling (own weight/bias when it has a conv), concat, block."""

    def __init__(self, cfg, level):
        f_in, f_out = features(cfg, level + 1), features(cfg, level)
        mode, factor = cfg["upsample"], cfg["factor"]
        up_ch = f_out if mode == "transposed" or cfg["upsample_conv"] else f_in
        pad = cfg["kernel_size"] // 2 if cfg["padding"] == "same" else 0
        super().__init__(cfg["block"], f_out + up_ch, f_out, cfg["kernel_size"], pad)
        self.mode, self.factor = mode, factor
        if mode == "transposed":
            layer = nn.ConvTranspose2d(f_in, f_out, factor, stride=factor)
        elif cfg["upsample_conv"]:
            layer = nn.Conv2d(f_in, f_out, 1)
        else:
            layer = None
        if layer is not None:  # borrow the layer's default init, keep the flat names up{l}.*
            self.weight = nn.Parameter(layer.weight.detach().clone())
            self.bias = nn.Parameter(layer.bias.detach().clone())
        else:
            self.weight = self.bias = None

    def upsample(self, x):
        if self.mode == "transposed":
            return F.conv_transpose2d(x, self.weight, self.bias, stride=self.factor)
        size = (x.shape[-2] * self.factor, x.shape[-1] * self.factor)
        if self.mode == "nearest":
            x = F.interpolate(x, size=size, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x if self.weight is None else F.conv2d(x, self.weight, self.bias)

    def forward(self, x, skip):
        up = self.upsample(x)
        dy, dx = (skip.shape[-2] - up.shape[-2]) // 2, (skip.shape[-1] - up.shape[-1]) // 2
        skip = skip[..., dy:dy + up.shape[-2], dx:dx + up.shape[-1]]  # valid padding: centre crop
        return self.run(torch.cat([skip, up], dim=1))


class UNet(nn.Module):
    """U-Net of a libunet config; forward applies the final activation, logits does not."""

    def __init__(self, config=None):
        super().__init__()
        cfg = self.config = full_config(config)
        depth, k = cfg["depth"], cfg["kernel_size"]
        pad = k // 2 if cfg["padding"] == "same" else 0
        ch = cfg["in_channels"]
        for level in range(depth):
            self.add_module("down%d" % level, Block(cfg["block"], ch, features(cfg, level), k, pad))
            ch = features(cfg, level)
        for level in range(depth - 2, -1, -1):
            self.add_module("up%d" % level, UpLevel(cfg, level))
        self.out = nn.Conv2d(features(cfg, 0), cfg["out_channels"], 1)

    def logits(self, x):
        cfg = self.config
        pool = F.max_pool2d if cfg["downsample"] == "maxpool" else F.avg_pool2d
        skips = []
        for level in range(cfg["depth"]):
            if level > 0:
                x = pool(x, cfg["factor"], cfg["factor"])
            x = getattr(self, "down%d" % level)(x)
            skips.append(x)
        for level in range(cfg["depth"] - 2, -1, -1):
            x = getattr(self, "up%d" % level)(x, skips[level])
        return self.out(x)

    def forward(self, x):
        x = self.logits(x)
        act = self.config["final_activation"]
        if act == "sigmoid":
            return torch.sigmoid(x)
        if act == "softmax":
            return torch.softmax(x, dim=1)
        return x


def export(module, config, path, preprocessing=None):
    """Save a module's weights as a .unet file (with optional preprocessing metadata)."""
    from .model import Model

    with Model.create(config) as model:
        model.load_state_dict(module.state_dict())
        if preprocessing is not None:
            model.set_metadata("preprocessing", preprocessing)
        model.save(path)


def load(path):
    """A UNet in eval mode with the weights and config of a .unet file."""
    from .model import Model

    with Model.load(path) as model:
        net = UNet(model.config)
        state = {k: torch.from_numpy(v) for k, v in model.state_dict().items()}
    net.load_state_dict(state, strict=False)  # no num_batches_tracked in the file
    missing = set(net.state_dict()) - set(state)
    if any(not k.endswith(".num_batches_tracked") for k in missing):
        raise ValueError("%s lacks tensors: %s" % (path, sorted(missing)))
    return net.eval()
