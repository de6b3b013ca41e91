"""libunet's training against PyTorch autograd and torch.optim: the gradients of every
parameter on configs that together use every op (batchnorm in training mode, group norm,
dropout with libunet's mask reproduced here, every upsampling, pooling, activation and
padding), the losses with their options, batchnorm running statistics, and the optimizers
with schedules and clipping over several steps."""

import math

import numpy as np
import pytest
from conftest import require

torch = require("torch")
F = require("torch.nn.functional")

import unet
import unet.torch as ut
from unet.torch import UNet
from unet.train import Trainer

torch.set_num_threads(2)

# (name, config, input size): together every op of the graph.
CONFIGS = [
    ("default-transposed-maxpool", {"depth": 3, "base_features": 8, "in_channels": 2,
                                    "out_channels": 2}, (24, 32)),
    ("bn-nearest-conv-sigmoid", {"depth": 3, "base_features": 8, "block": "cbrcbr",
                                 "upsample": "nearest", "upsample_conv": True,
                                 "final_activation": "sigmoid"}, (32, 24)),
    ("gn-bilinear-elu-softmax", {"depth": 3, "base_features": 8, "growth": 1.5,
                                 "block": "cgecge", "upsample": "bilinear",
                                 "out_channels": 3, "final_activation": "softmax",
                                 "downsample": "avgpool"}, (24, 24)),
    ("dropout-leaky-k5", {"depth": 2, "base_features": 8, "kernel_size": 5,
                          "block": "cldcl", "in_channels": 2}, (20, 28)),
    ("valid-crop-bn", {"depth": 3, "base_features": 8, "padding": "valid",
                       "block": "cbrcbr", "final_activation": "sigmoid"}, (44, 60)),
    ("factor3-valid-bilinear", {"depth": 2, "base_features": 8, "factor": 3,
                                "padding": "valid", "block": "ccr", "downsample": "avgpool",
                                "upsample": "bilinear", "upsample_conv": True,
                                "out_channels": 2}, (25, 31)),
]

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def hash64(z):
    """splitmix64's finaliser on Python ints (libunet's unet__hash64)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def hash64_np(z):
    z = z.copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def dropout_nodes(cfg):
    """Graph node indices of the dropout ops, in the builder's order (DESIGN section 5)."""
    cfg = ut.full_config(cfg)
    nodes, node = [], 1  # node 0 is the input
    for level in range(cfg["depth"]):
        if level > 0:
            node += 1  # pooling
        for op in cfg["block"]:
            if op == "d":
                nodes.append(node)
            node += 1
    for level in range(cfg["depth"] - 2, -1, -1):
        node += 1 if cfg["upsample"] == "transposed" else 1 + int(cfg["upsample_conv"])
        node += 1 if cfg["padding"] == "valid" else 0  # crop
        node += 1  # concat
        for op in cfg["block"]:
            if op == "d":
                nodes.append(node)
            node += 1
    return nodes


def dropout_mask(seed, step, node, shape, p=0.1):
    """libunet's dropout mask of a node at a step (keep = True)."""
    key = hash64(hash64(seed ^ 0xD0D0) + step + 1) ^ hash64(node + 1)
    i = np.arange(1, int(np.prod(shape)) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = hash64_np(np.uint64(key) + i * np.uint64(GOLDEN))
    u = (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return (u >= p).reshape(shape)


class LibunetDropout:
    """Replaces F.dropout in the reference module with libunet's masks, in call order."""

    def __init__(self, cfg, seed=0, step=0):
        self.nodes = dropout_nodes(cfg)
        self.seed, self.step, self.calls = seed, step, 0
        self.original = ut.F.dropout

    def __call__(self, x, p=0.5, training=True, inplace=False):
        if not training:
            return x
        node = self.nodes[self.calls % len(self.nodes)]
        self.calls += 1
        keep = torch.from_numpy(dropout_mask(self.seed, self.step, node, tuple(x.shape)))
        return x * keep.to(x.dtype) / (1 - p)


def make_pair(cfg, seed=3):
    model = unet.Model.create(cfg, seed=seed)
    net = UNet(cfg)
    state = {k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    # non-trivial biases and norm affines, so every gradient path is exercised
    for k, v in state.items():
        if k.endswith(".bias") or ".bn" in k or ".gn" in k:
            if k.endswith("running_var"):
                v.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, v.shape).astype(np.float32)))
            elif k.endswith(".weight"):
                v.copy_(torch.from_numpy((1 + 0.2 * rng.standard_normal(v.shape))
                                         .astype(np.float32)))
            else:
                v.copy_(torch.from_numpy((0.1 * rng.standard_normal(v.shape))
                                         .astype(np.float32)))
    model.load_state_dict({k: v.numpy() for k, v in state.items()})
    net.load_state_dict(state, strict=False)
    return model, net


