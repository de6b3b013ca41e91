"""Click-to-segment in napari: points on a Points layer become labels, from one cached session."""

import numpy as np
import unet
from conftest import figure, wait_until


def inner_pixel(truth, label):
    """The object's pixel nearest its centroid (y, x)."""
    ys, xs = np.nonzero(truth == label)
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
    return int(ys[k]), int(xs[k])


def objects(truth, margin):
    """Inner pixels of the well-sized objects at least `margin` px from the border."""
    h, w = truth.shape
    points = {}
    for label in range(1, int(truth.max()) + 1):
        area = int(np.count_nonzero(truth == label))
        if 150 <= area <= 1500:
            y, x = inner_pixel(truth, label)
            if margin <= y < h - margin and margin <= x < w - margin:
                points[label] = (y, x)
    return points


def close_pair(truth, low=20, high=64):
    """Two objects whose inner pixels are low..high px apart (the pair nearest 40 px)."""
    points = objects(truth, 100)
    best = None
    for a in points:
        for b in points:
            if a < b:
                d = np.hypot(*np.subtract(points[a], points[b]))
                if low <= d < high and (best is None or abs(d - 40) < best[0]):
                    best = (abs(d - 40), a, b)
    assert best is not None, "no pair of nuclei %d..%d px apart in the sample" % (low, high)
    return best[1], best[2], points[best[1]], points[best[2]]


def iou(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def start(make_napari_viewer, image, **layer_kwargs):
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="cells", **layer_kwargs)
    _, widget = viewer.window.add_plugin_dock_widget("libunet-napari", "U-Net")
    widget.reset_choices()
    widget.image.value = layer
    widget.click_button.native.click()
    clicker = widget.clicker
    assert clicker is not None
    assert viewer.layers.selection.active.name == clicker.points.name  # (a proxy: no "is")
    assert clicker.points.mode == "add"
    return viewer, layer, clicker


def click(qtbot, clicker, world_point):
    done = len(clicker.latencies)
    # what a mouse click in add mode does: the world position, in the layer's data coordinates
    clicker.points.add(clicker.points.world_to_data(np.asarray(world_point, float)))
    wait_until(qtbot, lambda: len(clicker.latencies) > done, 60)


def test_two_close_clicks_two_labels_one_network_run(qtbot, make_napari_viewer):
    image, truth = unet.sample(size=512, seed=7)
    a, b, pa, pb = close_pair(truth)
    scale, translate = np.array([0.5, 0.5]), np.array([3.0, 7.0])
    viewer, layer, clicker = start(make_napari_viewer, image, scale=scale, translate=translate)
    # points are placed in world coordinates, as the mouse places them
    click(qtbot, clicker, np.multiply(pa, scale) + translate)
    click(qtbot, clicker, np.multiply(pb, scale) + translate)
    labels = clicker.labels.data
    assert sorted(np.unique(labels)) == [0, 1, 2]
    assert iou(labels == 1, truth == a) > 0.6 and iou(labels == 2, truth == b) > 0.6
    assert clicker.stats()["network_runs"] == 1
    np.testing.assert_allclose(clicker.labels.scale, scale)
    np.testing.assert_allclose(clicker.labels.translate, translate)
    figure("first click latency in napari (point added to label painted)",
           clicker.latencies[0] * 1000, "ms")
    figure("second click latency in napari (cached, %.0f px away)" % np.hypot(
        *np.subtract(pa, pb)), clicker.latencies[1] * 1000, "ms")


def test_session_is_rebuilt_when_the_image_changes(qtbot, make_napari_viewer):
    image, truth = unet.sample(size=256, seed=11)
    a, pa = next(iter(objects(truth, 40).items()))
    viewer, layer, clicker = start(make_napari_viewer, image)
    click(qtbot, clicker, pa)
    first = clicker.session
    assert clicker.labels.data[pa] == 1
    # new data: the same image flipped left-right; a click on the mirrored object finds it
    layer.data = np.ascontiguousarray(image[:, ::-1])
    mirrored = (pa[0], image.shape[1] - 1 - pa[1])
    click(qtbot, clicker, mirrored)
    assert clicker.session is not first
    assert clicker.stats()["network_runs"] == 1  # a fresh session's first run
    assert iou(clicker.labels.data == 2, (truth == a)[:, ::-1]) > 0.6


def test_click_on_background_adds_nothing(qtbot, make_napari_viewer):
    from scipy import ndimage
    image, truth = unet.sample(size=256, seed=11)
    # the background pixel farthest from every object
    dist = ndimage.distance_transform_edt(truth == 0)
    y, x = np.unravel_index(np.argmax(dist), dist.shape)
    viewer, layer, clicker = start(make_napari_viewer, image)
    click(qtbot, clicker, (y, x))
    assert clicker.labels.data.max() == 0


def test_click_on_a_plane_of_a_stack(qtbot, make_napari_viewer):
    first, _ = unet.sample(size=256, seed=12)
    second, truth = unet.sample(size=256, seed=13)
    a, pa = next(iter(objects(truth, 40).items()))
    viewer, layer, clicker = start(make_napari_viewer, np.stack([first, second]))
    assert clicker.labels.data.shape == (2, 256, 256)
    click(qtbot, clicker, (1,) + pa)  # a point on plane 1, as napari places it there
    labels = clicker.labels.data
    assert labels[0].max() == 0 and labels[1][pa] == 1
    assert iou(labels[1] == 1, truth == a) > 0.6


def test_stop_cancels_a_running_click(qtbot, make_napari_viewer):
    """Replacing the clicker (another image in the dock) stops the click still running: the
    worker ends without painting or reporting anything."""
    image, truth = unet.sample(size=2048, seed=14)
    a, pa = next(iter(objects(truth, 100).items()))
    viewer, layer, clicker = start(make_napari_viewer, image)
    clicker.points.add(np.asarray(pa, float))  # a first click: statistics, scale, network
    wait_until(qtbot, lambda: clicker._worker is not None, 10)
    qtbot.wait(50)
    clicker.stop()
    wait_until(qtbot, lambda: clicker._worker is None, 60)
    assert clicker.latencies == [] and clicker.labels.data.max() == 0

