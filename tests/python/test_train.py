"""Training from Python (unet.train.Trainer) and from the command line (`unet train`), on tiny
synthetic nuclei (seconds). No torch here: this file also runs under AddressSanitizer."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

tifffile = require("tifffile")

import unet
from unet import post
from unet.train import Trainer

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))
SMALL = {"depth": 2, "base_features": 8, "final_activation": "sigmoid"}
FAST = dict(patch=32, batch=4, threads=1, lr=3e-3)


def discs(seed, h=48, w=96, n=16):
    """Bright discs on a noisy background with their instance labels."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    lab = np.zeros((h, w), np.uint16)
    for i in range(n):
        cy, cx, rad = r.uniform(5, h - 5), r.uniform(5, w - 5), r.uniform(3, 6)
        lab[(yy - cy) ** 2 + (xx - cx) ** 2 <= rad ** 2] = i + 1
    img = np.where(lab > 0, 400, 100) + r.integers(0, 120, (h, w))
    return img.astype(np.uint16), lab


def iou(pred, truth):
    return (pred & truth).sum() / max((pred | truth).sum(), 1)


def test_trainer_learns_and_reports_progress(tmp_path):
    img, lab = discs(1)
    model = unet.Model.create(SMALL, seed=2)
    seen = []
    with Trainer(model, steps=60, val_every=30, val_fraction=0.25,
                 progress=lambda *a: seen.append(a), **FAST) as t:
        t.add(img, lab)
        loss0, iou0 = t.evaluate()
        t.train()
        loss1, iou1 = t.evaluate()
        assert t.progress == (60, 60)
        metrics = t.metrics
        t.save(tmp_path / "m.unet")
    assert iou1 > 0.8 and loss1 < loss0, (iou0, iou1, loss0, loss1)
    assert metrics["metric"] == "iou" and metrics["step"] == 60 and 0 <= metrics["f1"] <= 1
    assert [s[0] for s in seen] == list(range(1, 61)) and all(s[1] == 60 for s in seen)
    assert seen[0][3] == pytest.approx(iou0) and seen[-1][3] == pytest.approx(metrics["iou"])
    back = unet.Model.load(tmp_path / "m.unet")
    meta = back.metadata
    assert meta["preprocessing"] == {"normalize": "percentile", "low": 1.0, "high": 99.8}
    assert meta["training"]["loss"] == "bce+dice" and meta["training"]["steps"] == 60
    assert meta["training"]["data"]["split"] == "region"
    # prediction repeats the training normalisation: raw uint16 in, probabilities out
    assert iou(back.predict(img)[0] > 0.5, lab > 0) > 0.8


def test_progress_exception_and_cancel():
    img, lab = discs(1)

    def boom(step, total, loss, metric):
        if step == 2:
            raise KeyError("from the callback")

    with Trainer(unet.Model.create(SMALL), steps=10, progress=boom, **FAST) as t:
        t.add(img, lab)
        with pytest.raises(KeyError, match="from the callback"):
            t.train()
        assert t.progress[0] == 2
    with Trainer(unet.Model.create(SMALL), steps=10, progress=lambda s, *_: s >= 3,
                 **FAST) as t:
        t.add(img, lab)
        with pytest.raises(unet.Cancelled):
            t.train()
        assert t.progress[0] == 3


def test_options_are_validated():
    model = unet.Model.create(SMALL)
    with pytest.raises(unet.UnetError, match=r"out of range \[1, 1024\]"):
        Trainer(model, batch=0)
    with pytest.raises(unet.UnetError, match="unknown training option"):
        Trainer(model, bogus=1)
    with pytest.raises(unet.UnetError, match="not one of"):
        Trainer(model, optimizer="lbfgs")
    with pytest.raises(unet.UnetError, match="class_weights apply to loss ce only"):
        Trainer(model, class_weights=[1, 2], loss="bce")
    two = unet.Model.create({"depth": 2, "base_features": 8, "out_channels": 2})
    t = Trainer(two, class_weights=[1, 2], loss="ce", schedule="plateau")
    assert t.options["class_weights"] == "1.0,2.0" and t.options["schedule"] == "plateau"
    t.close()


