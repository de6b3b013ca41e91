"""Where the pieces go: the axes of an array, its chunks rounded to the model's block grid,
and how far each block must see past its chunk."""

import numpy as np

from .. import _predict
from .._errors import DtypeError, ShapeError
from .. import _lib

# numpy dtypes Model.predict reads natively.
DTYPES = ("uint8", "uint16", "int16", "uint32", "float32", "float64")


def round_up(v, m):
    return -(-int(v) // int(m)) * int(m)


def as_dask(array):
    """A dask array of `array` (a dask array, a zarr array, a numpy array, ...)."""
    import dask.array as da

    if isinstance(array, da.Array):
        return array
    chunks = getattr(array, "chunks", None)
    return da.from_array(array, chunks=chunks if chunks is not None else "auto")


def stored(array):
    """`array` itself when it is stored data every task can read any window of (a zarr array,
    a numpy array, anything but a dask array), else None."""
    import dask.array as da

    return None if isinstance(array, da.Array) else array


class Rechunked:
    """Stored data read in other chunks than its own (the `unet` program's --chunk, or its
    input's chunks on the block grid): what as_dask sees, while windows still read the data
    itself."""

    def __init__(self, array, chunks):
        self.array, self.chunks = array, chunks
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, len(array.shape)

    def __getitem__(self, index):
        return self.array[index]


def check_dtype(x):
    if np.dtype(x.dtype).name not in DTYPES:
        raise DtypeError(_lib.E_INVALID_ARG, "unet.dask takes %s arrays, not %s"
                         % (", ".join(DTYPES), x.dtype))


def with_channels(x, axes, in_channels):
    """(x, axes) with a channel axis: the axes resolved as Model.predict resolves them, and a
    one-element C axis put first when there is none (where Model.predict puts the output
    channels). The channel axis is made one chunk."""
    try:
        axes = _predict.resolve_axes(axes, x.shape, in_channels)
    except ValueError as e:
        raise ShapeError(_lib.E_SHAPE, str(e)) from None
    if "C" not in axes:
        x, axes = x[None], "C" + axes
    c = axes.index("C")
    if x.shape[c] != in_channels:
        raise ShapeError(_lib.E_SHAPE, "the array has %d channels (axis C); the model takes %d"
                         % (x.shape[c], in_channels))
    if len(x.chunks[c]) > 1:
        x = x.rechunk({c: -1})
    return x, axes


def halo_depth(model):
    """How far a block must see past its chunk for the network: the halo rounded up to the
    block multiple (as the tiled predictor's tiles see)."""
    return round_up(max(model.halo, 1), model.block_multiple)


def axis_chunks(chunks, size, multiple, minimum):
    """Chunk sizes along one axis: the boundaries of `chunks` rounded up to multiples of
    `multiple`, dropping those that would leave a chunk smaller than `minimum` (so every chunk
    but a single one is at least `minimum`, and its neighbours can lend it that much)."""
    bounds = sorted({min(size, round_up(b, multiple)) for b in np.cumsum(chunks)[:-1]})
    kept, last = [], 0
    for b in bounds:
        if b - last >= minimum and size - b >= minimum:
            kept.append(b)
            last = b
    edges = [0] + kept + [size]
    return tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:]))


def rechunk(x, axes, multiple, minimum):
    """x with Y and X chunks on the block grid (multiples of `multiple`, at least `minimum`)."""
    new = {}
    for a in "YX":
        i = axes.index(a)
        new[i] = axis_chunks(x.chunks[i], x.shape[i], multiple, minimum)
    if all(new[i] == x.chunks[i] for i in new):
        return x
    return x.rechunk(new)


def window(core0, core1, size, depth):
    """The window [start, stop) a block with overlap `depth` holds around core [core0, core1)
    (dask's overlap with boundary "none": nothing past the array's edges)."""
    return max(0, core0 - depth), min(size, core1 + depth)


def windows(x, axes, depth, source):
    """x (prepared from `source`, stored data: see stored) with `depth` pixels of its
    neighbours around every chunk on Y and X and nothing past the array's edges, as dask's
    overlap with boundary "none" gives, each window read by its own task straight from
    `source`.

    Why not da.overlap.overlap of x: its windows are assembled from pieces of the chunks, and
    dask's scheduler reads the chunks far ahead of the windows that need them, so most of the
    input sits in memory at once (108 of 144 chunks of a 6144^2 image held at the peak,
    memory growing with the image). Here a task holds one window and nothing else is kept;
    the price is that the chunks around a window are read again for its edges."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    name = "unet-window-" + tokenize(x, depth)
    held = "unet-source-" + tokenize(x, depth)
    added_channel = x.ndim == len(source.shape) + 1  # with_channels put a C axis first
    ends = [np.cumsum((0,) + c) for c in x.chunks]
    spatial = {axes.index("Y"), axes.index("X")}
    chunks = [tuple(c + depth * (k > 0) + depth * (k < len(cs) - 1) for k, c in enumerate(cs))
              if i in spatial else cs for i, cs in enumerate(x.chunks)]
    graph = {held: source}
    for index in np.ndindex(*x.numblocks):
        where = []
        for i, k in enumerate(index):
            start, stop = int(ends[i][k]), int(ends[i][k + 1])
            if i in spatial:
                start, stop = window(start, stop, x.shape[i], depth)
            where.append(slice(start, stop))
        graph[(name,) + index] = (_read_window, held, tuple(where), added_channel)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[])
    return da.Array(layer, name, tuple(chunks), meta=np.empty((0,) * x.ndim, x.dtype))


def _read_window(source, where, added_channel):
    if added_channel:
        return np.asarray(source[where[1:]])[None]
    return np.asarray(source[where])