def rel_err(a, b, floor=0.0):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), floor, 1e-30))


def compare_grads(trainer, net, tol=1e-3):
    params = dict(net.named_parameters())
    floor = 1e-3 * max(float(p.grad.norm()) for p in params.values() if p.grad is not None)
    worst = (0.0, None)
    for name, p in params.items():
        got = trainer.gradient(name)
        want = p.grad.detach().numpy() if p.grad is not None else np.zeros_like(got)
        e = rel_err(got, want, floor)
        worst = max(worst, (e, name))
    assert worst[0] <= tol, "worst gradient %s: relative error %.3g" % (worst[1], worst[0])
    return worst[0]


@pytest.mark.parametrize("name,cfg,size", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_gradients_match_autograd(name, cfg, size, monkeypatch):
    model, net = make_pair(cfg)
    net.train()
    rng = np.random.default_rng(7)
    n, cin = 2, model.in_channels
    x = rng.standard_normal((n, cin) + size).astype(np.float32)
    out_shape = model.output_shape((n, cin) + size)
    target = rng.standard_normal(out_shape).astype(np.float32)
    drop = LibunetDropout(cfg)
    monkeypatch.setattr(ut.F, "dropout", drop)
    with Trainer(model, loss="mse", seed=0) as t:
        loss = t.compute_gradients(x, target)
        out = net(torch.from_numpy(x))
        ref = F.mse_loss(out, torch.from_numpy(target))
        ref.backward()
        assert abs(loss - ref.item()) <= 1e-5 * abs(ref.item())
        compare_grads(t, net)
    if "d" in cfg.get("block", ""):
        assert drop.calls > 0


def test_batchnorm_running_statistics_match_torch():
    cfg = {"depth": 2, "base_features": 8, "block": "cbrcbr"}
    model, net = make_pair(cfg)
    net.train()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 1, 16, 16)).astype(np.float32)
    target = rng.standard_normal((3, 1, 16, 16)).astype(np.float32)
    with Trainer(model, loss="mse", optimizer="sgd", lr=0.0, momentum=0) as t:
        t.step_batch(x, target)
        net(torch.from_numpy(x))
    sd = model.state_dict()
    for k, v in net.state_dict().items():
        if "running" in k:
            np.testing.assert_allclose(sd[k], v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


# ---- losses ---------------------------------------------------------------------------------

def torch_loss(kind, z, target, weights=None, pos_weight=1.0, class_weights=None,
               final="none"):
    """The documented reductions (unet/train/loss.h) written with torch ops."""
    z = z.double()
    t = target.double()
    if kind in ("mse", "l1", "bce"):
        valid = ~torch.isnan(t[:, :1])
        tt = torch.nan_to_num(t)
        if kind == "mse":
            el = (z - tt) ** 2
        elif kind == "l1":
            el = (z - tt).abs()
        else:
            el = F.binary_cross_entropy_with_logits(
                z, tt, pos_weight=torch.tensor(pos_weight, dtype=torch.float64),
                reduction="none")
        w = torch.ones_like(z[:, :1]) if weights is None else weights.double()
        el = el * w * valid
        return el.sum() / (valid.sum() * z.shape[1])
    if kind == "ce":
        cls = t[:, 0]
        valid = ~torch.isnan(cls)
        idx = torch.nan_to_num(cls).long()
        cw = torch.ones(z.shape[1], dtype=torch.float64) if class_weights is None else \
            torch.tensor(class_weights, dtype=torch.float64)
        nll = F.cross_entropy(z, idx, reduction="none")
        w = cw[idx] * valid
        pw = torch.ones_like(cls) if weights is None else weights.double()[:, 0]
        return (nll * w * pw).sum() / w.sum()
    if kind == "dice":
        if final == "softmax":
            p = torch.softmax(z, 1)
            cls = t[:, 0]
            valid = ~torch.isnan(cls)
            onehot = F.one_hot(torch.nan_to_num(cls).long(), z.shape[1]).permute(0, 3, 1, 2)
            tt = onehot.double()
            v = valid[:, None]
        else:
            p = torch.sigmoid(z)
            v = ~torch.isnan(t[:, :1])
            tt = torch.nan_to_num(t)
        dims = (0, 2, 3)
        inter = (p * tt * v).sum(dims)
        union = (p * v).sum(dims) + (tt * v).sum(dims)
        return (1 - (2 * inter + 1) / (union + 1)).mean()
    if kind == "bce+dice":
        return torch_loss("bce", z, target, weights, pos_weight) + \
            torch_loss("dice", z, target, final=final)
    raise ValueError(kind)


LOSS_CASES = [
    # (loss, config, options, annotate-sparsely, pixel weights)
    ("mse", {"final_activation": "sigmoid"}, {}, False, True),
    ("l1", {"out_channels": 2}, {}, True, True),
    ("bce", {"final_activation": "sigmoid"}, {"pos_weight": 3.0}, True, True),
    ("bce", {}, {}, False, False),
    ("ce", {"out_channels": 3, "final_activation": "softmax"},
     {"class_weights": [0.5, 1.0, 4.0]}, True, True),
    ("ce", {"out_channels": 2}, {}, False, False),
    ("dice", {"final_activation": "sigmoid", "out_channels": 2}, {}, True, False),
    ("dice", {"out_channels": 3, "final_activation": "softmax"}, {}, True, False),
    ("bce+dice", {"final_activation": "sigmoid"}, {"pos_weight": 2.0}, True, True),
]


@pytest.mark.parametrize("loss,extra,options,sparse,weighted", LOSS_CASES,
                         ids=["%s-%d" % (c[0], i) for i, c in enumerate(LOSS_CASES)])
def test_losses_match_torch(loss, extra, options, sparse, weighted):
    cfg = dict({"depth": 2, "base_features": 8}, **extra)
    model, net = make_pair(cfg)
    net.train()
    rng = np.random.default_rng(11)
    n, size = 2, (16, 20)
    x = rng.standard_normal((n, 1) + size).astype(np.float32)
    oc = model.out_channels
    final = cfg.get("final_activation", "none")
    class_t = loss == "ce" or (loss == "dice" and final == "softmax")
    if class_t:
        target = rng.integers(0, oc, (n, 1) + size).astype(np.float32)
    elif loss in ("mse", "l1"):
        target = rng.uniform(0, 1, (n, oc) + size).astype(np.float32)
    else:
        target = (rng.uniform(0, 1, (n, oc) + size) > 0.6).astype(np.float32)
    if sparse:
        target[:, :, rng.uniform(0, 1, size) < 0.3] = np.nan
    weights = rng.uniform(0.5, 3, (n, 1) + size).astype(np.float32) if weighted else None
    with Trainer(model, loss=loss, **options) as t:
        got = t.compute_gradients(x, target, weights)
        # libunet reads logits for classification losses, the final output for regression
        logits = net.logits(torch.from_numpy(x))
        z = net(torch.from_numpy(x)) if loss in ("mse", "l1") else logits
        ref = torch_loss(loss, z, torch.from_numpy(target),
                         None if weights is None else torch.from_numpy(weights),
                         options.get("pos_weight", 1.0), options.get("class_weights"), final)
        ref.backward()
        assert abs(got - ref.item()) <= 1e-5 * abs(ref.item()) + 1e-7, (got, ref.item())
        compare_grads(t, net)


def test_loss_refuses_mismatched_model():
    with pytest.raises(unet.UnetError, match="softmax"):
        Trainer(unet.Model.create({"depth": 2, "base_features": 8, "out_channels": 2,
                                   "final_activation": "softmax"}), loss="bce")
    with pytest.raises(unet.UnetError, match="output channels"):
        Trainer(unet.Model.create({"depth": 2, "base_features": 8}), loss="ce")


# ---- optimizers, schedules, clipping ---------------------------------------------------------

def cosine_lr(base, warmup, total, min_lr, t):
    if t < warmup:
        return base * (t + 1) / warmup
    span = total - warmup
    e = min(t - warmup, span)
    return min_lr + (base - min_lr) * (1 + math.cos(math.pi * e / span)) / 2


OPT_CASES = [
    ("sgd", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "schedule": "constant"}),
    ("sgd-nesterov-wd", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True,
                         "weight_decay": 1e-3, "schedule": "constant"}),
    ("adam-wd", {"optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-2,
                 "schedule": "constant"}),
    ("adamw-cosine-warmup", {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 0.05,
                             "beta1": 0.8, "beta2": 0.99, "schedule": "cosine", "warmup": 2,
                             "min_lr": 1e-4, "steps": 6}),
    ("sgd-clip-cosine", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "clip_norm": 0.05,
                         "schedule": "cosine", "steps": 6}),
]


