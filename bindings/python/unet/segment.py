"""Model.segment: an image to uint32 instance labels through unet_segment (prediction, then the
post-processing the model's output metadata names, in strips of bounded memory)."""

from __future__ import annotations

import ctypes
from typing import Any, Optional, Union

import numpy as np

from . import _lib, _predict, _run
from ._run import CancelToken
from ._lib import lib
from ._options import Options
from .model import DtypeError, Model, Normalize, Progress, ShapeError, UnetError

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


Scale = Union[float, str, None]


def segment(self: Model, image: Any, threshold: Optional[float] = None,
            min_distance: Optional[int] = None, min_size: Optional[int] = None,
            scale: Scale = None, pixel_size: Optional[float] = None,
            tile: Optional[int] = None, threads: int = 0, strip: Optional[int] = None,
            overlap: Optional[int] = None, progress: Optional[Progress] = None,
            split: Optional[bool] = None, blend: int = 0, batch: int = 1,
            border: Optional[str] = None, normalize: Normalize = None, precise: bool = False,
            axes: Optional[str] = None, cancel: Optional[CancelToken] = None,
            max_pixels: Optional[int] = None,
            diameter: Optional[float] = None, channel: Optional[int] = None,
            tta: bool = False) -> np.ndarray:
    """Instance labels (uint32 (Y, X), 0 background, 1..N in raster order) of one 2-D image:
    (Y, X), (C, Y, X), or (Y, X, 3|4) colour read by the library's channel rule (axes: as
    for Model.predict, without plane axes; channel: the channel a one-channel model reads,
    needed for 2 or more than 4 channels). threshold, min_distance, min_size, split: None takes
    the model's output metadata (else 0.5, 4, 16, True); split=False labels connected
    components without the watershed. scale: resize factor before prediction (None or
    "auto": from diameter, else pixel_size / the model's output pixel_size when both are
    known, else estimated from the image when the model records its training diameter (the
    built-in model does), else 1; Model.segment_scale says which); labels come back on the
    image's grid. diameter: the objects' typical diameter in pixels (the scale becomes the
    model's training diameter / diameter; an explicit scale wins). strip / overlap: rows per
    strip and of context (None: automatic).
    tile, blend, batch, threads, border, normalize, precise, tta: the prediction options, as
    for Model.predict (tta: the probabilities averaged over four flips of the image; the
    automatic scale is measured without it). progress(fraction) may return True to cancel;
    cancel: a unet.CancelToken; both raise unet.Cancelled, and Ctrl-C on the main thread
    raises KeyboardInterrupt.
    max_pixels: refuse (UnetError naming max_pixels) an image of more pixels (height x width,
    before scale) before predicting (None: no limit)."""
    labels = []

    def run(h, o, plane, shape):
        labels.append(np.zeros(plane.shape[-2:], np.uint32))
        count = ctypes.c_uint32(0)
        return lib.unet_segment(h, o, plane.ctypes.data_as(ctypes.c_void_p),
                                _DTYPES[plane.dtype], 3, shape,
                                labels[0].ctypes.data_as(ctypes.c_void_p), labels[0].size,
                                ctypes.byref(count))

    axes = _call(self, image, run, locals())
    # Labels on the image's own grid when its axes put X before Y.
    return np.ascontiguousarray(labels[0].T) if axes.index("X") < axes.index("Y") else labels[0]


def segment_scale(self: Model, image: Any, threshold: Optional[float] = None,
                  min_distance: Optional[int] = None, min_size: Optional[int] = None,
                  scale: Scale = None, pixel_size: Optional[float] = None,
                  tile: Optional[int] = None, threads: int = 0, strip: Optional[int] = None,
                  overlap: Optional[int] = None, progress: Optional[Progress] = None,
                  split: Optional[bool] = None, blend: int = 0, batch: int = 1,
                  border: Optional[str] = None, normalize: Normalize = None,
                  precise: bool = False, axes: Optional[str] = None,
                  cancel: Optional[CancelToken] = None, max_pixels: Optional[int] = None,
                  diameter: Optional[float] = None, channel: Optional[int] = None,
                  tta: bool = False) -> float:
    """The resize factor Model.segment uses for this image with these arguments: the scale
    given, or the one the diameter or pixel sizes give, or the automatic estimate (measured
    here, as segment measures it). Passing it back as scale= segments without measuring the
    image again."""
    result = ctypes.c_double(0)

    def run(h, o, plane, shape):
        return lib.unet_segment_scale(h, o, plane.ctypes.data_as(ctypes.c_void_p),
                                      _DTYPES[plane.dtype], 3, shape, ctypes.byref(result),
                                      None)

    _call(self, image, run, locals())
    return result.value


def _call(self: Model, image: Any, run: Any, args: dict) -> str:
    """Check the image, make the segment options from segment's keyword arguments, and call
    run(model handle, options handle, (C, Y, X) plane, shape) with progress and cancel;
    returns the image's axes."""
    x = np.asarray(image)
    if x.dtype.newbyteorder("=") not in _DTYPES:
        raise DtypeError(_lib.E_INVALID_ARG, "segment takes uint8, uint16, int16, uint32, "
                         "float32 or float64 images, not %s" % x.dtype)
    if x.ndim not in (2, 3):
        raise ShapeError(_lib.E_SHAPE, "segment takes a (Y, X), (C, Y, X) or (Y, X, 3|4) image, "
                         "not shape %s" % (x.shape,))
    a = args
    try:
        keys = _predict.predict_keys(a["threads"], a["tile"], a["blend"], a["batch"],
                                     a["border"], a["normalize"], a["precise"],
                                     max_pixels=a["max_pixels"], channel=a["channel"],
                                     tta=a["tta"])
    except ValueError as e:
        raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
    progress = a["progress"]
    bridge = _predict.ProgressBridge(progress) if progress is not None else None
    with self._use() as h:
        planes, axes, _, _ = _predict.prepare(x, a["axes"], self.in_channels, "segment")
        if planes.shape[0] != 1:
            raise ShapeError(_lib.E_SHAPE, "segment takes one 2-D image; shape %s reads as "
                             "%s, a stack of %d planes (segment them one by one)"
                             % (x.shape, axes, planes.shape[0]))
        plane = planes[0]
        # Segment options hold every predict key under the same name.
        with Options("segment", threshold=a["threshold"], min_distance=a["min_distance"],
                     split=a["split"], min_size=a["min_size"], scale=a["scale"],
                     diameter=a["diameter"], pixel_size=a["pixel_size"],
                     strip_rows=a["strip"], strip_overlap=a["overlap"], **keys) as so:
            if bridge:
                so.set_progress(bridge)
            o = so._handle
            shape = _lib.i64_array(plane.shape)
            status, message = _run.call(lambda: run(h, o, plane, shape),
                                        lambda: lib.unet_segment_opts_cancel(o), a["cancel"])
    _predict.raise_after_call(bridge, status, message)
    return axes


Model.segment = segment
Model.segment_scale = segment_scale
