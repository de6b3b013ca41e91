"""The fine-tune widget: train the chosen model further on the current image and a Labels layer
painted by the user, then save it as a .unet file.

Painting convention: 0 (never painted) is "not annotated" and ignored by the loss, 1 is the
background brush, and every value >= 2 is one object. The trainer wants 0 for background and
instance ids above it, with a separate value for unannotated pixels (its ignore_label), so the
painted values are shifted down by one and 0 becomes IGNORE."""

import os

import napari
import numpy as np
from magicgui.widgets import (Container, FileEdit, FloatSpinBox, Label, ProgressBar, PushButton,
                              SpinBox, create_widget)
from napari.utils.notifications import show_error, show_info
from unet.train import Trainer

from . import _channels, _models
from ._model_choice import ModelChoice
from ._worker import STEPS, Job

IGNORE = 2**31 - 1  # the trainer's ignore_label for unannotated pixels

HELP = "\n".join([
    "How to paint: add a Labels layer (layer",
    "list: new labels layer) over the image;",
    "label 1 is the background brush, labels",
    "2, 3, ... are objects, one label each",
    "(M: a new label). Unpainted pixels (0)",
    "are ignored: a few objects and some",
    "background around them are enough.",
])


def training_labels(painted):
    """The trainer's labels (int32: 0 background, 1.. objects, IGNORE unannotated) from the
    painted convention (0 unannotated, 1 background, >= 2 objects)."""
    painted = np.asarray(painted)
    if painted.dtype.kind not in "iub":
        raise ValueError("annotations must be a Labels layer (integer values)")
    if painted.size and (painted.min() < 0 or painted.max() > IGNORE):
        raise ValueError("painted labels must lie in 0..%d" % IGNORE)
    out = painted.astype(np.int64) - 1
    out[painted == 0] = IGNORE
    return out.astype(np.int32)


class FineTuneWidget(Container):
    """Start from a model, train on (image, painted labels), save; live loss, Cancel."""

    def __init__(self, napari_viewer: "napari.viewer.Viewer"):
        super().__init__()
        self.viewer = napari_viewer
        self.help = Label(value=HELP)
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.annotations = create_widget(annotation=napari.layers.Labels, label="annotations")
        self.model = ModelChoice(label="start from")
        self.steps = SpinBox(label="steps", value=100, min=1, max=100000)
        self.lr = FloatSpinBox(label="learning rate", value=5e-4, min=1e-6, max=1.0, step=1e-4)
        self.patch = SpinBox(label="patch", value=128, min=16, max=4096, step=16,
                             tooltip="side of the training patches in pixels")
        self.threads = SpinBox(label="threads", value=0, min=0, max=1024,
                               tooltip="CPU threads (0: all)")
        self.output = FileEdit(label="save as", mode="w", filter="*.unet",
                               value=os.path.join(os.path.expanduser("~"), "finetuned.unet"))
        self.start_button = PushButton(text="Start")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=STEPS, value=0)
        self.loss = Label(label="loss", value="")
        buttons = Container(widgets=[self.start_button, self.cancel_button],
                            layout="horizontal", labels=False)
        self.extend([self.help, self.image, self.annotations, *self.model.widgets, self.steps,
                     self.lr, self.patch, self.threads, self.output, buttons, self.progress,
                     self.loss])
        self.start_button.changed.connect(self.start)
        self.cancel_button.changed.connect(self.cancel)
        self.job = None
        self.losses = []  # training loss of every step of the last run
        self.saved = None  # path of the last saved model

    def _pairs(self, image_layer, labels_layer, in_channels):
        """(image plane, training labels) for every plane with some annotation."""
        data = image_layer.data[0] if image_layer.multiscale else image_layer.data
        painted = np.asarray(labels_layer.data[0] if labels_layer.multiscale
                             else labels_layer.data)
        spatial = _channels.spatial_shape(data.shape, image_layer.rgb)
        if painted.shape != spatial:
            raise ValueError("the annotations (%s) do not have the image's shape %s"
                             % (painted.shape, spatial))
        pairs = []
        for index, plane in _channels.planes(data, in_channels, image_layer.rgb):
            if np.any(painted[index]):
                pairs.append((plane, training_labels(painted[index])))
        if not pairs:
            raise ValueError("the annotations layer is empty: paint background (1) and "
                             "objects (2, 3, ...) first")
        return pairs

    def start(self):
        if self.job is not None and self.job.running:
            return
        image, labels = self.image.value, self.annotations.value
        if image is None or labels is None:
            show_error("U-Net: choose an image layer and a painted Labels layer")
            return
        try:
            spec = self.model.spec
            output = str(self.output.value)
            if not output.endswith(".unet"):
                raise ValueError("save as a .unet file")
        except ValueError as e:
            show_error("U-Net: %s" % e)
            return
        options = {"steps": self.steps.value, "lr": self.lr.value, "patch": self.patch.value,
                   "threads": self.threads.value, "ignore_label": IGNORE, "val_fraction": 0}
        losses = self.losses = []

        def work(report):
            model = _models.load_fresh(spec)  # the trainer changes it; the shared one stays
            pairs = self._pairs(image, labels, model.in_channels)

            def step(done, total, loss, _metric):
                losses.append(loss)
                return report(done / total, "step %d/%d: loss %.4f" % (done, total, loss))

            with Trainer(model, progress=step, **options) as trainer:
                for plane, target in pairs:
                    trainer.add(plane, target, split="train")
                trainer.train()
                trainer.save(output)
            return output

        def done(path):
            self.saved = path
            show_info("U-Net: fine-tuned model saved to %s (choose it as the model file)" % path)

        self.progress.value = 0
        self.loss.value = "preparing..."
        self.start_button.enabled = False
        self.cancel_button.enabled = True
        self.job = Job(work, "U-Net fine-tune", on_done=done, on_progress=self._show_progress,
                       on_end=self._ended)

    def cancel(self):
        if self.job is not None:
            self.job.cancel()

    def _show_progress(self, fraction, text):
        self.progress.value = int(fraction * STEPS)
        if text:
            self.loss.value = text

    def _ended(self, outcome):
        self.start_button.enabled = True
        self.cancel_button.enabled = False
        if outcome != "done":
            self.loss.value = "%s (%s)" % (self.loss.value, outcome)
