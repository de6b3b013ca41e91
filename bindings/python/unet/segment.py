"""Model.segment: an image to uint32 instance labels through unet_segment (prediction, then the
post-processing the model's output metadata names, in strips of bounded memory)."""

import ctypes

import numpy as np

from . import _lib, _predict
from ._lib import lib
from .model import Cancelled, DtypeError, Model, ShapeError, _check, _error, _native

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


def segment(self, image, threshold=None, min_distance=None, min_size=None, scale=None,
            pixel_size=None, tile=None, threads=0, strip=None, overlap=None, progress=None):
    """Instance labels (uint32, 0 background, 1..N in raster order) of a 2-D image (Y, X) or
    (C, Y, X). threshold, min_distance, min_size: None takes the model's output metadata (else
    0.5, 4, 16). scale: resize factor before prediction (None: pixel_size / the model's
    output pixel_size when both are known, else 1); labels come back on the image's grid.
    strip / overlap: rows per strip and of context (None: automatic). progress(fraction) may
    return True to cancel (raises unet.Cancelled)."""
    x = np.asarray(image)
    if x.dtype.newbyteorder("=") not in _DTYPES:
        raise DtypeError(_lib.E_INVALID_ARG, "segment takes uint8, uint16, int16, uint32, "
                         "float32 or float64 images, not %s" % x.dtype)
    if x.ndim not in (2, 3):
        raise ShapeError(_lib.E_SHAPE, "segment takes a (Y, X) or (C, Y, X) image, not shape %s"
                         % (x.shape,))
    x = np.ascontiguousarray(_native(x))
    labels = np.zeros(x.shape[-2:], np.uint32)
    count = ctypes.c_uint32(0)
    bridge = _predict.ProgressBridge(progress) if progress is not None else None
    so, po = ctypes.c_void_p(), ctypes.c_void_p()
    try:
        _check(lib.unet_segment_opts_create(ctypes.byref(so)))
        _check(lib.unet_predict_opts_create(ctypes.byref(po)))
        _check(lib.unet_predict_opts_set_threads(po, int(threads)))
        _check(lib.unet_predict_opts_set_tile(po, 0 if tile is None else int(tile)))
        if bridge:
            _check(lib.unet_predict_opts_set_progress(po, bridge.c_fn, None))
        _check(lib.unet_segment_opts_set_predict_opts(so, po))
        if threshold is not None:
            _check(lib.unet_segment_opts_set_threshold(so, float(threshold)))
        if min_distance is not None:
            _check(lib.unet_segment_opts_set_min_distance(so, int(min_distance)))
        if min_size is not None:
            _check(lib.unet_segment_opts_set_min_size(so, int(min_size)))
        if scale is not None:
            _check(lib.unet_segment_opts_set_scale(so, float(scale)))
        if pixel_size is not None:
            _check(lib.unet_segment_opts_set_pixel_size(so, float(pixel_size)))
        if strip is not None or overlap is not None:
            _check(lib.unet_segment_opts_set_strip(so, int(strip or 0), int(overlap or 0)))
        status = lib.unet_segment(self._handle, so, x.ctypes.data_as(ctypes.c_void_p),
                                  _DTYPES[x.dtype], x.ndim, _lib.i64_array(x.shape),
                                  labels.ctypes.data_as(ctypes.c_void_p), labels.size,
                                  ctypes.byref(count))
        message = _lib.last_error()
    finally:
        lib.unet_segment_opts_free(so)
        lib.unet_predict_opts_free(po)
    if bridge and bridge.error is not None:
        raise bridge.error
    if status == _lib.E_CANCELLED:
        raise Cancelled(status, message)
    if status != _lib.OK:
        raise _error(status, message)
    return labels


Model.segment = segment