def test_resume_from_state_matches_uninterrupted(tmp_path):
    img, lab = discs(3)
    opts = dict(steps=8, val_every=4, optimizer="sgd", momentum=0.9, nesterov=True,
                schedule="cosine", warmup=2, **FAST)

    def weights(m):
        return np.concatenate([v.ravel() for v in m.state_dict().values()])

    a = unet.Model.create(SMALL, seed=4)
    with Trainer(a, **opts) as t:
        t.add(img, lab)
        t.train()
    b = unet.Model.create(SMALL, seed=4)
    with Trainer(b, **opts) as t:
        t.add(img, lab)
        t.step(5)
        t.save_state(tmp_path / "s.state")
    c = unet.Model.create(SMALL, seed=123)
    with Trainer(c, **opts) as t:
        t.add(img, lab)
        t.load_state(tmp_path / "s.state")
        assert t.progress == (5, 8)
        t.train()
    np.testing.assert_array_equal(weights(a), weights(c))


def test_explicit_split_and_folders(tmp_path):
    (tmp_path / "im").mkdir()
    (tmp_path / "lb").mkdir()
    for i in range(3):
        img, lab = discs(10 + i)
        tifffile.imwrite(tmp_path / "im" / ("n%d.tif" % i), img)
        tifffile.imwrite(tmp_path / "lb" / ("n%d.tiff" % i), lab)
    with Trainer(unet.Model.create(SMALL), steps=2, val_fraction=0.34, **FAST) as t:
        t.add_folders(tmp_path / "im", tmp_path / "lb")
        t.train()
        assert t.metrics["images"] == 1
    img, lab = discs(20)
    with Trainer(unet.Model.create(SMALL), steps=2, **FAST) as t:
        t.add(img, lab, split="train")
        t.add(img, lab.astype(np.int32), split="val")  # int32 labels are taken as uint32
        t.train()
        assert t.metrics["images"] == 1
    with Trainer(unet.Model.create(SMALL), **FAST) as t:
        with pytest.raises(unet.UnetError, match="no image in"):
            t.add_folders(tmp_path / "im", tmp_path)


def test_low_level_batch_api():
    model = unet.Model.create({"depth": 2, "base_features": 8, "out_channels": 3,
                               "final_activation": "softmax"})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 16, 16)).astype(np.float32)
    target = rng.integers(0, 3, (2, 1, 16, 16)).astype(np.float32)
    target[0, 0, :4] = np.nan  # not annotated
    with Trainer(model, loss="ce", class_weights=[0.2, 1, 1]) as t:
        loss = t.compute_gradients(x, target)
        g = t.gradient("out.weight")
        assert np.isfinite(loss) and g.shape == (3, 8, 1, 1) and np.abs(g).sum() > 0
        losses = [t.step_batch(x, target) for _ in range(15)]
        assert losses[-1] < losses[0]
        with pytest.raises(unet.ShapeError):
            t.compute_gradients(x, target[:, :, :8])


# ---- the command line ---------------------------------------------------------------------

def folders(tmp_path, n=2):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for i in range(n):
        img, lab = discs(30 + i)
        tifffile.imwrite(tmp_path / "images" / ("a%d.tif" % i), img)
        tifffile.imwrite(tmp_path / "labels" / ("a%d.tif" % i), lab)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"depth": 2, "base_features": 8}))
    return tmp_path / "images", tmp_path / "labels", cfg


def cli(*args, **kw):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          **kw)


