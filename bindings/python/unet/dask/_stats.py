"""Normalisation statistics of a whole array, computed once, so every block normalises exactly
as Model.predict normalises the whole plane.

The library computes them (unet_predict_stats, the same code the in-memory path runs), reading
the array through a callback in bounded memory. For percentile normalisation of 8- and 16-bit
integer images the array is read once, in parallel, as per-chunk histograms summed up; the
library then reads each plane's values in sorted order rebuilt from the histogram (order
statistics do not depend on the order of the values, so the percentiles are the same). Other
images and modes are read band by band (the chunk rows a strip falls in) from the array itself.
"""

import math

import numpy as np

from .. import _pieces
from . import _layout

# dtype -> (offset added before counting, number of bins) for exact histograms.
_HISTOGRAM_TYPES = {"uint8": (0, 256), "uint16": (0, 65536), "int16": (32768, 65536)}


class Statistics:
    """Per plane and channel: normalize=("fixed", mean, std) reproduces the whole plane's
    normalisation. mean and std are float64 arrays shaped (plane axes..., C), in the order the
    plane axes (Z, T) have in `axes`."""

    def __init__(self, mean, std, axes):
        self.mean, self.std, self.axes = mean, std, axes

    def __repr__(self):
        return "Statistics(axes=%r, mean=%r, std=%r)" % (self.axes, self.mean, self.std)


def mode(model, normalize):
    """The normalisation mode in force (only to choose how to read; the library decides)."""
    if normalize is None or normalize == "model":
        pre = model.metadata.get("preprocessing") or {}
        return str(pre.get("normalize", "none"))
    if isinstance(normalize, (tuple, list)):
        return str(normalize[0])
    return str(normalize).split(":")[0].strip()


def canonical(x, axes):
    """x viewed as (plane axes..., C, Y, X), and the plane axes' letters."""
    planes = [a for a in axes if a in "ZT"]
    order = [axes.index(a) for a in planes] + [axes.index(a) for a in "CYX"]
    return x.transpose(order), "".join(planes)


def _count_block(block, offset, bins):
    lead = block.shape[:-2]
    flat = block.reshape(-1, block.shape[-2] * block.shape[-1])
    out = np.empty((flat.shape[0], bins), np.int64)
    for i, row in enumerate(flat):
        out[i] = np.bincount(row.astype(np.int64) + offset, minlength=bins)
    return out.reshape(lead + (1, 1, bins))


def histograms(v, offset, bins):
    """Counts of every value per plane and channel of v (plane axes..., C, Y, X): one parallel
    pass. Returns int64 (plane axes..., C, bins)."""
    chunks = v.chunks[:-2] + ((1,) * len(v.chunks[-2]), (1,) * len(v.chunks[-1]), (bins,))
    counts = v.map_blocks(_count_block, offset, bins, dtype=np.int64, chunks=chunks,
                          new_axis=v.ndim)
    return np.asarray(counts.sum(axis=(-3, -2)).compute())


class SortedReader:
    """Rows of a plane whose values are those counted in a histogram, in ascending order."""

    def __init__(self, counts, offset, width):
        self.cum = np.cumsum(counts.reshape((-1,) + counts.shape[-2:]), axis=-1)
        self.offset, self.width = offset, width

    def _run(self, cum, p0, n):
        """The sorted values at positions [p0, p0 + n)."""
        b0 = int(np.searchsorted(cum, p0, side="right"))
        b1 = int(np.searchsorted(cum, p0 + n - 1, side="right"))
        ends = np.minimum(cum[b0:b1 + 1], p0 + n)
        starts = np.concatenate(([p0], ends[:-1]))
        return np.repeat(np.arange(b0, b1 + 1, dtype=np.float32) - self.offset, ends - starts)

    def __call__(self, plane, y, x, h, w):
        cum = self.cum[plane]
        out = np.empty((cum.shape[0], h, w), np.float32)
        for c in range(cum.shape[0]):
            if x == 0 and w == self.width:  # whole rows: one run
                out[c] = self._run(cum[c], y * w, h * w).reshape(h, w)
                continue
            for r in range(h):
                out[c, r] = self._run(cum[c], (y + r) * self.width + x, w)
        return out


class BandReader:
    """Rows of the planes of a dask array (plane axes..., C, Y, X), computed a band of chunk
    rows at a time and kept until a read leaves the band (a pass over the plane then computes
    every chunk once)."""

    def __init__(self, v, plane_shape):
        self.v, self.plane_shape = v, plane_shape
        self.bounds = np.cumsum((0,) + v.chunks[-2])
        self.key, self.band = None, None

    def __call__(self, plane, y, x, h, w):
        b0, b1 = (self.key or (None, 0, 0))[1:]
        if self.key is None or self.key[0] != plane or y < b0 or y + h > b1:
            b0 = int(self.bounds[np.searchsorted(self.bounds, y, side="right") - 1])
            b1 = int(self.bounds[np.searchsorted(self.bounds, y + h, side="left")])
            index = np.unravel_index(plane, self.plane_shape) if self.plane_shape else ()
            self.band = None  # release the old band before computing the new one
            self.band = np.asarray(self.v[tuple(index)][:, b0:b1, :].compute())
            self.key = (plane, b0, b1)
        return self.band[:, y - b0:y - b0 + h, x:x + w]


def _never(*_args):
    raise RuntimeError("the library asked to read pixels for a normalisation that needs none")


def compute(model, x, axes, normalize=None, progress=None):
    """Statistics of x (a dask array with a C axis, as _layout.with_channels gives it)."""
    v, plane_letters = canonical(x, axes)
    plane_shape = v.shape[:-3]
    planes = int(math.prod(plane_shape))
    C, H, W = v.shape[-3:]
    how = mode(model, normalize)
    dtype = np.dtype(v.dtype).name
    if how in ("none", "fixed"):
        read = _never
    elif how == "percentile" and dtype in _HISTOGRAM_TYPES:
        offset, bins = _HISTOGRAM_TYPES[dtype]
        read = SortedReader(histograms(v, offset, bins), offset, W)
    else:
        read = BandReader(v, plane_shape)
    mean, std = _pieces.predict_stats(model, read, (planes, C, H, W), normalize, progress)
    return Statistics(mean.reshape(plane_shape + (C,)), std.reshape(plane_shape + (C,)),
                      plane_letters)


def statistics(model, array, axes=None, normalize=None):
    """The normalisation statistics Model.predict(array, axes=axes, normalize=normalize)
    would compute for every plane of the whole array, read in bounded memory (see the module
    documentation). Pass them to predict / segment (stats=) to reuse them."""
    x = _layout.as_dask(array)
    _layout.check_dtype(x)
    x, axes = _layout.with_channels(x, axes, model.in_channels)
    return compute(model, x, axes, normalize)
