"""unet.dask.predict: Model.predict over a dask array, block by block, with the whole-array
result.

Why blocks reproduce the whole image: chunk boundaries lie on the model's block grid
(multiples of the block multiple) and every block is predicted with `depth` = the halo rounded
up to the block multiple of its neighbours' pixels around it (dask's overlap with boundary
"none"), as one call of Model.predict. Where the block ends at the array's edge, the block's
own canvas is the whole image's canvas there (the far edge is padded by reflection up to the
block grid, or by the border mode's halo, from the same pixels); where it ends inside the
array, the convolutions' zero padding at that edge reaches at most the halo into the block, so
the chunk in its middle gets exactly the whole image's values. Every block is normalised with
the whole plane's statistics (fixed normalisation), so the only difference left is the
Winograd blocking anchored to each call's canvas: with precise=True (direct convolutions) the
result is the whole image's bit for bit, otherwise within the tiling engine's bound (1e-5 of
the output's magnitude)."""

import numpy as np

from .. import _predict
from .._errors import UnetError
from .._options import Options
from .. import _lib
from . import _layout, _stats, _workers


def _normalised_plane(plane, mean, std):
    """A (C, h, w) plane and the keyword for Model.predict that normalises it as the whole
    plane: fixed normalisation when every channel has the same parameters, else the plane
    normalised here with the library's arithmetic ((x - mean) * (1 / std) in double, rounded
    to float) and no normalisation there."""
    if np.all(mean == mean[0]) and np.all(std == std[0]):
        return plane, ("fixed", float(mean[0]), float(std[0]))
    scale = 1.0 / std
    x = plane.astype(np.float32).astype(np.float64)
    x = ((x - mean[:, None, None]) * scale[:, None, None]).astype(np.float32)
    return x, "none"


def predict_block(block, ref, mean, std, axes, depth, shape, keys, plan, block_info=None):
    """One block: the window `block` (core plus up to `depth` pixels of its neighbours on Y
    and X) predicted plane by plane, cropped to the core."""
    model = _workers.model(ref)
    where = block_info[None]["array-location"]
    iy, ix = axes.index("Y"), axes.index("X")
    (cy0, cy1), (cx0, cx1) = where[iy], where[ix]
    wy0, wy1 = _layout.window(cy0, cy1, shape[iy], depth)
    wx0, wx1 = _layout.window(cx0, cx1, shape[ix], depth)
    if (block.shape[iy], block.shape[ix]) != (wy1 - wy0, wx1 - wx0):
        raise UnetError(_lib.E_INTERNAL, "block of %s around core %s: expected a window of "
                        "%d x %d" % (block.shape, where, wy1 - wy0, wx1 - wx0))
    planes, letters = _stats.canonical(block, axes)  # (plane axes..., C, h, w)
    lead = planes.shape[:-3]
    starts = [where[axes.index(a)][0] for a in letters]  # block's first plane in the array
    out = np.empty(lead + (model.out_channels, cy1 - cy0, cx1 - cx0), np.float32)
    threads = _workers.threads(keys["threads"], plan)
    for index in np.ndindex(*lead):
        g = tuple(s + i for s, i in zip(starts, index))
        x, normalize = _normalised_plane(planes[index], mean[g], std[g])
        y = model.predict(x, axes="CYX", normalize=normalize, tile=keys["tile"],
                          batch=keys["batch"], threads=threads, border=keys["border"],
                          precise=keys["precise"])
        out[index] = y[:, cy0 - wy0:cy1 - wy0, cx0 - wx0:cx1 - wx0]
    # back to the block's axis order (the output channels where C is)
    order = [a for a in letters] + ["C", "Y", "X"]
    return np.transpose(out, [order.index(a) for a in axes])


def prepare(model, array, axes, minimum_chunk=0):
    """(x, axes, source): the array as dask with a C axis, its chunks on the block grid, at
    least `minimum_chunk` and the network's depth on Y and X; and the stored data the blocks
    may read their windows from (see _layout.stored), or None."""
    x = _layout.as_dask(array)
    _layout.check_dtype(x)
    x, axes = _layout.with_channels(x, axes, model.in_channels)
    depth = _layout.halo_depth(model)
    x = _layout.rechunk(x, axes, model.block_multiple, max(depth, minimum_chunk))
    return x, axes, _layout.stored(array)


def check_options(model, precise=False, tile=None, batch=1, threads=0, border=None):
    """Every value checked now, by the library's own table, not later on a worker."""
    try:
        with Options("predict", **_predict.predict_keys(threads, tile, 0, batch, border, None,
                                                          precise)):
            pass
    except ValueError as e:
        raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
    if tile is not None and tile > 0 and tile % model.block_multiple:
        raise UnetError(_lib.E_INVALID_ARG, "tile %d is not a multiple of the model's block "
                        "multiple %d" % (tile, model.block_multiple))


def blocks(model, x, axes, stats, precise=False, tile=None, batch=1, threads=0, border=None,
           source=None):
    """The lazy prediction of a prepared array (see prepare): float32, C_out where C is. The
    blocks read their windows straight from `source` when given (memory then stays that of
    the blocks being predicted, whatever the image's size)."""
    import dask.array as da

    check_options(model, precise, tile, batch, threads, border)
    depth = _layout.halo_depth(model)
    ic = axes.index("C")
    if source is not None:
        overlapped = _layout.windows(x, axes, depth, source)
    else:
        overlapped = da.overlap.overlap(x, depth={axes.index("Y"): depth,
                                                  axes.index("X"): depth},
                                        boundary="none", allow_rechunk=False)
    chunks = list(x.chunks)
    chunks[ic] = (model.out_channels,)
    keys = {"threads": threads, "tile": tile, "batch": batch, "border": border,
            "precise": bool(precise)}
    return da.map_blocks(predict_block, overlapped, _workers.shipped(model), stats.mean,
                         stats.std, axes, depth, x.shape, keys, _workers.thread_plan(),
                         chunks=tuple(chunks), dtype=np.float32,
                         meta=np.empty((0,) * x.ndim, np.float32), token="unet-predict")


def predict(model, array, axes=None, precise=False, tile=None, batch=1, threads=0, border=None,
            normalize=None, stats=None):
    """Model.predict over a dask array (or anything dask.array.from_array takes: a zarr array,
    a numpy array): a lazy float32 dask array equal to model.predict(array, axes=axes, ...)
    on the whole array, bit for bit with precise=True, else within the tiling engine's bound.

    axes: as for Model.predict (Z, T, C, Y, X; None guesses); the output has the output
    channels where C was, first when the array had none. Chunks are rechunked on Y and X to
    the model's block grid (multiples of its block multiple, each at least the halo rounded up
    to it); the result has those chunks. normalize: as for Model.predict (None: the model's);
    the statistics are computed once over the whole array when this is called (one parallel
    pass for 8/16-bit images with percentile normalisation) unless `stats` (from
    unet.dask.statistics) is given; every block is then normalised with them. tile, batch,
    border, precise: as for Model.predict, per block; threads: libunet threads per task (0:
    the task's share of its machine's cores). Stored data (a zarr or numpy array: anything
    but a dask array) is read by each block's own task, its window and nothing more, so
    memory stays that of the blocks at work whatever the array's size; a dask array's chunks
    are computed once and overlapped by dask, which may hold many of them at once."""
    model = _workers.as_model(model)
    check_options(model, precise, tile, batch, threads, border)
    x, axes, source = prepare(model, array, axes)
    if stats is None:
        stats = _stats.compute(model, x, axes, normalize)
    return blocks(model, x, axes, stats, precise, tile, batch, threads, border, source)