def test_cli_train_resume_and_finetune(tmp_path):
    images, labels, cfg = folders(tmp_path)
    out = tmp_path / "m.unet"
    common = ["--images", images, "--labels", labels, "--patch", "32", "--batch", "2",
              "--threads", "1", "--val-fraction", "0.5"]
    r = cli("train", *common, "--config", cfg, "--steps", "6", "--seed", "3", "-o", out,
            "--set", "val_every=3", "--set", "border_weights=true")
    assert r.returncode == 0, r.stderr
    assert "trained at step 6 of 6" in r.stderr and '"iou"' in r.stderr
    m = unet.Model.load(out)
    assert m.config["final_activation"] == "sigmoid"  # added for one output channel
    assert m.metadata["training"]["options"]["border_weights"] is True
    log = (tmp_path / "m.csv").read_text().splitlines()
    assert log[0].startswith("step,epoch,lr,train_loss,val_loss,metric")
    assert len(log) >= 3 and log[-1].split(",")[0] == "6"
    assert (tmp_path / "m.ckpt" / "last.state").exists()
    assert (tmp_path / "m.ckpt" / "best.unet").exists()
    # --resume continues an interrupted run (its state made here through the Python API)
    part = unet.Model.create(dict(SMALL, depth=2), seed=3)
    with Trainer(part, steps=8, patch=32, batch=2, threads=1, val_fraction=0.5) as t:
        t.add_folders(images, labels)
        t.step(5)
        t.save_state(tmp_path / "m.ckpt" / "last.state")
    r = cli("train", *common, "--config", cfg, "--steps", "8", "--seed", "3", "-o", out,
            "--resume")
    assert r.returncode == 0, r.stderr
    assert "at step 5" in r.stderr and "trained at step 8 of 8" in r.stderr
    # fine-tune the result with a frozen encoder
    out2 = tmp_path / "ft.unet"
    r = cli("train", *common, "--from", out, "--freeze-encoder", "--steps", "3", "-o", out2,
            "--loss", "dice", "--precise")
    assert r.returncode == 0, r.stderr
    a, b = unet.Model.load(out).state_dict(), unet.Model.load(out2).state_dict()
    assert np.array_equal(a["down0.conv0.weight"], b["down0.conv0.weight"])
    assert not np.array_equal(a["out.weight"], b["out.weight"])
    assert unet.Model.load(out2).metadata["training"]["loss"] == "dice"
    assert unet.Model.load(out2).metadata["training"]["options"]["precise"] is True


@pytest.mark.parametrize("args, needle", [
    (["train"], "needs --images"),
    (["train", "--images", "a", "--labels", "b", "-o", "x.unet"], "exactly one of --config"),
    (["train", "--images", "a", "--labels", "b", "-o", "x.unet", "--config", "c",
      "--from", "d"], "exactly one of --config"),
    (["train", "--batch", "0"], "batch"),
    (["train", "--loss", "huber"], "not one of"),
    (["train", "--set", "noequals"], "KEY=VALUE"),
    (["train", "--bogus", "1"], "unknown option"),
])
def test_cli_train_usage_errors(args, needle, tmp_path):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode in (1, 2)
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_train_help_and_missing_folders(tmp_path):
    r = cli("train", "--help")
    assert r.returncode == 0 and "usage: unet train" in r.stdout
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    r = cli("train", "--images", tmp_path / "nope", "--labels", tmp_path, "--config", cfg,
            "-o", tmp_path / "x.unet")
    assert r.returncode == 1 and "cannot open the folder" in r.stderr


def test_cli_train_ctrl_c_saves(tmp_path):
    images, labels, cfg = folders(tmp_path, n=1)
    out = tmp_path / "m.unet"
    p = subprocess.Popen([CLI, "train", "--images", str(images), "--labels", str(labels),
                          "--config", str(cfg), "--steps", "100000", "--patch", "32",
                          "--threads", "1", "-o", str(out)], stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "cancelled at step" in err and out.exists()
    assert (tmp_path / "m.ckpt" / "last.state").exists()


def test_restoration_metrics_match_numpy():
    """PSNR and SSIM of the trainer's validation against a NumPy/SciPy implementation of
    skimage's definitions (a model made to output one constant, so the prediction is known)."""
    gaussian_filter = require("scipy.ndimage").gaussian_filter

    model = unet.Model.create({"depth": 2, "base_features": 8})
    state = {k: np.zeros_like(v) for k, v in model.state_dict().items()}
    state["out.bias"][:] = 0.3
    model.load_state_dict(state)
    yy, xx = np.mgrid[:40, :56]
    clean = (100 + 80 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.float32)
    with Trainer(model, target="image", normalize="none", val_fraction=0.5) as t:
        t.add(clean, clean, split="val")
        t.add(clean, clean, split="train")
        loss, psnr = t.evaluate()
        m = t.metrics
    x = np.full_like(clean, 0.3, dtype=np.float64)
    ref = clean.astype(np.float64)
    rng = ref.max() - ref.min()
    want_psnr = 10 * np.log10(rng ** 2 / np.mean((x - ref) ** 2))
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5)  # noqa: E731
    mx, my = f(x), f(ref)
    vx, vy, cxy = f(x * x) - mx * mx, f(ref * ref) - my * my, f(x * ref) - mx * my
    c1, c2 = (0.01 * rng) ** 2, (0.03 * rng) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    assert psnr == pytest.approx(want_psnr, rel=1e-6)
    assert m["ssim"] == pytest.approx(s[5:-5, 5:-5].mean(), rel=1e-6, abs=1e-9)
    assert loss == pytest.approx(np.mean((x - ref) ** 2), rel=1e-5)


