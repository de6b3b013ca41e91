"""Model.predict's arguments: the axes of an array, the options object, progress callbacks."""

import ctypes
import re

import numpy as np

from . import _errors, _lib

NORMALIZE_MODES = ("model", "none", "zmuv", "percentile", "fixed")
PLANE_AXES = "ZT"


COLOUR_CHANNELS = (3, 4)  # a last axis of 3 or 4: RGB or RGBA


def guess_axes(shape, in_channels):
    """The axes of an array given without them. 3-D: (H, W, 3|4) is YXC colour, (C, H, W)
    with C the model's input channels is CYX, anything else a ZYX stack (one-channel models);
    a shape both colour readings fit is refused, naming them."""
    ndim = len(shape)
    if ndim == 2:
        return "YX"
    if ndim == 4:
        return "ZCYX"
    if ndim != 3:
        raise ValueError("cannot guess the axes of a %d-D array; pass axes= (letters Z, T, C, "
                         "Y, X)" % ndim)
    readings = []
    if shape[-1] in COLOUR_CHANNELS:
        readings.append("YXC (a %dx%d colour image)" % tuple(shape[:2]))
    if shape[0] == in_channels:
        readings.append("CYX (%d channel(s) of %dx%d)" % (shape[0], shape[1], shape[2]))
    if len(readings) > 1:
        raise ValueError("the axes of an array of shape %s are ambiguous: it reads as %s; pass "
                         "axes=" % (tuple(shape), " or as ".join(readings)))
    if readings:
        return readings[0][:3]
    if in_channels != 1:
        raise ValueError("an array of shape %s has no axis of the model's %d input channels "
                         "(nor a last axis of 3 or 4 colour channels); pass axes="
                         % (tuple(shape), in_channels))
    return "ZYX"


def resolve_axes(axes, shape, in_channels):
    """The axes string of an array: given, or guessed from its shape (guess_axes)."""
    ndim = len(shape)
    if axes is None:
        return guess_axes(shape, in_channels)
    axes = axes.upper()
    if len(axes) != ndim:
        raise ValueError("axes %r has %d letters, the array %d dimensions" % (axes, len(axes), ndim))
    if set(axes) - set("ZTCYX") or len(set(axes)) != len(axes):
        raise ValueError("axes %r must use each of Z, T, C, Y, X at most once" % axes)
    if "Y" not in axes or "X" not in axes:
        raise ValueError("axes %r must contain Y and X" % axes)
    return axes


def native(x):
    """A C-contiguous array in native byte order (the C side reads plain memory)."""
    return np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))


def prepare(x, axes, in_channels, what="predict"):
    """(planes, axes, plane_names, plane_shape) of an image for the C calls: planes is a
    contiguous native (P, C, Y, X) array with the image's own channels (the library applies
    the channel rule); bad shapes raise ShapeError."""
    if x.size == 0:
        raise _errors.ShapeError(_lib.E_SHAPE, "%s takes an image with pixels, not an empty "
                                 "array of shape %s" % (what, x.shape))
    try:
        axes = resolve_axes(axes, x.shape, in_channels)
    except ValueError as e:
        raise _errors.ShapeError(_lib.E_SHAPE, str(e)) from None
    planes, plane_names, plane_shape = to_planes(x, axes)
    return native(planes), axes, plane_names, plane_shape


def to_planes(x, axes):
    """(P, C, Y, X) view of x, and what is needed to put the result back."""
    planes = [a for a in axes if a in PLANE_AXES]
    order = [axes.index(a) for a in planes]
    order += [axes.index("C")] if "C" in axes else []
    order += [axes.index("Y"), axes.index("X")]
    y = np.transpose(x, order)
    plane_shape = y.shape[:len(planes)]
    if "C" not in axes:
        y = y[..., None, :, :]
    y = y.reshape((-1,) + y.shape[len(planes):])
    return y, planes, plane_shape


def from_planes(out, axes, planes, plane_shape):
    """Back from (P, C_out, Y, X): plane axes kept in order, C where it was (first if none)."""
    out = out.reshape(tuple(plane_shape) + out.shape[1:])
    kept = planes + ["C", "Y", "X"]  # the current order
    if "C" in axes:
        target = [a for a in axes]
    else:
        target = ["C"] + [a for a in axes]
    return np.transpose(out, [kept.index(a) for a in target])


def normalize_keys(value):
    """Predict option keys for a normalisation given as None (the model's), a mode name,
    "percentile:LOW,HIGH", "fixed:MEAN,STD", or a tuple (mode, a, b)."""
    if value is None:
        return {}
    if isinstance(value, (tuple, list)):
        mode, a, b = (list(value) + [None, None])[:3]
    else:
        m = re.fullmatch(r"\s*(\w+)\s*(?::\s*([^,]+)\s*,\s*([^,]+))?\s*", str(value))
        if not m:
            raise ValueError("normalize %r: expected none, zmuv, percentile:LOW,HIGH or "
                             "fixed:MEAN,STD" % (value,))
        mode, a, b = m.group(1), m.group(2), m.group(3)
    if mode not in NORMALIZE_MODES:
        raise ValueError("normalize mode %r is not one of %s" % (mode, ", ".join(NORMALIZE_MODES)))
    keys = {"normalize": "auto" if mode == "model" else mode}
    names = {"percentile": ("norm_low", "norm_high"), "fixed": ("norm_mean", "norm_std")}
    if mode in names and a is not None:
        keys[names[mode][0]] = float(a)
        keys[names[mode][1]] = float(b)
    return keys


def border_name(border):
    """The predict option value of a border given as None / "default" (the model's) or a
    mode name (network, reflect, zero; checked by the library)."""
    return "auto" if border is None or border == "default" else border


def predict_keys(threads=0, tile=None, blend=0, batch=1, border=None, normalize=None,
                 precise=False, max_pixels=None, channel=None, tta=False):
    """Predict option keys from Model.predict's keyword arguments (None: the default)."""
    keys = {"threads": threads, "tile": tile, "blend": blend, "batch": batch,
            "border": border_name(border), "precise": precise, "max_pixels": max_pixels,
            "channel": channel, "tta": tta}
    keys.update(normalize_keys(normalize))
    return keys


class ProgressBridge:
    """Wraps a Python progress callable for C: exceptions cancel the run and are re-raised
    after the call (a ctypes callback must never raise into C)."""

    def __init__(self, fn):
        self.fn = fn
        self.error = None
        self.c_fn = _lib.PROGRESS_FN(self._call)

    def _call(self, _user, fraction, stage):
        try:
            return 1 if self.fn(fraction) else 0
        except BaseException as e:  # noqa: B902 - re-raised by the caller
            self.error = e
            return 1


def raise_after_call(bridge, status, message):
    """After a call with a progress bridge: the callback's own exception first, then the
    call's status as an exception (Cancelled for a cancellation)."""
    if bridge is not None and bridge.error is not None:
        error, bridge.error = bridge.error, None
        raise error
    if status != _lib.OK:
        raise _errors.error(status, message)
