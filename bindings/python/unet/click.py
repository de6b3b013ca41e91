"""Click-to-segment: unet.click.ClickSession(model, image).click(x, y) -> (mask, bbox, polygon).

A session predicts only windows around clicks and caches them, so later clicks nearby run no
network; objects are cut out as Model.segment cuts them (the model's output metadata)."""

from __future__ import annotations

import collections
import ctypes
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _lib, _predict
from ._lib import lib
from ._handle import OwnedHandle
from ._options import Options
from .model import DtypeError, Model, Normalize, UnetError, _check

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


class ClickResult(collections.namedtuple("ClickResult", "mask bbox polygon")):
    """mask: uint8 (height, width), 1 on the object; bbox: (x, y, width, height); polygon:
    int64 (n, 2) outline vertices (x, y) at pixel corners, clockwise on screen, the last joining
    the first. Also: .holes (list of such arrays), .area, .complete (False when max_extent cut
    the object). A click on background gives area 0, an empty mask and polygon."""

    @property
    def empty(self) -> bool:
        """True for a click on background (area 0)."""
        return self.area == 0


class ClickSession(OwnedHandle):
    """Click-to-segment on one image. image: as Model.predict takes it (axes None guesses YX,
    CYX or ZYX, ZCYX); the array is referenced, not copied, when it is already contiguous in
    native byte order: do not change it while the session lives. threads, border, normalize,
    precise, tta: as for Model.predict. threshold, min_distance, min_size, split: None takes the
    model's output metadata (else 0.5, 4, 16, True; split=False takes the connected component
    under the click without the watershed); max_extent (largest window side searched for one
    object, default 1024) and first_window (side of the window predicted around a click on
    uncached pixels, default 192) in pixels of the resized image. scale, diameter: as for
    Model.segment (None: automatic, measured once, at the first click, as Model.segment
    measures the image), so clicked objects are the objects Model.segment gives with the same
    arguments. set_options() changes them later, but for channel: the channel a one-channel
    model reads (as for Model.predict), fixed for the session; set_scale() the scale alone;
    .scale is the scale in force. A session is used from one thread at a time, but cancel()
    and reset_cancel() may be called from any thread."""

    _free_name = "unet_click_session_free"
    _what = "click session"

    def __init__(self, model: Model, image: Any, axes: Optional[str] = None, threads: int = 0,
                 border: Optional[str] = None, normalize: Normalize = None,
                 precise: bool = False, threshold: Optional[float] = None,
                 min_distance: Optional[int] = None, min_size: Optional[int] = None,
                 max_extent: Optional[int] = None, first_window: Optional[int] = None,
                 split: Optional[bool] = None, scale: Union[float, str, None] = None,
                 diameter: Optional[float] = None, channel: Optional[int] = None,
                 tta: bool = False) -> None:
        """Create the session (see the class documentation for the arguments)."""
        super().__init__()
        x = np.asarray(image)
        if x.dtype.newbyteorder("=") not in _DTYPES:
            raise DtypeError(_lib.E_INVALID_ARG, "click sessions take uint8, uint16, int16, "
                             "uint32, float32 or float64 images, not %s" % x.dtype)
        self._options = dict(threads=threads, border=border, normalize=normalize,
                             precise=precise, threshold=threshold, min_distance=min_distance,
                             min_size=min_size, max_extent=max_extent,
                             first_window=first_window, split=split, scale=scale,
                             diameter=diameter, channel=channel, tta=tta)
        self._model = None
        # The session uses the model until it is closed: the model refuses close() meanwhile.
        model_handle = model._acquire()
        self._model = model
        try:
            # kept alive for the C session
            self._image, _, _, self.plane_shape = _predict.prepare(x, axes, model.in_channels,
                                                                   "a click session")
            h = ctypes.c_void_p()
            with self._click_opts(self._options) as opts:
                _check(lib.unet_click_session_create(
                    model_handle, opts._handle, self._image.ctypes.data_as(ctypes.c_void_p),
                    _DTYPES[self._image.dtype], 4, _lib.i64_array(self._image.shape),
                    ctypes.byref(h)))
        except BaseException:
            self._free_handle(None)
            raise
        self._h = h.value

    def _free_handle(self, handle: Any) -> None:
        """Free the session, then let go of the model."""
        if handle:
            self._free(handle)
        model, self._model = self._model, None
        if model is not None:
            model._release()

    @staticmethod
    def _click_opts(o):
        try:
            keys = _predict.predict_keys(o["threads"], None, 0, 1, o["border"], o["normalize"],
                                         o["precise"], channel=o["channel"], tta=o["tta"])
        except ValueError as e:
            raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
        for k in ("tile", "blend", "batch"):  # the session's business
            del keys[k]
        keys.update((k, o[k]) for k in ("threshold", "min_distance", "split", "min_size",
                                         "max_extent", "first_window", "scale", "diameter"))
        return Options("click", **keys)

    def set_options(self, **options: Any) -> None:
        """Change options (the keyword arguments of the constructor but axes) for later
        clicks: post-processing ones keep the cache of predictions, prediction ones (border,
        normalize, precise, tta) drop it."""
        unknown = set(options) - set(self._options)
        if unknown:
            raise TypeError("unknown click session options: %s" % ", ".join(sorted(unknown)))
        merged = dict(self._options, **options)
        with self._click_opts(merged) as opts:
            self._checked(lib.unet_click_session_set_opts, opts._handle)
        self._options = merged

    def set_scale(self, scale: Union[float, str, None]) -> None:
        """The scale of later clicks: a factor in [0.05, 20], or None / "auto" (automatic:
        from diameter, else measured at the next click). A different scale drops the cache."""
        value = 0.0 if scale is None or scale == "auto" else float(scale)
        self._checked(lib.unet_click_session_set_scale, value)
        self._options = dict(self._options, scale=None if value == 0 else value)

    @property
    def scale(self) -> float:
        """The scale clicks use (an automatic one not measured yet is measured now, on the
        first plane)."""
        value = ctypes.c_double(0)
        self._checked(lib.unet_click_session_scale, ctypes.byref(value))
        return value.value

    def _plane_index(self, plane):
        """A flat plane index from an int or a tuple over the image's plane axes."""
        if isinstance(plane, tuple):
            if len(plane) != len(self.plane_shape):
                raise UnetError(_lib.E_INVALID_ARG, "plane %r: the image has plane axes of "
                                "shape %s" % (plane, self.plane_shape))
            return int(np.ravel_multi_index(plane, self.plane_shape)) if plane else 0
        return int(plane)

    def click(self, x: int, y: int, plane: Union[int, Tuple[int, ...]] = 0) -> ClickResult:
        """The object under pixel (x, y) of a plane (an int, or a tuple over Z/T axes)."""
        res = ctypes.c_void_p()
        self._checked(lib.unet_click, int(x), int(y), self._plane_index(plane),
                      ctypes.byref(res))
        try:
            return _result(res.value)
        finally:
            lib.unet_click_result_free(res.value)

    def cancel(self) -> None:
        """Stop a click running in another thread (it raises unet.Cancelled); later clicks
        raise it too, until reset_cancel(). What finished before stays cached; thread-safe."""
        self._checked(lib.unet_click_session_cancel)

    def reset_cancel(self) -> None:
        """Let the session click again after cancel() (thread-safe)."""
        self._checked(lib.unet_click_session_reset_cancel)

    def stats(self) -> Dict[str, int]:
        """Work so far: network runs, input pixels they processed, image pixels cached."""
        v = [ctypes.c_int64() for _ in range(3)]
        self._checked(lib.unet_click_session_stats, *(ctypes.byref(i) for i in v))
        return {"network_runs": v[0].value, "network_pixels": v[1].value,
                "cached_pixels": v[2].value}


