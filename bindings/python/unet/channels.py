"""The channel rule of every libunet entry point, for images a host prepares itself (training
data, previews): the library's unet_channel_rule, so Python, napari, Fiji and the `unet` program
read colour the same way. Model.predict, Model.segment and click sessions apply it on their own.

An image of C channels given to a model with M input channels: channel=k takes channel k alone
(one-channel models); C == M: as they are; M == 1 and C of 3 or 4 (RGB, RGBA): per pixel R when
R, G and B are equal, else the luminance 0.299 R + 0.587 G + 0.114 B (alpha ignored); M == 3
and C == 4: R, G, B; anything else raises ShapeError asking for a channel."""

from __future__ import annotations

import ctypes
from typing import Any, Optional

import numpy as np

from . import _lib
from ._errors import DtypeError, ShapeError, check
from ._lib import lib

_DTYPES = {np.dtype(np.uint8): _lib.U8, np.dtype(np.uint16): _lib.U16,
           np.dtype(np.int16): _lib.I16, np.dtype(np.uint32): _lib.U32,
           np.dtype(np.float32): _lib.F32, np.dtype(np.float64): _lib.F64}


def channel_rule(image: Any, model_channels: int, channel: Optional[int] = None) -> np.ndarray:
    """What a model with `model_channels` input channels reads of `image`, channel-first:
    (C, Y, X) gives float32 (model_channels, Y, X), (P, C, Y, X) gives (P, model_channels, Y,
    X), and a (Y, X) image is one channel. channel: the channel to take (0-based), or None for
    the rule. Colour stored last (Y, X, 3) is np.moveaxis(image, -1, 0) first."""
    x = np.asarray(image)
    if x.dtype.newbyteorder("=") not in _DTYPES:
        raise DtypeError(_lib.E_INVALID_ARG, "channel_rule takes uint8, uint16, int16, uint32, "
                         "float32 or float64 images, not %s" % x.dtype)
    if x.ndim not in (2, 3, 4):
        raise ShapeError(_lib.E_SHAPE, "channel_rule takes (Y, X), (C, Y, X) or (P, C, Y, X), "
                         "not shape %s" % (x.shape,))
    x = np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))
    lead = (x.shape[0],) if x.ndim == 4 else ()
    out = np.empty(lead + (int(model_channels),) + x.shape[-2:], np.float32)
    check(lib.unet_channel_rule(int(model_channels), -1 if channel is None else int(channel),
                                x.ctypes.data_as(ctypes.c_void_p), _DTYPES[x.dtype], x.ndim,
                                _lib.i64_array(x.shape),
                                out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size))
    return out


__all__ = ["channel_rule"]
