"""A screenshot of the viewer with the U-Net widget and its results (docs/napari.png is one)."""

import os

import numpy as np
import unet
from conftest import wait_until
from test_click import objects


def test_screenshot(qtbot, make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1240, 820)
    viewer.open_sample("libunet-napari", "nuclei")
    image = viewer.layers[-1]
    _, widget = viewer.window.add_plugin_dock_widget("libunet-napari", "U-Net")
    widget.reset_choices()
    widget.image.value = image
    widget.run_button.native.click()
    wait_until(qtbot, lambda: not widget.job.running, 120)
    assert widget.job.outcome == "done"
    labels = viewer.layers[-1]
    labels.contour = 2  # outlines over the image
    widget.click_button.native.click()
    clicker = widget.clicker
    _, truth = unet.sample(size=512, seed=0)  # the sample's own objects, to click on two
    for y, x in list(objects(truth, 120).values())[:2]:
        done = len(clicker.latencies)
        clicker.points.add(np.array([y, x], float))  # data coordinates (scale 1)
        wait_until(qtbot, lambda: len(clicker.latencies) > done, 60)
    viewer.reset_view()
    qtbot.wait(300)
    path = os.environ.get("LIBUNET_SCREENSHOT", "napari-screenshot.png")
    shot = viewer.screenshot(path=path, canvas_only=False, flash=False)
    print("\nscreenshot: %s" % os.path.abspath(path))
    assert os.path.isfile(path)
    assert shot.shape[0] >= 600 and shot.shape[1] >= 1000
    # the canvas shows the image (not a blank or black frame) and the dock widget is there
    assert shot[..., :3].std() > 20
    assert widget.native.isVisible() and widget.status.value.startswith("done")
    assert sorted(np.unique(clicker.labels.data)) == [0, 1, 2]
