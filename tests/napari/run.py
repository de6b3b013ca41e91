"""Run one pytest file of the napari tests in a venv made here, under Xvfb.

    run.py --root SRC --venv DIR --python PYTHON TEST_FILE

The venv (created once with PYTHON, then reused) gets napari[pyqt5], pytest and pytest-qt from
PyPI, and the two distributions of this checkout installed the way users install them:
`pip install ROOT` (libunet, built by meson-python) and `pip install ROOT/plugins/napari`. They
are rebuilt only when a file they are made of changed (a fingerprint kept in the venv). The test
then runs with UNET_LIBRARY and PYTHONPATH unset, so it sees only what pip installed, under
`xvfb-run` (napari needs an X server with OpenGL; Qt's offscreen platform gives vispy none).
A lock serialises concurrent runs on the same venv."""

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys

# What the two distributions are built from (relative to the root).
SOURCES = ["pyproject.toml", "meson.build", "meson_options.txt", "include", "lib", "models",
           "tools/embed_model.py", "bindings/python", "plugins/napari"]
TEST_REQUIREMENTS = ["napari[pyqt5]", "pytest", "pytest-qt"]
# What building leaves in the source tree (setuptools writes plugins/napari/build).
_SKIP = {"__pycache__", "build"}
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24"]


def fingerprint(root):
    h = hashlib.sha256()
    for entry in SOURCES:
        path = os.path.join(root, entry)
        files = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, dirs, fs in os.walk(path) for f in fs
            if not f.endswith(".pyc")
            and not _SKIP.intersection(os.path.relpath(d, root).split(os.sep))
            and ".egg-info" not in d]
        for f in sorted(files):
            h.update(os.path.relpath(f, root).encode() + b"\0")
            with open(f, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def pip(venv, *args):
    cmd = [os.path.join(venv, "bin", "python"), "-m", "pip", "--disable-pip-version-check",
           *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def prepare(root, venv, python):
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        print("+ %s -m venv %s" % (python, venv), flush=True)
        subprocess.run([python, "-m", "venv", venv], check=True)
    stamp = os.path.join(venv, "test-requirements")
    if not os.path.exists(stamp):
        pip(venv, "install", "-q", *TEST_REQUIREMENTS)
        open(stamp, "w").close()
    stamp = os.path.join(venv, "libunet-fingerprint")
    current = fingerprint(root)
    if not os.path.exists(stamp) or open(stamp).read() != current:
        # Two parallel compile jobs: the machine is shared (pip's default would use them all).
        pip(venv, "install", "-q", "--force-reinstall", "--no-deps",
            "--config-settings=compile-args=-j2", root)
        pip(venv, "install", "-q", "--force-reinstall", "--no-deps",
            os.path.join(root, "plugins", "napari"))
        pip(venv, "check")  # the plugin's requirements (libunet >= 1.0, napari) are met
        with open(stamp, "w") as f:
            f.write(current)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--python", required=True, help="interpreter the venv is made from")
    ap.add_argument("test")
    args = ap.parse_args()
    root, venv = os.path.abspath(args.root), os.path.abspath(args.venv)
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    with open(venv + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare(root, venv, args.python)
    env = {k: v for k, v in os.environ.items() if k not in ("UNET_LIBRARY", "PYTHONPATH")}
    env["LIBUNET_ROOT"] = root
    env["LIBUNET_VENV"] = venv
    env["LIBUNET_BASE_PYTHON"] = args.python
    env["LIBUNET_SCREENSHOT"] = os.path.join(os.path.dirname(venv), "napari-screenshot.png")
    env["UNET_SHARED_DATA"] = os.path.join(os.path.dirname(root), "shared", "data")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("QT_QPA_PLATFORM", None)
    cmd = XVFB + [os.path.join(venv, "bin", "python"), "-m", "pytest", "-v", "-s",
                  "-p", "no:cacheprovider", "--rootdir", os.path.dirname(args.test), args.test]
    print("+", " ".join(cmd), flush=True)
    # From a folder outside the checkout, so nothing of the source tree shadows the install.
    return subprocess.run(cmd, env=env, cwd=os.path.dirname(venv)).returncode


if __name__ == "__main__":
    sys.exit(main())
