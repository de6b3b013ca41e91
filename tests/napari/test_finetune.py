"""The fine-tune widget: train on a sparsely painted Labels layer, live loss, Cancel, save."""

import os

import numpy as np
import unet
from conftest import figure, wait_until
from libunet_napari._finetune import IGNORE, training_labels
from scipy import ndimage


def sparse_painting(truth, count, seed):
    """What a user paints: `count` whole objects (2, 3, ...) and a ring of background (1)
    around each; everything else 0 (not annotated)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.arange(1, truth.max() + 1), size=count, replace=False)
    painted = np.zeros(truth.shape, np.uint8)
    for k, label in enumerate(chosen):
        obj = truth == label
        ring = ndimage.binary_dilation(obj, iterations=10) & (truth == 0)
        painted[ring] = 1
        painted[obj] = k + 2
    return painted


def bce_on_painted(model, image, painted):
    """Binary cross-entropy of the model's probabilities against the painting, on painted
    pixels only (the loss the fine-tuning is about, measured without augmentation)."""
    p = np.clip(model.predict(image)[0].astype(np.float64), 1e-6, 1 - 1e-6)
    annotated = painted > 0
    target = painted[annotated] >= 2
    q = p[annotated]
    return float(-np.mean(np.where(target, np.log(q), np.log(1 - q))))


def test_training_labels_convention():
    painted = np.array([[0, 1, 2], [3, 0, 2]], np.uint8)
    np.testing.assert_array_equal(training_labels(painted),
                                  [[IGNORE, 0, 1], [2, IGNORE, 1]])


def start(make_napari_viewer, image, painted, tmp_path, steps):
    viewer = make_napari_viewer()
    image_layer = viewer.add_image(image, name="cells")
    labels_layer = viewer.add_labels(painted, name="painted")
    _, widget = viewer.window.add_plugin_dock_widget("libunet-napari", "U-Net fine-tune")
    widget.reset_choices()
    widget.image.value = image_layer
    widget.annotations.value = labels_layer
    widget.steps.value = steps
    widget.output.value = str(tmp_path / "tuned.unet")
    widget.start_button.native.click()
    return viewer, widget


def test_finetune_on_sparse_painting_lowers_the_loss(qtbot, make_napari_viewer, tmp_path):
    image, truth = unet.sample(size=256, seed=21)
    image = (image.max() - image).astype(np.uint16)  # inverted contrast: new to the model
    painted = sparse_painting(truth, 8, seed=0)
    before = bce_on_painted(unet.Model.builtin("nuclei"), image, painted)
    viewer, widget = start(make_napari_viewer, image, painted, tmp_path, steps=30)
    wait_until(qtbot, lambda: not widget.job.running, 600)
    assert widget.job.outcome == "done"
    assert len(widget.losses) == 30 and widget.loss.value.startswith("step 30/30")
    assert widget.saved == str(tmp_path / "tuned.unet") and os.path.isfile(widget.saved)
    after = bce_on_painted(unet.Model.load(widget.saved), image, painted)
    figure("fine-tune: loss on the painted pixels before", before, "")
    figure("fine-tune: loss on the painted pixels after 30 steps", after, "")
    figure("fine-tune: mean training loss, first 5 steps", np.mean(widget.losses[:5]), "")
    figure("fine-tune: mean training loss, last 5 steps", np.mean(widget.losses[-5:]), "")
    assert after < 0.8 * before
    assert np.mean(widget.losses[-5:]) < np.mean(widget.losses[:5])


def test_finetune_cancel_saves_nothing(qtbot, make_napari_viewer, tmp_path):
    image, truth = unet.sample(size=256, seed=22)
    viewer, widget = start(make_napari_viewer, image, sparse_painting(truth, 4, seed=1),
                           tmp_path, steps=5000)
    wait_until(qtbot, lambda: len(widget.losses) >= 2, 300)
    widget.cancel_button.native.click()
    wait_until(qtbot, lambda: not widget.job.running, 120)
    assert widget.job.outcome == "cancelled"
    assert len(widget.losses) < 100
    assert not (tmp_path / "tuned.unet").exists()
    assert widget.start_button.enabled


def test_empty_painting_is_refused(qtbot, make_napari_viewer, tmp_path):
    image, _ = unet.sample(size=128, seed=23)
    viewer, widget = start(make_napari_viewer, image, np.zeros(image.shape, np.uint8),
                           tmp_path, steps=5)
    wait_until(qtbot, lambda: not widget.job.running, 60)
    assert widget.job.outcome == "failed"
