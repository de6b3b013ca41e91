"""Whole-image results from pieces, for hosts that cut images themselves (unet.dask): the
statistics unet_predict normalises a whole plane with, as "fixed" parameters every piece can
use (unet_predict_stats), and instances from a prediction made elsewhere
(unet_segment_probabilities, also Model.segment_probabilities)."""

import ctypes
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _lib, _predict
from ._errors import DtypeError, ShapeError, error
from ._lib import lib
from ._options import Options
from .model import Model

READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                           ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                           ctypes.POINTER(ctypes.c_float))


class _Reader:
    """A Python read(plane, y, x, h, w) -> (C, h, w) array as a unet_read_fn. An exception it
    raises stops the C call (non-zero return) and is re-raised after it."""

    def __init__(self, read, channels):
        self.read, self.channels, self.error = read, channels, None
        self.c_fn = READ_FN(self._call)

    def _call(self, _user, plane, y, x, h, w, dst):
        try:
            region = np.asarray(self.read(plane, y, x, h, w), dtype=np.float32)
            if region.shape != (self.channels, h, w):
                raise ValueError("read(%d, %d, %d, %d, %d) gave shape %s, not %s"
                                 % (plane, y, x, h, w, region.shape, (self.channels, h, w)))
            ctypes.memmove(dst, np.ascontiguousarray(region).ctypes.data, region.nbytes)
            return 0
        except BaseException as e:  # noqa: B902 - re-raised after the C call
            self.error = e
            return 1


def predict_stats(model, read, shape, normalize=None, progress=None):
    """Per plane and channel, (mean, std) for which normalize=("fixed", mean, std) normalises a
    piece exactly as Model.predict normalises the whole plane with `normalize` (None: the
    model's preprocessing). shape: (planes, channels, height, width) of the image, read through
    read(plane, y, x, h, w) -> float array (channels, h, w). Returns two float64 arrays shaped
    (planes, channels)."""
    planes, channels, height, width = (int(s) for s in shape)
    try:
        keys = _predict.normalize_keys(normalize)
    except ValueError as e:
        raise error(_lib.E_INVALID_ARG, str(e)) from None
    mean = np.zeros((planes, channels), np.float64)
    std = np.zeros((planes, channels), np.float64)
    reader = _Reader(read, channels)
    bridge = _predict.ProgressBridge(progress) if progress is not None else None
    with Options("predict", **keys) as opts:
        if bridge:
            opts.set_progress(bridge)
        status = lib.unet_predict_stats(
            model._handle, opts._handle, planes, channels, height, width,
            ctypes.cast(reader.c_fn, ctypes.c_void_p), None,
            mean.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            std.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), mean.size)
        message = _lib.last_error()
    if reader.error is not None:
        raise reader.error
    _predict.raise_after_call(bridge, status, message)
    return mean, std


def segment_probabilities(self: Model, probs: Any, threshold: Optional[float] = None,
                          min_distance: Optional[int] = None, min_size: Optional[int] = None,
                          split: Optional[bool] = None, strip: Optional[int] = None,
                          overlap: Optional[int] = None, threads: int = 0,
                          foreground: bool = False
                          ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Instance labels (uint32) from probabilities Model.predict made for a 2-D image, float32
    (C_out, Y, X) (or (Y, X) for one output channel): what Model.segment gives for that image,
    with the same keyword arguments (scale is not one: the probabilities are on the image's
    grid). With foreground=True, returns (labels, foreground): foreground is a bool array of
    the pixels objects are cut from (those of objects removed by min_size included)."""
    p = np.asarray(probs)
    if p.dtype != np.float32:
        raise DtypeError(_lib.E_INVALID_ARG, "segment_probabilities takes float32 "
                         "probabilities, not %s" % p.dtype)
    if p.ndim not in (2, 3):
        raise ShapeError(_lib.E_SHAPE, "segment_probabilities takes (C, Y, X) or (Y, X) "
                         "probabilities, not shape %s" % (p.shape,))
    p = np.ascontiguousarray(p, dtype=np.dtype(np.float32).newbyteorder("="))
    labels = np.zeros(p.shape[-2:], np.uint32)
    fg = np.zeros(p.shape[-2:], np.uint8) if foreground else None
    count = ctypes.c_uint32(0)
    with Options("segment", threads=threads, threshold=threshold, min_distance=min_distance,
                 split=split, min_size=min_size, strip_rows=strip,
                 strip_overlap=overlap) as so:
        status = lib.unet_segment_probabilities(
            self._handle, so._handle, p.ctypes.data_as(ctypes.c_void_p), p.ndim,
            _lib.i64_array(p.shape), labels.ctypes.data_as(ctypes.c_void_p), labels.size,
            None if fg is None else fg.ctypes.data_as(ctypes.c_void_p), ctypes.byref(count))
        message = _lib.last_error()
    if status != _lib.OK:
        raise error(status, message)
    return (labels, fg.view(bool)) if foreground else labels


Model.segment_probabilities = segment_probabilities
