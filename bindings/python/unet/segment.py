"""Model.segment: an image to uint32 instance labels through unet_segment (prediction, then the
post-processing the model's output metadata names, in strips of bounded memory)."""

from __future__ import annotations

import ctypes
from typing import Any, Optional

import numpy as np

from . import _lib, _predict, _run
from ._run import CancelToken
from ._lib import lib
from ._options import Options
from .model import DtypeError, Model, Normalize, Progress, ShapeError, UnetError

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


def segment(self: Model, image: Any, threshold: Optional[float] = None,
            min_distance: Optional[int] = None, min_size: Optional[int] = None,
            scale: Optional[float] = None, pixel_size: Optional[float] = None,
            tile: Optional[int] = None, threads: int = 0, strip: Optional[int] = None,
            overlap: Optional[int] = None, progress: Optional[Progress] = None,
            split: Optional[bool] = None, blend: int = 0, batch: int = 1,
            border: Optional[str] = None, normalize: Normalize = None, precise: bool = False,
            axes: Optional[str] = None, cancel: Optional[CancelToken] = None,
            max_pixels: Optional[int] = None) -> np.ndarray:
    """Instance labels (uint32 (Y, X), 0 background, 1..N in raster order) of one 2-D image:
    (Y, X), (C, Y, X), or (Y, X, 3|4) colour read by the channel rule (axes: as for
    Model.predict, without plane axes). threshold, min_distance, min_size, split: None takes
    the model's output metadata (else 0.5, 4, 16, True); split=False labels connected
    components without the watershed. scale: resize factor before prediction (None:
    pixel_size / the model's output pixel_size when both are known, else 1); labels come back
    on the image's grid. strip / overlap: rows per strip and of context (None: automatic).
    tile, blend, batch, threads, border, normalize, precise: the prediction options, as for
    Model.predict. progress(fraction) may return True to cancel; cancel: a unet.CancelToken;
    both raise unet.Cancelled, and Ctrl-C on the main thread raises KeyboardInterrupt.
    max_pixels: refuse (UnetError naming max_pixels) an image of more pixels (height x width,
    before scale) before predicting (None: no limit)."""
    x = np.asarray(image)
    if x.dtype.newbyteorder("=") not in _DTYPES:
        raise DtypeError(_lib.E_INVALID_ARG, "segment takes uint8, uint16, int16, uint32, "
                         "float32 or float64 images, not %s" % x.dtype)
    if x.ndim not in (2, 3):
        raise ShapeError(_lib.E_SHAPE, "segment takes a (Y, X), (C, Y, X) or (Y, X, 3|4) image, "
                         "not shape %s" % (x.shape,))
    try:
        keys = _predict.predict_keys(threads, tile, blend, batch, border, normalize, precise,
                                     max_pixels)
    except ValueError as e:
        raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
    bridge = _predict.ProgressBridge(progress) if progress is not None else None
    with self._use() as h:
        planes, axes, _, _ = _predict.prepare(x, axes, self.in_channels, "segment")
        if planes.shape[0] != 1:
            raise ShapeError(_lib.E_SHAPE, "segment takes one 2-D image; shape %s reads as "
                             "%s, a stack of %d planes (segment them one by one)"
                             % (x.shape, axes, planes.shape[0]))
        plane = planes[0]
        labels = np.zeros(plane.shape[-2:], np.uint32)
        count = ctypes.c_uint32(0)
        # Segment options hold every predict key under the same name.
        with Options("segment", threshold=threshold, min_distance=min_distance, split=split,
                     min_size=min_size, scale=scale, pixel_size=pixel_size, strip_rows=strip,
                     strip_overlap=overlap, **keys) as so:
            if bridge:
                so.set_progress(bridge)
            o = so._handle
            status, message = _run.call(
                lambda: lib.unet_segment(h, o, plane.ctypes.data_as(ctypes.c_void_p),
                                         _DTYPES[plane.dtype], 3, _lib.i64_array(plane.shape),
                                         labels.ctypes.data_as(ctypes.c_void_p), labels.size,
                                         ctypes.byref(count)),
                lambda: lib.unet_segment_opts_cancel(o), cancel)
    _predict.raise_after_call(bridge, status, message)
    # Labels on the image's own grid when its axes put X before Y.
    return np.ascontiguousarray(labels.T) if axes.index("X") < axes.index("Y") else labels


Model.segment = segment
