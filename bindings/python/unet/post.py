"""Post-processing through libunet: probabilities to instance labels.

Images are 2-D (Y, X) or 3-D (Z, Y, X) numpy arrays. Instance labels come back as uint32, 0
for background and objects numbered 1..N in raster order of their first pixel (the order of
scipy.ndimage.label). connectivity: 4 or 8 in 2-D, 6, 18 or 26 in 3-D, 0 for 4 / 6. threads:
0 means all available; min_distance 1 to 1000. Parameters go through libunet's post-processing
options (unet_post_opts_t). Errors raise unet.UnetError (unet.ShapeError for shapes).
"""

from __future__ import annotations

import collections
import ctypes
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from . import _lib
from ._lib import lib
from ._options import Options
from .model import DtypeError, _check, _error

__all__ = ["threshold", "label", "distance_transform", "local_maxima", "watershed_markers",
           "watershed", "labels_from_3class", "relabel", "filter_sizes", "instance_f1",
           "Match"]

Match = collections.namedtuple("Match", "f1 tp fp fn")


def _shape(a):
    return a.ndim, _lib.i64_array(a.shape)


def _mask(mask):
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        m = m != 0
    return np.ascontiguousarray(m).view(np.uint8)


def _floats(x, what):
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
            or x.dtype == np.bool_):
        raise DtypeError(_lib.E_INVALID_ARG, "%s must be numeric, not %s" % (what, x.dtype))
    return np.ascontiguousarray(x, dtype=np.float32)


def _labels(x, what):
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return np.ascontiguousarray(x, dtype=np.uint32)
    if not np.issubdtype(x.dtype, np.integer):
        raise DtypeError(_lib.E_INVALID_ARG, "%s must be integer labels, not %s"
                         % (what, x.dtype))
    if x.size and (x.min() < 0 or x.max() > 0xFFFFFFFF):
        raise _error(_lib.E_INVALID_ARG, "%s hold values outside 0..2^32-1" % what)
    return np.ascontiguousarray(x, dtype=np.uint32)


def _same_shape(a, b, what):
    if a.shape != b.shape:
        raise _error(_lib.E_SHAPE, "%s has shape %s, expected %s" % (what, b.shape, a.shape))


def _spacing(spacing, ndim):
    if spacing is None:
        return None
    sp = np.asarray(spacing, dtype=np.float64).ravel()
    if sp.size == 1:
        sp = np.repeat(sp, ndim)
    if sp.size != ndim:
        raise _error(_lib.E_INVALID_ARG, "spacing has %d values for a %d-D image"
                        % (sp.size, ndim))
    return (ctypes.c_double * ndim)(*sp)


def threshold(prob: Any, threshold: float = 0.5, threads: int = 0) -> np.ndarray:
    """prob > threshold as a bool array (threshold in [0, 1]; NaN probabilities refused)."""
    p = _floats(prob, "prob")
    out = np.empty(p.shape, np.uint8)
    ndim, shape = _shape(p)
    with Options("post", threshold=float(threshold), threads=int(threads)) as o:
        _check(lib.unet_threshold(p.ctypes.data, ndim, shape, o._handle, out.ctypes.data))
    return out.view(np.bool_)


def label(mask: Any, connectivity: int = 0, threads: int = 0) -> Tuple[np.ndarray, int]:
    """Connected components of mask's non-zero pixels: (labels, count)."""
    m = _mask(mask)
    out = np.empty(m.shape, np.uint32)
    n = ctypes.c_uint32()
    ndim, shape = _shape(m)
    with Options("post", connectivity=int(connectivity), threads=int(threads)) as o:
        _check(lib.unet_label_components(m.ctypes.data, ndim, shape, o._handle, out.ctypes.data,
                                         ctypes.byref(n)))
    return out, n.value


def distance_transform(mask: Any, spacing: Optional[Sequence[float]] = None,
                       threads: int = 0) -> np.ndarray:
    """Euclidean distance of each non-zero pixel to the nearest zero pixel (float32), like
    scipy.ndimage.distance_transform_edt(mask, sampling=spacing)."""
    m = _mask(mask)
    out = np.empty(m.shape, np.float32)
    ndim, shape = _shape(m)
    with Options("post", threads=int(threads)) as o:
        _check(lib.unet_distance_transform(m.ctypes.data, ndim, shape,
                                           _spacing(spacing, m.ndim), o._handle,
                                           out.ctypes.data))
    return out


