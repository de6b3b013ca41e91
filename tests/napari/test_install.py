"""`pip install` of the checkout into a fresh venv: libunet.so comes inside the package, and
`import unet` works from any folder with no environment variable."""

import os
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import os, sys, unet
    path = os.path.realpath(unet.library_path)
    assert path.startswith(os.path.realpath(sys.prefix) + os.sep), (path, sys.prefix)
    image, truth = unet.sample(size=512, seed=4)
    labels = unet.Model.builtin("nuclei").segment(image)
    found, true = int(labels.max()), int(truth.max())
    assert abs(found - true) <= 0.2 * true, (found, true)
    print("OK", unet.version(), path, found, true)
""")


def test_fresh_venv_install(tmp_path):
    root = os.environ["LIBUNET_ROOT"]
    base = os.environ.get("LIBUNET_BASE_PYTHON", sys.executable)
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--config-settings=compile-args=-j2", root], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("UNET_LIBRARY", "PYTHONPATH")}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not str(outside).startswith(root)
    run = subprocess.run([python, "-c", CHECK], cwd=outside, env=env, capture_output=True,
                         text=True)
    print(run.stdout, run.stderr)
    assert run.returncode == 0
    assert run.stdout.startswith("OK ")
    installed = run.stdout.split()[2]
    assert installed.startswith(os.path.realpath(venv)) and "libunet.so" in installed
