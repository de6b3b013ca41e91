"""Click-to-segment: unet.click.ClickSession(model, image).click(x, y) -> (mask, bbox, polygon).

A session predicts only windows around clicks and caches them, so later clicks nearby run no
network; objects are cut out as Model.segment cuts them (the model's output metadata)."""

import collections
import ctypes

import numpy as np

from . import _lib, _predict
from ._lib import lib
from .model import DtypeError, Model, ShapeError, UnetError, _check, _check_value, _native

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


class ClickResult(collections.namedtuple("ClickResult", "mask bbox polygon")):
    """mask: uint8 (height, width), 1 on the object; bbox: (x, y, width, height); polygon:
    int64 (n, 2) outline vertices (x, y) at pixel corners, clockwise on screen, the last joining
    the first. Also: .holes (list of such arrays), .area, .complete (False when max_extent cut
    the object). A click on background gives area 0, an empty mask and polygon."""

    @property
    def empty(self):
        return self.area == 0


class ClickSession:
    """Click-to-segment on one image. image: as Model.predict takes it (axes None guesses YX,
    CYX or ZYX, ZCYX); the array is referenced, not copied, when it is already contiguous in
    native byte order: do not change it while the session lives. threads, border, normalize,
    precise: as for Model.predict. threshold, min_distance (0: plain connected components),
    min_size: None takes the model's output metadata (else 0.5, 4, 16); max_extent (largest
    window side searched for one object, default 1024) and first_window (side of the window
    predicted around a click on uncached pixels, default 192) in pixels.
    A session is used from one thread at a time."""

    def __init__(self, model, image, axes=None, threads=0, border=None, normalize=None,
                 precise=False, threshold=None, min_distance=None, min_size=None,
                 max_extent=None, first_window=None):
        x = np.asarray(image)
        if x.dtype.newbyteorder("=") not in _DTYPES:
            raise DtypeError(_lib.E_INVALID_ARG, "click sessions take uint8, uint16, int16, "
                             "uint32, float32 or float64 images, not %s" % x.dtype)
        try:
            axes = _predict.resolve_axes(axes, x.shape, model.in_channels)
        except ValueError as e:
            raise ShapeError(_lib.E_SHAPE, str(e)) from None
        border = "default" if border is None else border
        if border not in _predict.BORDERS:
            raise UnetError(_lib.E_INVALID_ARG, "border %r is not one of network, reflect, zero"
                            % (border,))
        try:
            norm = _predict.parse_normalize(normalize)
        except ValueError as e:
            raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
        planes, _, self.plane_shape = _predict.to_planes(x, axes)
        self._image = np.ascontiguousarray(_native(planes))  # kept alive for the C session
        self._model = model
        self._h = None
        opts = ctypes.c_void_p()
        h = ctypes.c_void_p()
        try:
            _check(lib.unet_predict_opts_create(ctypes.byref(opts)))
            _check(lib.unet_predict_opts_set_threads(opts, int(threads)))
            _check(lib.unet_predict_opts_set_border(opts, _predict.BORDERS[border]))
            _check(lib.unet_predict_opts_set_normalize(opts, *norm))
            _check(lib.unet_predict_opts_set_precise(opts, 1 if precise else 0))
            _check(lib.unet_click_session_create(
                model._handle, opts, self._image.ctypes.data_as(ctypes.c_void_p),
                _DTYPES[self._image.dtype], 4, _lib.i64_array(self._image.shape),
                ctypes.byref(h)))
        finally:
            lib.unet_predict_opts_free(opts)
        self._h = h.value
        if threshold is not None:
            _check(lib.unet_click_session_set_threshold(self._h, float(threshold)))
        if min_distance is not None:
            _check(lib.unet_click_session_set_watershed(self._h, int(min_distance)))
        if min_size is not None:
            _check(lib.unet_click_session_set_min_size(self._h, int(min_size)))
        if max_extent is not None:
            _check(lib.unet_click_session_set_max_extent(self._h, int(max_extent)))
        if first_window is not None:
            _check(lib.unet_click_session_set_first_window(self._h, int(first_window)))

    @property
    def _handle(self):
        if not self._h:
            raise UnetError(_lib.E_INVALID_ARG, "the click session is closed")
        return self._h

    def close(self):
        if self._h:
            lib.unet_click_session_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()

    def _plane_index(self, plane):
        """A flat plane index from an int or a tuple over the image's plane axes."""
        if isinstance(plane, tuple):
            if len(plane) != len(self.plane_shape):
                raise UnetError(_lib.E_INVALID_ARG, "plane %r: the image has plane axes of "
                                "shape %s" % (plane, self.plane_shape))
            return int(np.ravel_multi_index(plane, self.plane_shape)) if plane else 0
        return int(plane)

    def click(self, x, y, plane=0):
        """The object under pixel (x, y) of a plane (an int, or a tuple over Z/T axes)."""
        res = ctypes.c_void_p()
        _check(lib.unet_click(self._handle, int(x), int(y), self._plane_index(plane),
                              ctypes.byref(res)))
        try:
            return _result(res.value)
        finally:
            lib.unet_click_result_free(res.value)

    def stats(self):
        """Work so far: network runs, input pixels they processed, image pixels cached."""
        v = [ctypes.c_int64() for _ in range(3)]
        _check(lib.unet_click_session_stats(self._handle, *(ctypes.byref(i) for i in v)))
        return {"network_runs": v[0].value, "network_pixels": v[1].value,
                "cached_pixels": v[2].value}


def _ring(res, k):
    n = ctypes.c_int64()
    ptr = lib.unet_click_result_ring(res, k, ctypes.byref(n))
    if not ptr:
        raise UnetError(_lib.E_INTERNAL, _lib.last_error())
    return np.ctypeslib.as_array(ptr, shape=(n.value, 2)).copy()


def _result(res):
    bbox = (ctypes.c_int64 * 4)()
    _check(lib.unet_click_result_bbox(res, bbox))
    area = _check_value(lib.unet_click_result_area(res))
    complete = bool(_check_value(lib.unet_click_result_complete(res)))
    x0, y0, w, h = (int(v) for v in bbox)
    if area == 0:
        mask = np.zeros((0, 0), np.uint8)
        rings = []
    else:
        mask = np.ctypeslib.as_array(lib.unet_click_result_mask(res), shape=(h, w)).copy()
        rings = [_ring(res, k) for k in range(_check_value(lib.unet_click_result_ring_count(res)))]
    polygon = rings[0] if rings else np.zeros((0, 2), np.int64)
    out = ClickResult(mask, (x0, y0, w, h), polygon)
    out.holes = rings[1:]
    out.area = int(area)
    out.complete = complete
    return out


def click_session(self, image, **kwargs):
    """A ClickSession on `image` with this model (see unet.click.ClickSession)."""
    return ClickSession(self, image, **kwargs)


Model.click_session = click_session