def local_maxima(image: Any, regions: Any = None, min_distance: int = 1,
                 threads: int = 0) -> Tuple[np.ndarray, int]:
    """Peaks as skimage.feature.peak_local_max(image, min_distance, labels=regions,
    exclude_border=False) finds them: (markers numbered 1..N in raster order, N)."""
    img = _floats(image, "image")
    reg = None
    if regions is not None:
        reg = _labels(regions, "regions")
        _same_shape(img, reg, "regions")
    out = np.empty(img.shape, np.uint32)
    n = ctypes.c_uint32()
    ndim, shape = _shape(img)
    with Options("post", min_distance=int(min_distance), threads=int(threads)) as o:
        _check(lib.unet_local_maxima(img.ctypes.data, None if reg is None else reg.ctypes.data,
                                     ndim, shape, o._handle, out.ctypes.data, ctypes.byref(n)))
    return out, n.value


def watershed_markers(landscape: Any, markers: Any, mask: Any = None, connectivity: int = 0,
                      threads: int = 0) -> np.ndarray:
    """Seeded watershed, as skimage.segmentation.watershed(landscape, markers, connectivity,
    mask=mask): uint32 labels (the markers' values)."""
    land = _floats(landscape, "landscape")
    mk = _labels(markers, "markers")
    _same_shape(land, mk, "markers")
    m = None
    if mask is not None:
        m = _mask(mask)
        _same_shape(land, m, "mask")
    out = np.empty(land.shape, np.uint32)
    ndim, shape = _shape(land)
    with Options("post", connectivity=int(connectivity), threads=int(threads)) as o:
        _check(lib.unet_watershed_markers(land.ctypes.data, mk.ctypes.data,
                                          None if m is None else m.ctypes.data, ndim, shape,
                                          o._handle, out.ctypes.data))
    return out


def watershed(mask: Any, min_distance: int = 5, spacing: Optional[Sequence[float]] = None,
              connectivity: int = 0, threads: int = 0) -> Tuple[np.ndarray, int]:
    """Touching objects of a mask split by a distance-transform watershed: (labels, count)."""
    m = _mask(mask)
    out = np.empty(m.shape, np.uint32)
    n = ctypes.c_uint32()
    ndim, shape = _shape(m)
    with Options("post", min_distance=int(min_distance), connectivity=int(connectivity),
                 threads=int(threads)) as o:
        _check(lib.unet_watershed(m.ctypes.data, ndim, shape, _spacing(spacing, m.ndim),
                                  o._handle, out.ctypes.data, ctypes.byref(n)))
    return out, n.value


def labels_from_3class(probs: Any, connectivity: int = 0,
                       threads: int = 0) -> Tuple[np.ndarray, int]:
    """Instances from (3, [Z,] Y, X) background / interior / boundary probabilities:
    (labels, count)."""
    p = _floats(probs, "probs")
    if p.ndim < 1 or p.shape[0] != 3:
        raise _error(_lib.E_SHAPE, "probs has shape %s; expected (3, [Z,] Y, X)"
                        % (p.shape,))
    out = np.empty(p.shape[1:], np.uint32)
    n = ctypes.c_uint32()
    ndim, shape = _shape(out)
    with Options("post", connectivity=int(connectivity), threads=int(threads)) as o:
        _check(lib.unet_labels_from_3class(p.ctypes.data, ndim, shape, o._handle,
                                           out.ctypes.data, ctypes.byref(n)))
    return out, n.value


def relabel(labels: Any) -> Tuple[np.ndarray, int]:
    """A copy renumbered 1..N in raster order of first pixel: (labels, N)."""
    out = _labels(labels, "labels").copy()
    n = ctypes.c_uint32()
    ndim, shape = _shape(out)
    _check(lib.unet_relabel(out.ctypes.data, ndim, shape, ctypes.byref(n)))
    return out, n.value


def filter_sizes(labels: Any, min_size: int = 0, max_size: int = 0) -> Tuple[np.ndarray, int]:
    """A copy without objects of fewer than min_size or more than max_size pixels (0: no
    limit), renumbered: (labels, N)."""
    out = _labels(labels, "labels").copy()
    n = ctypes.c_uint32()
    ndim, shape = _shape(out)
    with Options("post", min_size=int(min_size), max_size=int(max_size)) as o:
        _check(lib.unet_filter_sizes(out.ctypes.data, ndim, shape, o._handle, ctypes.byref(n)))
    return out, n.value


def instance_f1(pred: Any, truth: Any, iou_threshold: float = 0.5) -> Match:
    """Instance matching at IoU >= iou_threshold: Match(f1, tp, fp, fn)."""
    p = _labels(pred, "pred")
    t = _labels(truth, "truth")
    _same_shape(p, t, "truth")
    f1 = ctypes.c_double()
    tp, fp, fn = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    ndim, shape = _shape(p)
    _check(lib.unet_instance_f1(p.ctypes.data, t.ctypes.data, ndim, shape, float(iou_threshold),
                                ctypes.byref(f1), ctypes.byref(tp), ctypes.byref(fp),
                                ctypes.byref(fn)))
    return Match(f1.value, tp.value, fp.value, fn.value)