def test_border_weights_match_scipy():
    """The U-Net paper's weight map (w0 10, sigma 5) against SciPy's exact distance transform,
    seen through the validation loss: a model whose logits are all 0 has bce log 2 at every
    pixel, so the loss is log 2 x the mean weight."""
    distance_transform_edt = require("scipy.ndimage").distance_transform_edt

    model = unet.Model.create({"depth": 2, "base_features": 8})
    model.load_state_dict({k: np.zeros_like(v) for k, v in model.state_dict().items()})
    yy, xx = np.mgrid[:60, :80]
    lab = np.zeros((60, 80), np.uint16)
    for i, (cy, cx, r) in enumerate([(15, 15, 6), (15, 30, 6), (40, 50, 9), (45, 20, 5)]):
        lab[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 3 * i + 2
    img = (lab > 0).astype(np.float32)
    with Trainer(model, loss="bce", border_weights=True, normalize="none") as t:
        t.add(img, lab, split="val")
        t.add(img, lab, split="train")
        loss, _ = t.evaluate()
    d = np.stack([distance_transform_edt(lab != v) for v in np.unique(lab)[1:]])
    d.sort(axis=0)
    w = np.where(lab > 0, 1.0, 1 + 10 * np.exp(-(d[0] + d[1]) ** 2 / (2 * 5.0 ** 2)))
    assert loss / np.log(2) == pytest.approx(w.mean(), rel=1e-6)


def test_distance_target_learns_and_segments(tmp_path):
    """target="distance": two sigmoid channels learn the foreground and each disc's distance to
    its edge over its largest; the saved model says so in its output metadata, and
    Model.segment cuts instances from its cores."""
    ndimage = require("scipy.ndimage")
    img, lab = discs(3, h=64, w=128, n=24)
    model = unet.Model.create(dict(SMALL, out_channels=2), seed=4)
    with Trainer(model, target="distance", steps=600, val_fraction=0.25, **FAST) as t:
        t.add(img, lab)
        t.train()
        t.save(tmp_path / "d.unet")
    back = unet.Model.load(tmp_path / "d.unet")
    assert back.metadata["output"]["target"] == "distance"
    assert back.metadata["training"]["target"] == "distance"
    want = np.zeros(lab.shape)
    for i in range(1, lab.max() + 1):
        edt = ndimage.distance_transform_edt(lab == i)
        if edt.max() > 0:
            want += edt / edt.max()
    fg, dist = back.predict(img)
    assert iou(fg > 0.5, lab > 0) > 0.8
    # rims low, centres high: the mean output rises through thirds of the true distance (a
    # second foreground channel would be flat), and stays 0 off the discs
    inside = lab > 0
    means = [dist[inside & (want >= lo) & (want < hi)].mean()
             for lo, hi in ((0, 0.3), (0.3, 0.6), (0.6, 1.01))]
    assert means[0] + 0.1 < means[1] and means[1] + 0.1 < means[2], means
    assert dist[~inside].mean() < 0.05
    labels = back.segment(img)
    f1 = post.instance_f1(labels, lab).f1
    assert labels.max() >= 10 and f1 > 0.6, (labels.max(), f1)
    # fine-tuning with the default target keeps the model's (as napari and `unet train --from`
    # do)
    with Trainer(back, steps=5, val_fraction=0, **FAST) as t:
        t.add(img, lab)
        t.train()
    assert back.metadata["output"]["target"] == "distance"
    with pytest.raises(unet.UnetError, match="target distance needs a model with 2 output"):
        with Trainer(unet.Model.create(SMALL, seed=4), target="distance", **FAST) as t:
            t.add(img, lab)
    # two channels with a softmax: the message names what the model has
    softmax = dict(SMALL, out_channels=2, final_activation="softmax")
    with pytest.raises(unet.UnetError, match="final_activation softmax, loss ce"):
        with Trainer(unet.Model.create(softmax, seed=4), target="distance", **FAST) as t:
            t.add(img, lab)
