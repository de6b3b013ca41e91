"""Shared pieces of the napari tests (run by run.py inside its venv, under Xvfb)."""

import os
import time

import numpy as np
import pytest
import unet

DATA = os.environ.get("UNET_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                        "..", "shared", "data"))
IMG2D = os.path.join(DATA, "nuclei2d", "img2d.tif")


def pytest_sessionstart(session):
    # The tests are about the installed packages: never a build tree or a PYTHONPATH copy.
    venv = os.environ.get("LIBUNET_VENV")
    if venv:
        assert os.path.realpath(unet.library_path).startswith(os.path.realpath(venv) + os.sep), \
            unet.library_path


def figure(name, value, unit):
    """A measured figure, printed so it shows in the meson test log."""
    print("\nFIGURE %s: %.3f %s" % (name, value, unit), flush=True)


@pytest.fixture(scope="session")
def img2d():
    import tifffile
    return tifffile.imread(IMG2D)


@pytest.fixture(scope="session")
def nuclei():
    return unet.Model.builtin("nuclei")


def wait_until(qtbot, condition, timeout=120.0):
    """Process Qt events until condition() holds (fails the test after `timeout` s)."""
    qtbot.waitUntil(condition, timeout=int(timeout * 1000))


class StallMeter:
    """A 50 ms QTimer on the GUI thread; `longest` is the longest gap between two of its
    ticks while it ran: how long the viewer could not respond."""

    def __init__(self):
        from qtpy.QtCore import QTimer
        self.timer = QTimer()
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._tick)
        self.ticks = []

    def _tick(self):
        self.ticks.append(time.perf_counter())

    def start(self):
        self.ticks = [time.perf_counter()]
        self.timer.start()

    def stop(self):
        self.timer.stop()
        self._tick()

    @property
    def longest(self):
        return self.longest_until(float("inf"))

    def longest_until(self, end):
        """The longest gap between ticks that both came before `end` (perf_counter time)."""
        ticks = [t for t in self.ticks if t <= end]
        return float(np.max(np.diff(ticks))) if len(ticks) > 1 else 0.0
