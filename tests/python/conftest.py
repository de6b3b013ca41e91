"""Shared fixtures. Never imports torch: test_core.py also runs under AddressSanitizer."""

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
