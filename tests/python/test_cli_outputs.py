"""What the `unet` program writes (issue 16, items 10-15): every output checked before any work
(no output is an input or another output, by device and inode; folders exist), SIGTERM and
SIGHUP handled like Ctrl-C (no partial file, existing files untouched, exit 128 + signal),
`unet train --resume --steps N` continuing to step N, and messages that name the file that
failed."""
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

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))


def run(*args, **kw):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          **kw)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "sig.unet"
    with unet.Model.create({"depth": 3, "base_features": 6, "final_activation": "sigmoid"},
                           seed=4) as m:
        m.save(path)
    return path


@pytest.fixture
def image(tmp_path):
    """A small nuclei image from `unet sample`, and a copy of its bytes."""
    src = tmp_path / "in.tif"
    r = run("sample", "--size", "96", "--seed", "2", "-o", src)
    assert r.returncode == 0, r.stderr
    return src, src.read_bytes()


def names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


# ---- item 10: no output is an input or another output ----------------------------------------

@pytest.mark.parametrize("flag", ["--overlay", "--measure", "-o"])
def test_an_output_naming_the_input_is_refused(model_path, image, tmp_path, flag):
    src, before = image
    args = ["-o", tmp_path / "l.tif"] if flag != "-o" else []
    r = run("segment", src, *args, flag, "./in.tif", "-m", model_path, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "same file" in r.stderr and "./in.tif" in r.stderr and str(src) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert src.read_bytes() == before
    assert names(tmp_path) == ["in.tif"]  # nothing else written either


def test_symlinks_and_hard_links_to_the_input_are_caught(model_path, image, tmp_path):
    src, before = image
    (tmp_path / "link.tif").symlink_to(src)
    os.link(src, tmp_path / "hard.tif")
    for out in ("link.tif", "hard.tif"):
        r = run("segment", src, "-o", tmp_path / "l.tif", "--overlay", tmp_path / out,
                "-m", model_path)
        assert r.returncode == 1 and "same file" in r.stderr, r.stderr
        r = run("predict", "-m", model_path, src, "-o", tmp_path / out)
        assert r.returncode == 1 and "same file" in r.stderr, r.stderr
    assert src.read_bytes() == before
    assert not (tmp_path / "l.tif").exists()


def test_the_model_is_an_input_too(model_path, image, tmp_path):
    src, _ = image
    model = tmp_path / "copy.unet"
    model.write_bytes(model_path.read_bytes())
    r = run("predict", "-m", model, src, "-o", model)
    assert r.returncode == 1 and "model" in r.stderr and "same file" in r.stderr, r.stderr
    r = run("segment", src, "-m", model, "-o", tmp_path / "l.tif", "--measure", model)
    assert r.returncode == 1 and "same file" in r.stderr, r.stderr
    assert model.read_bytes() == model_path.read_bytes()


def test_outputs_sharing_one_file_are_refused(model_path, image, tmp_path):
    src, _ = image
    # Whether the file exists yet or not, and however the path is spelled.
    for existing in (False, True):
        if existing:
            (tmp_path / "same.tif").write_bytes(b"keep me")
        r = run("segment", src, "-o", "same.tif", "--overlay", "same.tif", "--measure",
                "./same.tif", "-m", model_path, cwd=tmp_path)
        assert r.returncode == 1, r.stderr
        assert "same file" in r.stderr and "give each output its own name" in r.stderr
        if existing:
            assert (tmp_path / "same.tif").read_bytes() == b"keep me"
        else:
            assert not (tmp_path / "same.tif").exists()
    r = run("sample", "-o", tmp_path / "s.tif", "--labels", tmp_path / "./s.tif")
    assert r.returncode == 1 and "same file" in r.stderr, r.stderr


def test_two_inputs_of_one_name_into_one_folder_are_refused(model_path, image, tmp_path):
    src, _ = image
    for d in ("c1", "c2"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.tif").write_bytes(src.read_bytes())
    out = tmp_path / "DIR"
    t0 = time.monotonic()
    r = run("segment", tmp_path / "c1/x.tif", tmp_path / "c2/x.tif", "-o", out,
            "-m", model_path)
    assert r.returncode == 1, r.stderr
    assert time.monotonic() - t0 < 2
    line = r.stderr.strip()
    assert "c1/x.tif" in line and "c2/x.tif" in line and "DIR/x.tif" in line
    assert not out.exists()  # refused before anything was made
    # x.tif and x.tiff have one stem too; folders given as inputs are expanded first.
    (tmp_path / "c2" / "x.tif").rename(tmp_path / "c2" / "x.tiff")
    r = run("segment", tmp_path / "c1", tmp_path / "c2", "-o", out, "-m", model_path)
    assert r.returncode == 1 and "would both write" in r.stderr, r.stderr
    # An input folder as the output folder would overwrite its images.
    r = run("segment", tmp_path / "c1", src, "-o", tmp_path / "c1", "-m", model_path)
    assert r.returncode == 1 and "same file" in r.stderr, r.stderr


# ---- item 12: output paths checked before the work -------------------------------------------

@pytest.fixture(scope="module")
def big_image(tmp_path_factory):
    """A 2048^2 image: segmenting it takes seconds, refusing a bad path must not."""
    path = tmp_path_factory.mktemp("big") / "big.tif"
    rng = np.random.default_rng(5)
    tifffile.imwrite(path, (rng.random((2048, 2048)) * 4000).astype(np.uint16))
    return path


@pytest.mark.parametrize("args, needle", [
    (["--overlay", "nodir/o.png"], "the folder 'nodir' does not exist"),
    (["--measure", "nodir/m.csv"], "the folder 'nodir' does not exist"),
    (["--overlay", "afile/o.png"], "the folder 'afile' is not a folder"),
    (["--overlay", "adir"], "it is a folder"),
    (["--measure", "adir/"], "it is a folder"),
    (["--overlay", "new/"], "names a folder"),
    (["--overlay", ""], "needs a file name"),
])
def test_bad_output_paths_fail_before_any_work(model_path, big_image, tmp_path, args, needle):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    t0 = time.monotonic()
    r = run("segment", big_image, "-o", "l.tif", *args, "-m", model_path, "--threads", "1",
            cwd=tmp_path)
    elapsed = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # The message names the output, not the input.
    assert not r.stderr.startswith("unet: segment: %s" % big_image)
    assert elapsed < 1.0, elapsed  # segmenting the image takes several seconds
    assert sorted(names(tmp_path)) == ["adir", "afile"]


def test_bad_output_paths_of_predict_sample_and_train(model_path, image, tmp_path):
    src, _ = image
    r = run("predict", "-m", model_path, src, "-o", tmp_path / "nodir" / "o.tif")
    assert r.returncode == 1 and "folder" in r.stderr and "does not exist" in r.stderr
    r = run("sample", "-o", tmp_path / "nodir" / "x.tif")
    assert r.returncode == 1
    assert r.stderr.strip() == ("unet: sample: cannot write the image '%s': the folder '%s' "
                                "does not exist" % (tmp_path / "nodir" / "x.tif",
                                                    tmp_path / "nodir"))
    assert "TIFFOpen" not in r.stderr
    imgs, labs = tmp_path / "imgs", tmp_path / "labs"
    imgs.mkdir(), labs.mkdir()
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    for extra, needle in [(["-o", tmp_path / "nodir" / "m.unet"], "does not exist"),
                          (["-o", tmp_path / "m.unet", "--log", tmp_path / "nodir/l.csv"],
                           "does not exist"),
                          (["-o", tmp_path / "m.unet", "--checkpoints", tmp_path / "x/y"],
                           "does not exist"),
                          (["-o", tmp_path / "m.unet", "--log", tmp_path / "m.unet"],
                           "same file"),
                          (["-o", cfg], "same file")]:
        r = run("train", "--images", imgs, "--labels", labs, "--config", cfg, *extra)
        assert r.returncode == 1 and needle in r.stderr, (extra, r.stderr)
    assert cfg.read_text() == "{}"


def test_output_failures_name_the_output(model_path, image, tmp_path):
    """/dev/full passes every check and fails on write: the message names it, not the input."""
    src, _ = image
    for args, what in [(["-o", "/dev/full"], "labels"),
                       (["-o", tmp_path / "l.tif", "--overlay", "/dev/full"], "overlay"),
                       (["-o", tmp_path / "l2.tif", "--measure", "/dev/full"], "measurements")]:
        r = run("segment", src, *args, "-m", model_path, "--quiet")
        assert r.returncode == 1, r.stderr
        assert "/dev/full" in r.stderr and not r.stderr.startswith("unet: segment: %s:" % src)
        if what != "labels":
            assert "cannot write the %s '/dev/full'" % what in r.stderr, r.stderr
    r = run("sample", "-o", "/dev/full")
    assert r.returncode == 1 and "cannot write the image '/dev/full'" in r.stderr
    assert "TIFFOpen" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_overlay_and_csv_replace_an_existing_file_only_when_complete(model_path, image,
                                                                     tmp_path):
    src, _ = image
    png, csv = tmp_path / "o.png", tmp_path / "m.csv"
    png.write_bytes(b"old png")
    csv.write_bytes(b"old csv")
    ino = png.stat().st_ino
    r = run("segment", src, "-o", tmp_path / "l.tif", "--overlay", png, "--measure", csv,
            "-m", model_path, "--quiet")
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and csv.read_text().startswith("label,")
    assert png.stat().st_ino != ino  # a new file renamed into place, not rewritten in place
    assert names(tmp_path) == ["in.tif", "l.tif", "m.csv", "o.png"]  # no temporary left


# ---- item 11: SIGTERM and SIGHUP like Ctrl-C -------------------------------------------------

def stop_midway(cmd, sig, tmp_path, wait_for=None):
    """Start cmd, let it work, send sig; (returncode, stderr). The run must still be busy."""
    p = subprocess.Popen([CLI, *map(str, cmd)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    if wait_for:
        while not list(tmp_path.glob(wait_for)) and time.time() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob(wait_for)), "never started writing"
    time.sleep(0.5)
    assert p.poll() is None, "finished before the signal: make the image bigger"
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    path = tmp_path_factory.mktemp("stack") / "big.tif"
    tifffile.imwrite(path, np.random.default_rng(3).random((4, 1024, 1024), dtype=np.float32),
                     photometric="minisblack")
    return path


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_predict_stopped_by_a_signal_leaves_the_old_output(model_path, stack, tmp_path, sig,
                                                           code):
    dst = tmp_path / "out.tif"
    dst.write_bytes(b"the previous result")
    rc, err = stop_midway(["predict", "--model", model_path, stack, "-o", dst, "--tile", "64",
                           "--threads", "1"], sig, tmp_path, wait_for=".out.tif.*.tmp")
    assert rc == code, err
    assert "cancelled (%s)" % signal.Signals(sig).name in err
    assert dst.read_bytes() == b"the previous result"
    assert names(tmp_path) == ["out.tif"]  # the temporary file removed


@pytest.mark.parametrize("extra", [[], ["--overlay", "o.png", "--measure", "m.csv"]])
def test_segment_stopped_by_sigterm_writes_nothing(model_path, big_image, tmp_path, extra):
    """Streamed labels, and the whole-image path of --overlay / --measure."""
    (tmp_path / "l.tif").write_bytes(b"old labels")
    cmd = ["segment", big_image, "-o", tmp_path / "l.tif", "-m", model_path, "--threads", "1"]
    cmd += [str(tmp_path / a) if a.endswith((".png", ".csv")) else a for a in extra]
    rc, err = stop_midway(cmd, signal.SIGTERM, tmp_path)
    assert rc == 143, err
    assert "cancelled (SIGTERM)" in err
    assert (tmp_path / "l.tif").read_bytes() == b"old labels"
    assert names(tmp_path) == ["l.tif"]


# ---- item 13: --steps is the total, also with --resume ---------------------------------------

@pytest.fixture
def training(tmp_path):
    """Two small `unet sample` images with labels, a tiny config and the common options."""
    imgs, labs = tmp_path / "imgs", tmp_path / "labs"
    imgs.mkdir(), labs.mkdir()
    for k in range(2):
        r = run("sample", "--size", "64", "--seed", k, "-o", imgs / ("s%d.tif" % k),
                "--labels", labs / ("s%d.tif" % k))
        assert r.returncode == 0, r.stderr
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"depth": 2, "base_features": 4}))
    return ["--images", imgs, "--labels", labs, "--config", cfg, "--patch", "32", "--batch",
            "2", "--threads", "1", "--val-fraction", "0.5", "--seed", "1", "--set",
            "val_every=1"]


