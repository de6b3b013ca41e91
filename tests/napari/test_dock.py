"""The "U-Net" dock widget end to end: Run, progress, Cancel, results as layers, errors as
notifications, and a viewer that keeps responding while the library works."""

import time

import numpy as np
import pytest
import unet
from conftest import StallMeter, figure, wait_until
from napari.utils.notifications import notification_manager


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("libunet-napari", "U-Net")
    return viewer, widget


def run_and_wait(qtbot, widget, timeout=120.0):
    """Press Run and wait for the job to end; returns (fractions seen, outcome)."""
    fractions = []
    widget.progress.changed.connect(lambda v: fractions.append(v))
    widget.run_button.native.click()
    assert widget.job is not None
    wait_until(qtbot, lambda: not widget.job.running, timeout)
    return fractions, widget.job.outcome


def test_segments_a_small_image_into_a_labels_layer(qtbot, dock, nuclei):
    viewer, widget = dock
    image, _ = unet.sample(size=256, seed=3)
    layer = viewer.add_image(image, name="cells", scale=(0.5, 0.25), translate=(10.0, -4.0))
    widget.reset_choices()
    widget.image.value = layer
    fractions, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    result = viewer.layers["cells U-Net labels"]
    assert result._type_string == "labels"
    np.testing.assert_array_equal(result.data, nuclei.segment(image))
    np.testing.assert_allclose(result.scale, layer.scale)
    np.testing.assert_allclose(result.translate, layer.translate)
    # progress advanced through intermediate values to the end (the order in which a
    # listener sees them may interleave: Qt value signals can nest)
    assert widget.progress.value == widget.progress.max
    assert any(0 < f < widget.progress.max for f in fractions)
    assert widget.job.pbar.n == widget.job.pbar.total
    assert widget.run_button.enabled and not widget.cancel_button.enabled


def test_img2d_time_and_gui_stall(qtbot, dock, img2d, nuclei):
    viewer, widget = dock
    widget.image.value = viewer.add_image(img2d, name="img2d")
    widget.reset_choices()
    meter = StallMeter()
    meter.start()
    _, outcome = run_and_wait(qtbot, widget)
    meter.stop()
    assert outcome == "done"
    np.testing.assert_array_equal(viewer.layers["img2d U-Net labels"].data,
                                  nuclei.segment(img2d))
    job = widget.job
    during_run = meter.longest_until(job.returned_at)
    figure("time to segment img2d in the widget (Run to Labels layer shown)",
           widget.last_seconds, "s")
    figure("of which the library run in the worker (Run to result on the GUI thread)",
           job.returned_at - widget.started_at, "s")
    figure("longest GUI stall while img2d runs", during_run * 1000, "ms")
    figure("longest GUI stall including napari adding the Labels layer",
           meter.longest * 1000, "ms")
    assert during_run < 0.25


def test_cancel_stops_a_2048_run_midway_and_the_gui_stays_live(qtbot, dock):
    viewer, widget = dock
    image, _ = unet.sample(size=2048, seed=5)
    widget.image.value = viewer.add_image(image, name="big")
    widget.reset_choices()
    layers_before = len(viewer.layers)
    meter = StallMeter()
    meter.start()
    widget.run_button.native.click()
    job = widget.job
    wait_until(qtbot, lambda: job.fraction >= 0.15 or not job.running, 300)
    assert job.running, "the 2048^2 run ended before it could be cancelled"
    cancelled_at = job.fraction
    pressed = time.perf_counter()
    widget.cancel_button.native.click()
    wait_until(qtbot, lambda: not job.running, 60)
    stopped = time.perf_counter() - pressed
    meter.stop()
    assert job.outcome == "cancelled"
    assert job.fraction < 0.9, "the run went on to %.2f after Cancel at %.2f" % (
        job.fraction, cancelled_at)
    assert len(viewer.layers) == layers_before  # no result layer
    assert widget.run_button.enabled and not widget.cancel_button.enabled
    figure("Cancel to stopped (2048^2 run, cancelled at %.0f%%)" % (100 * cancelled_at),
           stopped * 1000, "ms")
    figure("longest GUI stall during the 2048^2 run", meter.longest * 1000, "ms")
    assert meter.longest < 0.25
    assert stopped < 5.0


def test_quit_from_napari_activity_panel_also_cancels(qtbot, dock):
    viewer, widget = dock
    image, _ = unet.sample(size=2048, seed=6)
    widget.image.value = viewer.add_image(image, name="big")
    widget.reset_choices()
    widget.run_button.native.click()
    job = widget.job
    wait_until(qtbot, lambda: job.fraction >= 0.1 or not job.running, 300)
    assert job.running
    job.worker.quit()  # what the cancel button of napari's activity panel calls
    wait_until(qtbot, lambda: not job.running, 60)
    assert job.outcome == "cancelled" and job.fraction < 0.9
    assert "big U-Net labels" not in viewer.layers
    assert widget.run_button.enabled


