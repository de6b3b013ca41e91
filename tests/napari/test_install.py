"""`pip install .` of the checkout into a fresh venv: libunet.so comes inside the package, and
`import unet` works from any folder with no environment variable; the README's Python example
runs there as written."""

import os
import re
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import os, sys, unet.post
    path = os.path.realpath(unet.library_path)
    assert path.startswith(os.path.realpath(sys.prefix) + os.sep), (path, sys.prefix)
    match = unet.post.instance_f1(labels, truth)  # the nuclei found are the true ones
    assert match.f1 > 0.85, match
    assert probabilities.shape == (2,) + image.shape  # foreground, distance
    print("OK", unet.version(), path, match.f1)
""")


def readme_example(root):
    """The first ```python block of the README's "Using it from Python" section."""
    with open(os.path.join(root, "README.md")) as f:
        text = f.read()
    section = text[text.index("## Using it from Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


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
    assert not os.path.realpath(outside).startswith(os.path.realpath(root) + os.sep)
    run = subprocess.run([python, "-c", readme_example(root) + CHECK], cwd=outside, env=env,
                         capture_output=True, text=True)
    print(run.stdout, run.stderr)
    assert run.returncode == 0
    assert run.stdout.splitlines()[-1].startswith("OK ")
    installed = run.stdout.splitlines()[-1].split()[2]
    assert installed.startswith(os.path.realpath(venv)) and "libunet.so" in installed
