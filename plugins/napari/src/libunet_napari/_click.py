"""Click-to-segment in napari: a Points layer whose every new point adds the object under it to a
Labels layer as one new label, through a libunet click session.

The session predicts only a window around a click and caches it, so a later click nearby runs no
network. It holds a copy of the image (as the model reads it) and is rebuilt when the image
layer's data or the model changes. Clicks queue up and one thread_worker at a time works through
them (a session is used from one thread at a time); each object is painted on the GUI thread."""

import collections
import time

import numpy as np
import unet
from napari.layers.base._base_constants import ActionType
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info

from . import _channels, _models


def _session_image(data, rgb, in_channels):
    """The whole image as the model reads it, (P, [C,] Y, X), and the axes letters."""
    planes = [image for _, image in _channels.planes(data, in_channels, rgb)]
    stack = np.ascontiguousarray(np.stack(planes))
    return stack, ("ZCYX" if stack.ndim == 4 else "ZYX")


class ClickToSegment:
    """Adds "<image> U-Net clicks" (Points, in add mode) and "<image> U-Net objects" (Labels)
    to the viewer for `image_layer`. latencies: seconds from each point's addition to its object
    painted (or found empty)."""

    def __init__(self, viewer, image_layer, model, threads=0, diameter=0, tta=False):
        self.viewer = viewer
        self.image = image_layer
        self.rgb = image_layer.rgb
        self.threads = int(threads)
        self.diameter = diameter  # 0: the automatic scale, measured at the first click
        self.tta = bool(tta)  # probabilities averaged over the four flips, as segmentation
        self._model = model
        data = image_layer.data[0] if image_layer.multiscale else image_layer.data
        self.spatial = _channels.spatial_shape(data.shape, self.rgb)
        self.plane_shape = self.spatial[:-2]
        place = {"scale": image_layer.scale, "translate": image_layer.translate}
        self.labels = viewer.add_labels(np.zeros(self.spatial, np.uint32),
                                        name="%s U-Net objects" % image_layer.name, **place)
        self.points = viewer.add_points(ndim=len(self.spatial), name="%s U-Net clicks"
                                        % image_layer.name, size=max(3, min(self.spatial[-2:]) // 80),
                                        face_color="yellow", **place)
        self.points.mode = "add"
        self.session = None
        self._stopped = False
        self._session_source = None
        self._source = None  # (image data, model) the next session is built from
        self._invalidate()
        self._queue = collections.deque()
        self._worker = None
        self.latencies = []
        self.points.events.data.connect(self._on_points)
        self.image.events.data.connect(self._invalidate)

    # ---- GUI thread ----
    def set_model(self, model):
        self._model = model
        self._invalidate()

    def _invalidate(self, event=None):
        """Build a new session (from the layer's current data) before the next click."""
        data = self.image.data[0] if self.image.multiscale else self.image.data
        self._source = (data, self._model)

    def stop(self):
        """Stop listening (the layers stay); a click still running stops too, painting
        nothing (a first click on a large image can take seconds)."""
        self.points.events.data.disconnect(self._on_points)
        self.image.events.data.disconnect(self._invalidate)
        self._queue.clear()
        self._stopped = True
        session = self.session
        if session is not None:
            session.cancel()  # thread-safe; the session is not used again

    def stats(self):
        """The session's work so far (unet.ClickSession.stats), zeros before the first click."""
        if self.session is None:
            return {"network_runs": 0, "network_pixels": 0, "cached_pixels": 0}
        return self.session.stats()

    def _on_points(self, event):
        if getattr(event, "action", None) != ActionType.ADDED:
            return
        now = time.perf_counter()
        for index in event.data_indices:
            world = self.points.data_to_world(self.points.data[index])
            pixel = np.round(np.asarray(self.image.world_to_data(world))).astype(np.int64)
            pixel = tuple(int(v) for v in pixel[:len(self.spatial)])
            if any(v < 0 or v >= n for v, n in zip(pixel, self.spatial)):
                show_info("U-Net: the point lies outside the image")
                continue
            self._queue.append((now, pixel))
        self._next_worker()

    def _next_worker(self):
        if self._worker is None and self._queue:
            # connect= at creation, so an error is not re-raised in the GUI thread as well
            self._worker = create_worker(self._work, _connect={
                "yielded": self._paint, "errored": self._errored,
                "finished": self._finished})

    def _finished(self):
        self._worker = None
        self._next_worker()

    def _errored(self, exc):
        self._queue.clear()

    def _paint(self, item):
        started, pixel, result, error = item
        if error is not None:
            show_error("U-Net: %s" % error)
        elif result.empty:
            show_info("U-Net: no object under the point")
        else:
            x0, y0, w, h = result.bbox
            plane = pixel[:-2]
            window = self.labels.data[plane + (slice(y0, y0 + h), slice(x0, x0 + w))]
            ys, xs = np.nonzero((result.mask != 0) & (window == 0))  # never over other labels
            if len(ys):
                label = int(self.labels.data.max()) + 1
                where = tuple(np.full(len(ys), p) for p in plane) + (ys + y0, xs + x0)
                self.labels.data_setitem(where, label)
        self.latencies.append(time.perf_counter() - started)

    # ---- worker thread ----
    def _work(self):
        while self._queue:
            started, pixel = self._queue.popleft()
            try:
                session = self._current_session()
                if self._stopped:  # after the session is set: stop() cancels it from then on
                    return
                plane = int(np.ravel_multi_index(pixel[:-2], self.plane_shape)) \
                    if self.plane_shape else 0
                result = session.click(pixel[-1], pixel[-2], plane=plane)
                yield started, pixel, result, None
            except unet.Cancelled:
                return  # stop() cancelled it: nothing to paint or report
            except (unet.UnetError, ValueError, OSError) as e:
                yield started, pixel, None, e

    def _current_session(self):
        source = self._source
        if self.session is None or self._session_source is not source:
            data, spec = source
            model = _models.get(spec)
            image, axes = _session_image(data, self.rgb, model.in_channels)
            if self.session is not None:
                self.session.close()
            self.session = unet.ClickSession(model, image, axes=axes, threads=self.threads,
                                             diameter=float(self.diameter) or None,
                                             tta=self.tta)
            self._session_source = source
        return self.session