@pytest.mark.parametrize("name,options", OPT_CASES, ids=[c[0] for c in OPT_CASES])
def test_optimizers_match_torch_optim(name, options):
    # No bias before a norm: its gradient is zero up to rounding, which Adam would amplify
    # into steps of size lr in either implementation. For the same reason the convolutions
    # are direct (`precise`): Winograd's rounding (~1e-6 of the largest gradient) turns the
    # signs of near-zero weight gradients, and Adam's first steps are lr times those signs.
    cfg = {"depth": 2, "base_features": 8, "block": "crcr", "final_activation": "sigmoid"}
    model, net = make_pair(cfg)
    net.train()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 1, 16, 16)).astype(np.float32)
    target = (rng.uniform(0, 1, (2, 1, 16, 16)) > 0.5).astype(np.float32)
    o = dict(options)
    steps = 6
    params = list(net.parameters())
    kind = o["optimizer"]
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.9),
                              nesterov=o.get("nesterov", False),
                              weight_decay=o.get("weight_decay", 0))
    elif kind == "adam":
        opt = torch.optim.Adam(params, lr=o["lr"], betas=(o.get("beta1", 0.9),
                                                          o.get("beta2", 0.999)),
                               weight_decay=o.get("weight_decay", 0))
    else:
        opt = torch.optim.AdamW(params, lr=o["lr"], betas=(o.get("beta1", 0.9),
                                                           o.get("beta2", 0.999)),
                                weight_decay=o.get("weight_decay", 0))
    if o.get("schedule") == "cosine" and not o.get("warmup"):
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps,
                                                           eta_min=o.get("min_lr", 0))
    elif o.get("schedule") == "cosine":  # linear warm-up, then torch's cosine formula
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda t: cosine_lr(o["lr"], o.get("warmup", 0), steps, o.get("min_lr", 0),
                                     t) / o["lr"])
    else:
        sched = None
    o.setdefault("steps", steps)
    with Trainer(model, loss="bce", precise=True, **o) as t:
        for _ in range(steps):
            t.step_batch(x, target)
            opt.zero_grad()
            loss = torch_loss("bce", net.logits(torch.from_numpy(x)), torch.from_numpy(target))
            loss.backward()
            if o.get("clip_norm"):
                torch.nn.utils.clip_grad_norm_(params, o["clip_norm"])
            opt.step()
            if sched:
                sched.step()
    sd = model.state_dict()
    for k, v in net.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        np.testing.assert_allclose(sd[k], v.numpy(), rtol=2e-4, atol=2e-6, err_msg=k)
