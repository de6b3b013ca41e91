"""Shared fixtures. Never imports torch: test_core.py also runs under AddressSanitizer."""

import importlib
import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Let `pytest tests/python` work without PYTHONPATH too.
_BINDINGS = os.path.join(REPO, "bindings", "python")
if _BINDINGS not in sys.path:
    sys.path.insert(0, _BINDINGS)


def shared_data_dir():
    return os.environ.get("UNET_SHARED_DATA",
                          os.path.join(os.path.dirname(REPO), "shared", "data"))


@pytest.fixture(scope="session")
def data_dir():
    path = shared_data_dir()
    if not os.path.isdir(path):  # fail loudly: a missing data set must not look green
        pytest.fail("shared data not found at %s (set UNET_SHARED_DATA)" % path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# Modules a test file asked for with require() and did not get (reported at the end).
_MISSING = []


def require(name):
    """Import an optional module a test needs (torch, onnx, scipy, skimage, tifffile).

    Absent: the calling test, or the whole file when called at import, is skipped with the
    reason printed (meson runs pytest with -rs), and a file with nothing left to run makes
    `meson test` report SKIP, not OK. Under CI=true a missing module is a failure instead.
    """
    try:
        return importlib.import_module(name)
    except ImportError as e:
        reason = "python module %s not installed (%s)" % (name, e)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true requires every test module", pytrace=False)
        _MISSING.append(name)
        pytest.skip(reason, allow_module_level=True)


def pytest_sessionfinish(session, exitstatus):
    # Nothing passed because modules were missing: exit 77, which meson shows as SKIP.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = len(reporter.stats.get("passed", [])) if reporter else 0
    if _MISSING and passed == 0 and exitstatus in (0, 5):
        session.exitstatus = 77
