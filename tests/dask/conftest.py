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


def near_threshold(model, image):
    """Pixels whose foreground probability (whole image) lies within the fast path's accuracy
    contract (1e-4 x its largest value) of the model's threshold: there a block and the whole
    image may round to different sides (nuclei2d has one at 0.5999999 for a threshold of 0.6)."""
    prob = model.predict(image)[0]
    threshold = model.metadata["output"].get("threshold", 0.5)
    return np.abs(prob - threshold) <= 1e-4 * np.abs(prob).max()


def assert_same_objects(got, want, may_differ=None):
    """Instance F1 = 1.0 at IoU 0.5, and (stronger) the same labels, except at the pixels
    `may_differ` marks (see near_threshold)."""
    match = unet.post.instance_f1(got, want, 0.5)
    assert match.f1 == 1.0, match
    differ = got != want
    if may_differ is not None:
        differ &= ~may_differ
    assert not differ.any(), "%d pixels differ at %s" % (differ.sum(),
                                                         np.argwhere(differ)[:5].tolist())
    return match
