"""Shared pieces of the unet.dask tests (run by run.py in its venv, on the built library)."""

import os

import numpy as np
import pytest
import unet
import unet.post

DATA = os.environ.get("UNET_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "..", "shared", "data"))


def figure(name, value, unit):
    """A measured figure, printed so it shows in the meson test log."""
    print("\nFIGURE %s: %.3f %s" % (name, value, unit), flush=True)


@pytest.fixture(scope="session")
def nuclei():
    return unet.Model.builtin("nuclei")


@pytest.fixture(scope="session")
def img2d():
    import tifffile
    path = os.path.join(DATA, "nuclei2d", "img2d.tif")
    if not os.path.exists(path):  # a missing data set must not look green
        pytest.fail("shared data not found at %s (set UNET_SHARED_DATA)" % path)
    return tifffile.imread(path)


def assert_same_objects(got, want):
    """Instance F1 = 1.0 at IoU 0.5, and (stronger) the same labels."""
    match = unet.post.instance_f1(got, want, 0.5)
    assert match.f1 == 1.0, match
    assert np.array_equal(got, want)
    return match