def test_restoration_model_gives_an_image_layer(qtbot, dock, tmp_path):
    viewer, widget = dock
    model = unet.Model.create({"depth": 2, "base_features": 8}, seed=1)  # no final activation
    path = tmp_path / "denoise.unet"
    model.save(str(path))
    image, _ = unet.sample(size=128, seed=2)
    layer = viewer.add_image(image, name="noisy", scale=(2.0, 2.0))
    widget.reset_choices()
    widget.image.value = layer
    widget.model.set(str(path))
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    result = viewer.layers["noisy U-Net"]
    assert result._type_string == "image" and result.data.dtype == np.float32
    np.testing.assert_allclose(result.data, model.predict(image)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.scale, layer.scale)


def test_library_errors_become_notifications(qtbot, dock, tmp_path):
    viewer, widget = dock
    bad = tmp_path / "broken.unet"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}   ")
    widget.image.value = viewer.add_image(np.zeros((64, 64), np.uint16))
    widget.reset_choices()
    widget.model.set(str(bad))
    seen = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        _, outcome = run_and_wait(qtbot, widget)
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    assert outcome == "failed"
    messages = [str(n.message) for n in seen]
    assert any(m.startswith("U-Net: ") and "malformed" in m for m in messages), messages
    assert widget.run_button.enabled  # ready for the next run


def test_tile_reaches_the_library(qtbot, dock, nuclei):
    viewer, widget = dock
    image, _ = unet.sample(size=256, seed=9)
    widget.image.value = viewer.add_image(image, name="cells")
    widget.reset_choices()
    widget.tile.value = 64
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    np.testing.assert_array_equal(viewer.layers["cells U-Net labels"].data,
                                  nuclei.segment(image, tile=64))
    widget.tile.value = 60  # not a multiple of the model's block multiple (8): refused
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "failed"


def test_blend_reaches_the_library(qtbot, dock, nuclei):
    # Needs Model.segment(blend=): the C segment options carry blend (a predict option), the
    # Python signature does not take it yet.
    viewer, widget = dock
    image, _ = unet.sample(size=256, seed=9)
    widget.image.value = viewer.add_image(image, name="cells")
    widget.reset_choices()
    widget.tile.value = 64
    widget.blend.value = 16
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    # blended seams change the probabilities slightly: compare with the library's own
    # blended, tiled segmentation
    np.testing.assert_array_equal(viewer.layers["cells U-Net labels"].data,
                                  nuclei.segment(image, tile=64, blend=16))


def click_one_segmented_object(qtbot, widget, labels):
    """Click to segment, then one point inside the first object of `labels`: the clicked
    object must be that object. Returns the clicker."""
    widget.click_button.native.click()
    clicker = widget.clicker
    ys, xs = np.nonzero(labels == labels[labels > 0][0])
    y, x = int(np.median(ys)), int(np.median(xs))
    if labels[y, x] == 0:
        y, x = int(ys[0]), int(xs[0])
    clicker.points.add(np.array([y, x], float))
    wait_until(qtbot, lambda: len(clicker.latencies) == 1, 60)
    np.testing.assert_array_equal(clicker.labels.data > 0, labels == labels[y, x])
    return clicker


def test_diameter_reaches_segmentation_and_clicks(qtbot, dock, nuclei):
    viewer, widget = dock
    image, truth = unet.sample(size=256, seed=9)
    widget.image.value = viewer.add_image(image, name="cells")
    widget.reset_choices()
    widget.diameter.value = 40  # about twice the sample's nuclei: a different scale
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    labels = viewer.layers["cells U-Net labels"].data
    np.testing.assert_array_equal(labels, nuclei.segment(image, diameter=40))
    assert not np.array_equal(labels, nuclei.segment(image))  # the automatic scale differs
    # clicks run at the same scale, so a clicked object equals the segmented one under it
    clicker = click_one_segmented_object(qtbot, widget, labels)
    assert clicker.session.scale == pytest.approx(nuclei.segment_scale(image, diameter=40))


def test_tta_reaches_segmentation_and_clicks(qtbot, dock, nuclei):
    viewer, widget = dock
    image, _ = unet.sample(size=256, seed=9)
    widget.image.value = viewer.add_image(image, name="cells")
    widget.reset_choices()
    widget.tta.value = True
    _, outcome = run_and_wait(qtbot, widget)
    assert outcome == "done"
    labels = viewer.layers["cells U-Net labels"].data
    np.testing.assert_array_equal(labels, nuclei.segment(image, tta=True))
    assert not np.array_equal(labels, nuclei.segment(image))  # the flips change the labels
    # clicks average the same flips: a clicked object equals the segmented one under it
    assert click_one_segmented_object(qtbot, widget, labels).tta