def _get(getter, res, ctype):
    value = ctype()
    _check(getter(res, ctypes.byref(value)))
    return value.value if hasattr(value, "value") else value


def _ring(res, k):
    n, ptr = ctypes.c_int64(), ctypes.POINTER(ctypes.c_int64)()
    _check(lib.unet_click_result_ring(res, k, ctypes.byref(ptr), ctypes.byref(n)))
    return np.ctypeslib.as_array(ptr, shape=(n.value, 2)).copy()


def _result(res):
    bbox = (ctypes.c_int64 * 4)()
    _check(lib.unet_click_result_bbox(res, bbox))
    area = _get(lib.unet_click_result_area, res, ctypes.c_int64)
    complete = bool(_get(lib.unet_click_result_complete, res, ctypes.c_int))
    x0, y0, w, h = (int(v) for v in bbox)
    if area == 0:
        mask = np.zeros((0, 0), np.uint8)
        rings = []
    else:
        ptr = _get(lib.unet_click_result_mask, res, ctypes.POINTER(ctypes.c_uint8))
        mask = np.ctypeslib.as_array(ptr, shape=(h, w)).copy()
        count = _get(lib.unet_click_result_ring_count, res, ctypes.c_int64)
        rings = [_ring(res, k) for k in range(count)]
    polygon = rings[0] if rings else np.zeros((0, 2), np.int64)
    out = ClickResult(mask, (x0, y0, w, h), polygon)
    out.holes = rings[1:]
    out.area = int(area)
    out.complete = complete
    return out


def click_session(self: Model, image: Any, **kwargs: Any) -> ClickSession:
    """A ClickSession on `image` with this model (see unet.click.ClickSession)."""
    return ClickSession(self, image, **kwargs)


Model.click_session = click_session
