"""The "U-Net" dock widget: run a model on an image layer (Run / Cancel, progress) and turn on
click-to-segment.

A segmentation model gives a Labels layer, a restoration model an Image layer, each with the
image layer's scale and translate. The work runs in a thread_worker (see _worker.Job), so the
viewer stays live; the layer is added on the GUI thread when the result arrives."""

import time

import napari
from magicgui.widgets import (CheckBox, Container, Label, ProgressBar, PushButton, SpinBox,
                              create_widget)
from napari.utils.notifications import show_error

from . import _models, _segment
from ._click import ClickToSegment
from ._model_choice import ModelChoice
from ._worker import STEPS, Job


class UNetWidget(Container):
    """Model choice, diameter, tile, blend, tta, threads, Run / Cancel, progress, and
    click-to-segment."""

    def __init__(self, napari_viewer: "napari.viewer.Viewer"):
        super().__init__()
        self.viewer = napari_viewer
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.model = ModelChoice()
        self.tile = SpinBox(label="tile", value=0, min=0, max=1 << 20, step=16,
                            tooltip="tile core size in pixels (0: chosen from the image and "
                                    "memory); results do not depend on it")
        self.blend = SpinBox(label="blend", value=0, min=0, max=4096,
                             tooltip="pixels of smooth blending at tile seams (0: exact "
                                     "stitching)")
        self.tta = CheckBox(label="tta", value=False,
                            tooltip="test-time augmentation: average the model's output over "
                                    "the four flips of the image (about four times the network "
                                    "time; segmentation and clicks)")
        self.threads = SpinBox(label="threads", value=0, min=0, max=1024,
                               tooltip="CPU threads (0: the CPUs napari may use)")
        self.diameter = SpinBox(label="diameter", value=0, min=0, max=4096,
                                tooltip="typical object diameter in pixels (0: measured on "
                                        "each image by a quick first pass); segmentation and "
                                        "clicks resize the image so objects match the model's")
        self.run_button = PushButton(text="Run")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=STEPS, value=0)
        self.status = Label(value="")
        self.click_button = PushButton(
            text="Click to segment",
            tooltip="adds a Points layer: each point you add puts the object under it into a "
                    "Labels layer as a new label")
        buttons = Container(widgets=[self.run_button, self.cancel_button], layout="horizontal",
                            labels=False)
        self.extend([self.image, *self.model.widgets, self.diameter, self.tile, self.blend,
                     self.tta, self.threads,
                     buttons, self.progress, self.status, self.click_button])
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self.click_button.changed.connect(self.start_clicking)
        self.job = None
        self.clicker = None
        self.last_seconds = None  # Run to layer added, for the record
        self.started_at = None  # time.perf_counter() of the last Run

    # ---- Run / Cancel ----
    def run(self):
        """Start the model on the chosen image layer (one run at a time)."""
        if self.job is not None and self.job.running:
            return
        layer = self.image.value
        if layer is None:
            show_error("U-Net: choose an image layer")
            return
        try:
            spec = self.model.spec
        except ValueError as e:
            show_error("U-Net: %s" % e)
            return
        data = layer.data[0] if layer.multiscale else layer.data
        rgb = layer.rgb
        options = {"threads": self.threads.value, "tile": self.tile.value,
                   "blend": self.blend.value, "tta": self.tta.value}
        diameter = self.diameter.value
        started = self.started_at = time.perf_counter()

        def work(report):
            model = _models.get(spec)
            if _models.is_segmentation(model):
                return "labels", _segment.segment_array(data, model, rgb, progress=report,
                                                        diameter=diameter, **options)
            return "image", _segment.predict_array(data, model, rgb, progress=report, **options)

        def done(result):
            self._add_result(layer, *result)
            self.last_seconds = time.perf_counter() - started
            self.status.value = "done in %.2f s" % self.last_seconds

        self.progress.value = 0
        self.status.value = "running..."
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.job = Job(work, "U-Net %s" % layer.name, on_done=done,
                       on_progress=self._show_progress, on_end=self._ended)

    def cancel(self):
        if self.job is not None:
            self.job.cancel()
            self.status.value = "cancelling..."

    def _show_progress(self, fraction, _text):
        self.progress.value = int(fraction * STEPS)

    def _ended(self, outcome):
        self.run_button.enabled = True
        self.cancel_button.enabled = False
        if outcome != "done":
            self.status.value = outcome

    def _add_result(self, layer, kind, array):
        place = {"scale": layer.scale, "translate": layer.translate}
        if kind == "labels":
            self.viewer.add_labels(array, name="%s U-Net labels" % layer.name, **place)
        elif array.ndim == len(layer.scale):
            self.viewer.add_image(array, name="%s U-Net" % layer.name, **place)
        else:  # several output channels: one image layer each
            self.viewer.add_image(array, name="%s U-Net" % layer.name,
                                  channel_axis=array.ndim - 3, **place)

    # ---- click-to-segment ----
    def start_clicking(self):
        """Points and Labels layers for the chosen image: each new point segments one object."""
        layer = self.image.value
        if layer is None:
            show_error("U-Net: choose an image layer")
            return
        try:
            spec = self.model.spec
        except ValueError as e:
            show_error("U-Net: %s" % e)
            return
        clicker = self.clicker
        if clicker is not None and clicker.image is layer and clicker.points in self.viewer.layers \
                and clicker.labels in self.viewer.layers and clicker.threads == self.threads.value \
                and clicker.diameter == self.diameter.value and clicker.tta == self.tta.value:
            clicker.set_model(spec)  # same image: keep its layers, new session on the next click
        else:
            if clicker is not None:
                clicker.stop()
            self.clicker = ClickToSegment(self.viewer, layer, spec, threads=self.threads.value,
                                          diameter=self.diameter.value, tta=self.tta.value)
        self.clicker.points.mode = "add"
        self.viewer.layers.selection.active = self.clicker.points
