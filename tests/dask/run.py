"""Run one pytest file of the unet.dask tests in a venv made here.

    run.py --root SRC --venv DIR --python PYTHON --library LIBUNET --cli UNET TEST_FILE

The venv (created once with PYTHON, then reused) gets the `dask` extra of the root
pyproject.toml (dask, distributed, zarr, ome-zarr) and pytest and tifffile from PyPI. The test
runs on the freshly built library (UNET_LIBRARY) and the package sources of this checkout
(PYTHONPATH), with the `unet` program whose .zarr commands run this venv's python
(UNET_PYTHON). A lock serialises concurrent preparations of the venv."""

import argparse
import fcntl
import os
import subprocess
import sys
import tomllib

TEST_REQUIREMENTS = ["pytest", "tifffile"]


def requirements(root):
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        extra = tomllib.load(f)["project"]["optional-dependencies"]["dask"]
    return extra + TEST_REQUIREMENTS


def prepare(root, venv, python):
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        print("+ %s -m venv %s" % (python, venv), flush=True)
        subprocess.run([python, "-m", "venv", venv], check=True)
    wanted = "\n".join(requirements(root))
    stamp = os.path.join(venv, "unet-dask-requirements")
    if not os.path.exists(stamp) or open(stamp).read() != wanted:
        cmd = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
               "--disable-pip-version-check", *wanted.split("\n")]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        with open(stamp, "w") as f:
            f.write(wanted)


def main():
    ap = argparse.ArgumentParser()
    for name in ("root", "venv", "python", "library", "cli"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("test")
    args = ap.parse_args()
    root, venv = os.path.abspath(args.root), os.path.abspath(args.venv)
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    with open(venv + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare(root, venv, args.python)
    python = os.path.join(venv, "bin", "python")
    env = dict(os.environ)
    env.update({
        "UNET_LIBRARY": os.path.abspath(args.library),
        "PYTHONPATH": os.path.join(root, "bindings", "python"),
        "UNET_CLI": os.path.abspath(args.cli),
        "UNET_PYTHON": python,
        "UNET_SHARED_DATA": os.path.join(os.path.dirname(root), "shared", "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    cmd = [python, "-m", "pytest", "-v", "-s", "-p", "no:cacheprovider", "--rootdir",
           os.path.dirname(args.test), args.test]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, cwd=os.path.dirname(venv)).returncode


if __name__ == "__main__":
    sys.exit(main())
