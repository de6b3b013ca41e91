"""The `unet` command-line program and the exported symbols of libunet.so."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

CLI = os.environ.get("UNET_CLI", str(Path(__file__).resolve().parents[2] / "build/tools/unet"))
LIB = os.environ.get("UNET_LIBRARY",
                     str(Path(__file__).resolve().parents[2] / "build/lib/libunet.so"))
HEADER = Path(__file__).resolve().parents[2] / "include" / "unet.h"


def run(*args, **kw):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, **kw)


def test_help_on_every_command():
    for args in (["--help"], ["info", "--help"], ["create", "--help"], ["demo", "--help"]):
        r = run(*args)
        assert r.returncode == 0, args
        assert "usage: unet" in r.stdout, args


def test_create_then_info(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"depth": 3, "base_features": 8, "padding": "valid"}))
    out = tmp_path / "m.unet"
    r = run("create", "--config", str(cfg), "-o", str(out), "--seed", "5")
    assert r.returncode == 0, r.stderr
    assert out.exists() and "created" in r.stdout
    r = run("info", str(out))
    assert r.returncode == 0, r.stderr
    assert '"padding":"valid"' in r.stdout
    assert re.search(r"halo:\s+\d+ px", r.stdout)
    # The same seed gives the same file.
    out2 = tmp_path / "m2.unet"
    assert run("create", "--config", str(cfg), "-o", str(out2), "--seed", "5").returncode == 0
    assert out.read_bytes() == out2.read_bytes()


@pytest.mark.parametrize("args, needle", [
    ([], "no command"),
    (["frobnicate"], "unknown command"),
    (["info"], "exactly one MODEL"),
    (["info", "/nonexistent.unet"], "cannot open"),
    (["create", "--config"], "missing value"),
    (["create", "-o", "x.unet"], "needs --config"),
    (["create", "--config", "/nonexistent.json", "-o", "x.unet"], "cannot open the config"),
    (["create", "--config", "/etc/hostname", "-o", "x.unet"], "invalid JSON"),
    (["create", "--config", "/dev/null", "-o", "x.unet", "--seed", "-3"], "--seed"),
    (["demo", "--size", "0"], "--size"),
    (["demo", "--bogus", "1"], "unknown option"),
])
def test_bad_input_one_line_error(args, needle, tmp_path):
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0], lines[0]
    assert lines[0].startswith("unet: ")


def test_info_on_garbage_file(tmp_path):
    bad = tmp_path / "bad.unet"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    r = run("info", str(bad))
    assert r.returncode == 1
    assert "malformed" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_create_refuses_3d_and_unknown_keys(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"ndim": 3}')
    r = run("create", "--config", str(cfg), "-o", str(tmp_path / "x.unet"))
    assert r.returncode == 1 and "unsupported" in r.stderr
    cfg.write_text('{"colour": "blue"}')
    r = run("create", "--config", str(cfg), "-o", str(tmp_path / "x.unet"))
    assert r.returncode == 1 and "colour" in r.stderr


def test_demo_runs_and_reports():
    r = run("demo", "--size", "64", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "64 x 64 uint16" in r.stdout
    m = re.search(r"min ([\d.]+), mean ([\d.]+), max ([\d.]+)", r.stdout)
    assert m, r.stdout
    lo, mean, hi = map(float, m.groups())
    assert 0.0 <= lo <= mean <= hi <= 1.0


def test_only_unet_symbols_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", LIB], capture_output=True, text=True,
                         check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert exported, out
    assert all(s.startswith("unet_") and not s.startswith("unet__") for s in exported), exported
    declared = set(re.findall(r"^UNET_API [^(]*?\b(unet_\w+)\(", HEADER.read_text(), re.M))
    assert exported == declared, (exported ^ declared)


def test_soname_from_header():
    text = HEADER.read_text()
    major = re.search(r"#define UNET_VERSION_MAJOR (\d+)", text).group(1)
    out = subprocess.run(["readelf", "-d", LIB], capture_output=True, text=True,
                         check=True).stdout
    assert f"[libunet.so.{major}]" in out