def test_resume_continues_to_the_given_total(training, tmp_path):
    out = tmp_path / "m.unet"
    r = run("train", *training, "--steps", "3", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "trained at step 3 of 3" in r.stderr
    r = run("train", *training, "--steps", "5", "-o", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert "at step 3 of 5" in r.stderr and "trained at step 5 of 5" in r.stderr
    log = (tmp_path / "m.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2", "3", "4", "5"]
    state_meta = unet.Model.load(tmp_path / "m.ckpt" / "last.unet").metadata["training"]
    assert state_meta["steps"] == 5 and state_meta["total_steps"] == 5, state_meta
    # At or past --steps N (or, without --steps, the saved total): said so, exit 0, no file
    # touched.
    before = {p: p.read_bytes() for p in [out, tmp_path / "m.csv", tmp_path / "m.ckpt" /
                                          "last.state", tmp_path / "m.ckpt" / "last.unet"]}
    for extra in (["--steps", "5"], ["--steps", "4"], []):
        r = run("train", *training, *extra, "-o", out, "--resume")
        assert r.returncode == 0, r.stderr
        assert "nothing to train" in r.stderr and "at step 5" in r.stderr, r.stderr
    assert all(p.read_bytes() == b for p, b in before.items())


def test_resume_refuses_epochs(training, tmp_path):
    r = run("train", *training, "--epochs", "2", "--resume", "-o", tmp_path / "m.unet")
    assert r.returncode == 2 and "--epochs" in r.stderr
    r = run("train", *training, "--resume", "-o", tmp_path / "m.unet")
    assert r.returncode == 1 and "last.state" in r.stderr and "--resume" in r.stderr


def test_the_best_validated_model_is_written(training, tmp_path):
    """OUT is ckpt/best.unet when validation chose one (the metrics' best_value)."""
    out = tmp_path / "m.unet"
    r = run("train", *training, "--steps", "6", "-o", out, "--lr", "0.05")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stderr.split("validation: ", 1)[1].splitlines()[0])
    # This seed's best validation comes before the last step, so best and last differ.
    assert metrics["best_step"] < 6, metrics
    got = unet.Model.load(out).state_dict()
    best = unet.Model.load(tmp_path / "m.ckpt" / "best.unet").state_dict()
    last = unet.Model.load(tmp_path / "m.ckpt" / "last.unet").state_dict()
    assert all(np.array_equal(got[k], best[k]) for k in best)
    assert not all(np.array_equal(got[k], last[k]) for k in last)


def test_train_stopped_by_sigterm_saves_like_ctrl_c(training, tmp_path):
    out = tmp_path / "m.unet"
    cmd = ["train", *training, "--steps", "100000", "-o", out]
    rc, err = stop_midway(cmd, signal.SIGTERM, tmp_path, wait_for="m.ckpt/last.state")
    assert rc == 143, err
    assert "cancelled at step" in err and out.exists()
    assert (tmp_path / "m.ckpt" / "last.state").exists()


# ---- item 15: messages name the file and the reason ------------------------------------------

def test_messages_name_the_file_and_the_reason(model_path, image, tmp_path):
    src, _ = image
    r = run("info", tmp_path / "missing.unet")
    assert r.returncode == 1
    assert r.stderr.strip().endswith("no such file"), r.stderr
    assert "missing.unet" in r.stderr and "input/output error" not in r.stderr
    r = run("predict", "-m", model_path, src, "-o", tmp_path / "o.tif", "--batch", "100000")
    assert r.returncode == 2 and "1 to 1000" in r.stderr, r.stderr
    r = run("segment", tmp_path / "missing.tif", "-o", tmp_path / "l.tif", "-m", model_path)
    assert r.returncode == 1
    assert "cannot open the input '%s': No such file" % (tmp_path / "missing.tif") in r.stderr
    r = run("create", "--config", tmp_path / "missing.json", "-o", tmp_path / "m.unet")
    assert r.returncode == 1 and "cannot open the config" in r.stderr
    assert not (tmp_path / "m.unet").exists()
