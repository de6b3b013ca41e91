"""The 1.0 API from Python: options set through the library's generic setter (its names,
ranges and messages), the option tables, built-in models, sample images, split, and click
sessions changing options with and without dropping their cache."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import unet
from unet import post
from unet.train import Trainer

REPO = Path(__file__).resolve().parents[2]
BUILTIN = os.environ.get("UNET_DEFAULT_MODEL", "")
needs_builtin = pytest.mark.skipif(not BUILTIN and os.environ.get("CI") != "true",
                                   reason="this build has no built-in model (-Ddefault_model)")


def test_option_tables_share_names_and_ranges():
    for kind in ("segment", "click", "post"):
        table = {e["name"]: e for e in unet.describe_options(kind)}
        assert (table["min_distance"]["min"], table["min_distance"]["max"]) == (1, 1000), kind
        assert (table["threshold"]["min"], table["threshold"]["max"]) == (0, 1), kind
    seg = {e["name"]: e for e in unet.describe_options("segment")}
    pred = {e["name"]: e for e in unet.describe_options("predict")}
    # Segment options embed the predict entries unchanged.
    assert all(seg[k] == pred[k] for k in pred)
    assert seg["split"]["type"] == "bool" and seg["split"]["default"] is None
    assert pred["border"]["choices"] == ["auto", "network", "reflect", "zero"]
    with pytest.raises(ValueError):
        unet.describe_options("colour")


def test_keyword_arguments_reach_the_generic_setter():
    m = unet.Model.create({"depth": 2, "base_features": 4, "final_activation": "sigmoid"})
    img = np.zeros((32, 32), np.float32)
    with pytest.raises(unet.UnetError, match=r"min_distance = 0 is out of range \[1, 1000\]"):
        m.segment(img, min_distance=0)
    with pytest.raises(unet.UnetError, match=r"batch = 65 is out of range \[1, 64\]"):
        m.predict(img, batch=65)
    with pytest.raises(unet.UnetError, match="border = mirror is not one of"):
        m.predict(img, border="mirror")
    with pytest.raises(unet.UnetError, match=r"unknown training option 'colour'"):
        Trainer(m, colour="blue")


def test_max_pixels_keyword():
    m = unet.Model.create({"depth": 2, "base_features": 4, "final_activation": "sigmoid"})
    img = np.zeros((40, 41), np.float32)
    for call in (m.predict, m.segment):
        with pytest.raises(unet.UnetError, match=r"1640 pixels, more than max_pixels \(1600\); "
                                                 r"raise it with max_pixels"):
            call(img, max_pixels=1600)
        call(img, max_pixels=1640)  # at the limit
        call(img)  # None: no limit
    with pytest.raises(unet.UnetError, match=r"max_pixels = 0\.5 must be an integer"):
        m.predict(img, max_pixels=0.5)
    # Counted on the image as given, not once resized.
    assert m.segment(img, max_pixels=1640, scale=2).shape == (40, 41)


def test_options_object_values_and_close():
    from unet._options import Options
    with Options("segment", tile=64, split=False, threshold=0.25) as o:
        v = o.values()
        assert (v["tile"], v["split"], v["threshold"], v["min_distance"]) == (64, False, 0.25, None)
        o.set_json({"min_distance": 7, "border": "zero"})
        assert o.values()["min_distance"] == 7 and o.values()["border"] == "zero"
        with pytest.raises(unet.UnetError):
            o.set_json({"min_distance": 8, "scale": 99})  # all or nothing
        assert o.values()["min_distance"] == 7
    with pytest.raises(unet.UnetError, match="closed"):
        o.values()


def test_builtin_names_and_unknown_name():
    names = unet.builtin_names()
    if not BUILTIN:
        assert names == []
        with pytest.raises(unet.UnetError, match="without built-in models"):
            unet.Model.builtin()
        return
    assert names == ["nuclei"]
    with unet.Model.builtin() as m, unet.Model.load(BUILTIN) as f:
        assert m.to_bytes() == f.to_bytes()  # exactly the file built in
    with pytest.raises(unet.UnetError, match=r"unknown built-in model 'cells' \(known: nuclei\)"):
        unet.Model.builtin("cells")


def test_sample_is_deterministic_and_matches_the_cli(tmp_path):
    image, labels = unet.sample(size=128, seed=5, bits=8)
    again, labels2 = unet.sample(size=128, seed=5, bits=8)
    assert image.dtype == np.uint16 and labels.dtype == np.uint32
    assert image.shape == labels.shape == (128, 128)
    assert np.array_equal(image, again) and np.array_equal(labels, labels2)
    assert image.max() < 256 and labels.max() == len(np.unique(labels)) - 1 > 0
    other, _ = unet.sample(size=128, seed=6, bits=8)
    assert not np.array_equal(image, other)
    assert unet.sample(size=(40, 60))[0].shape == (40, 60)
    with pytest.raises(unet.ShapeError, match="16 to 8192"):
        unet.sample(size=8)
    cli = os.environ.get("UNET_CLI")
    if cli:
        tifffile = pytest.importorskip("tifffile")
        out, lab = tmp_path / "s.tif", tmp_path / "l.tif"
        subprocess.run([cli, "sample", "--size", "128", "--seed", "5", "--bits", "8", "-o",
                        str(out), "--labels", str(lab)], check=True, capture_output=True)
        assert np.array_equal(tifffile.imread(out), image)
        assert np.array_equal(tifffile.imread(lab), labels)


@needs_builtin
def test_split_false_is_connected_components():
    image, _ = unet.sample(size=192, seed=2)
    with unet.Model.builtin() as m:
        # scale 1: the prediction below is of the image at its own size
        got = m.segment(image, split=False, min_size=0, threshold=0.4, scale=1)
        want, n = post.label(m.predict(image)[0] > np.float32(0.4))
        assert np.array_equal(got, want) and n > 0
        assert got.max() <= m.segment(image, min_size=0, threshold=0.4, scale=1).max()


@needs_builtin
def test_click_session_set_options_cache():
    image, truth = unet.sample(size=256, seed=4)
    ys, xs = np.nonzero(truth == 1)
    x, y = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    # A fixed scale: an automatic one is measured again when the threshold changes (so clicks
    # stay equal to Model.segment's objects), which may resize the image (test_click.py).
    with unet.Model.builtin() as m, m.click_session(image, first_window=256, scale=1) as s:
        first = s.click(x, y)
        runs = s.stats()["network_runs"]
        assert runs >= 1 and first.area > 0
        s.set_options(threshold=0.9, min_size=0)  # post-processing: the cache stays
        smaller = s.click(x, y)
        assert s.stats()["network_runs"] == runs
        assert smaller.area < first.area
        s.set_options(threshold=None, min_size=None, normalize="zmuv")  # prediction: dropped
        assert s.stats()["cached_pixels"] == 0
        s.click(x, y)
        assert s.stats()["network_runs"] > runs
        with pytest.raises(unet.UnetError, match=r"min_distance = 0 is out of range"):
            s.set_options(min_distance=0)
        with pytest.raises(TypeError):
            s.set_options(tile=64)


def readme_block(language, section):
    """The first ```language block after the README heading `section`."""
    text = (REPO / "README.md").read_text()
    start = text.index("## " + section)
    block = text.index("```" + language + "\n", start) + len(language) + 4
    return text[block:text.index("```", block)]


@needs_builtin
def test_readme_python_snippet(capsys):
    exec(compile(readme_block("python", "Using it from Python"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "nuclei; F1" in out and float(out.split()[-1]) > 0.8


@needs_builtin
def test_readme_c_snippet(tmp_path):
    lib = os.environ.get("UNET_LIBRARY", str(REPO / "build/lib/libunet.so"))
    src = tmp_path / "example.c"
    src.write_text(readme_block("c", "Using it from C"))
    exe = tmp_path / "example"
    compile_env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # (ASan builds)
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(src), "-I", str(REPO / "include"),
                    lib, "-Wl,-rpath," + os.path.dirname(lib), "-o", str(exe)], check=True,
                   env=compile_env)
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[0]) > 10 and r.stdout.strip().endswith("nuclei")
