"""unet.dask.segment: Model.segment over a dask array, with one id per object across chunks.

Three stages:
1. probabilities: unet.dask.predict's blocks (exact: the whole image's).
2. provisional ids: each chunk's probabilities with `overlap` pixels of its neighbours around
   it go through the library's post-processing (unet_segment_probabilities, the code
   Model.segment runs, in one pass). Post-processing acts on one connected foreground
   component at a time, and a component's objects depend only on its own pixels and the
   background around it; so a component that does not touch the window's cut edges (edges
   inside the array) is segmented there exactly as in the whole image. Each of its objects
   gets the id 1 + the raster index of its first pixel in the whole array: every chunk that
   holds a piece of the object and sees its component whole gives the same id. When the
   overlap is larger than the components (at least twice the largest object), every chunk
   touching an object sees it whole. A component that is cut ("giant") is labelled per chunk
   as one piece, with a flagged id.
3. resolution: pieces with flagged ids are merged with whatever they touch across chunk faces
   (label equivalences as dask-image's ndmeasure.label finds them, by the face pixels of
   neighbouring chunks), so an object never has two ids (giant components may end up as one
   object); then ids become 1..N in raster order of each object's first pixel, the numbering
   of Model.segment, which the result then equals for components smaller than the overlap.

In memory, stage 3 needs every chunk's provisional ids before any chunk's final ones, so dask
holds all of them (4 bytes a pixel) until the end, and stage 2's overlap of the computed
probabilities holds many of those too. Written into a store (`unet segment IN.zarr`,
segment_to_store), both go through scratch arrays beside the output instead: the
probabilities are stored, each chunk's window is read back by its own task, the ids are stored,
and the mapping and the relabelling read them back chunk by chunk. Memory then stays that of
the chunks at work (8192^2 against 2048^2 with a small model: +373 MB of peak memory held in
memory, +40 MB through the scratch arrays), for scratch space of about 8 bytes a pixel before
compression.
"""

import collections
import os

import numpy as np

from .. import post
from .._errors import ShapeError, UnetError
from .._options import Options
from .. import _lib
from . import _layout, _predict, _stats, _workers


def id_type(height, width):
    """(dtype, flag) of provisional ids: 1 + raster index, with the top bit marking giants."""
    if height * width + 1 < 2 ** 31:
        return np.dtype(np.uint32), np.uint32(1 << 31)
    return np.dtype(np.uint64), np.uint64(1 << 63)


def segment_block(window, ref, depth, shape, keys, plan, block_info=None):
    """Provisional ids of one chunk from its window of probabilities (C_out, h, w)."""
    model = _workers.model(ref)
    H, W = shape
    (cy0, cy1), (cx0, cx1) = block_info[None]["array-location"]
    wy0, wy1 = _layout.window(cy0, cy1, H, depth)
    wx0, wx1 = _layout.window(cx0, cx1, W, depth)
    if window.shape[1:] != (wy1 - wy0, wx1 - wx0):
        raise UnetError(_lib.E_INTERNAL, "window %s around chunk %s: expected %d x %d"
                        % (window.shape, block_info[None]["array-location"], wy1 - wy0,
                           wx1 - wx0))
    threads = _workers.threads(keys["threads"], plan)
    labels, fg = model.segment_probabilities(
        np.ascontiguousarray(window), threshold=keys["threshold"],
        min_distance=keys["min_distance"], min_size=keys["min_size"], split=keys["split"],
        strip=window.shape[1], threads=threads, foreground=True)
    comps, ncomps = post.label(fg, threads=threads)
    # Components touching an edge of the window that lies inside the array are cut.
    edges = [comps[0] if wy0 > 0 else None, comps[-1] if wy1 < H else None,
             comps[:, 0] if wx0 > 0 else None, comps[:, -1] if wx1 < W else None]
    whole = np.ones(ncomps + 1, bool)
    for e in edges:
        if e is not None:
            whole[e] = False
    dtype, flag = id_type(H, W)
    ww = wx1 - wx0
    ids, first = np.unique(labels.ravel(), return_index=True)
    object_id = np.zeros(int(ids[-1]) + 1, dtype)
    object_id[ids] = ((wy0 + first // ww) * W + wx0 + first % ww + 1).astype(dtype)
    core = (slice(cy0 - wy0, cy1 - wy0), slice(cx0 - wx0, cx1 - wx0))
    lab, comp = labels[core], comps[core]
    out = np.zeros(lab.shape, dtype)
    exact = (lab > 0) & whole[comp]
    out[exact] = object_id[lab[exact]]
    giant = (lab > 0) & ~whole[comp]
    if giant.any():  # one flagged id per cut component: its first pixel in this chunk
        cw = cx1 - cx0
        cids, cfirst = np.unique(np.where(giant, comp, 0).ravel(), return_index=True)
        piece_id = np.zeros(ncomps + 1, dtype)
        piece_id[cids] = ((cy0 + cfirst // cw) * W + cx0 + cfirst % cw + 1).astype(dtype) | flag
        out[giant] = piece_id[comp[giant]]
    return out


def face_pairs(parts, axis, flag):
    """Id pairs to merge across one chunk face (two pixel rows or columns, `axis` across it,
    as a grid of parts): different non-zero ids facing each other, at least one of them
    flagged."""
    face = np.block(parts)
    a, b = (face[0], face[1]) if axis == 0 else (face[:, 0], face[:, 1])
    keep = (a != 0) & (b != 0) & (a != b) & (((a | b) & flag) != 0)
    pairs = np.stack([a[keep], b[keep]], axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def resolve(block_ids, pairs, flag):
    """(sorted ids, final labels): equivalence classes of the pairs (union-find); each class
    is numbered by the raster order of its first pixel (the smallest id once flags are
    cleared), 1..N, and 0 stays 0."""
    ids = np.unique(np.concatenate([np.zeros(1, flag.dtype)] + list(block_ids)))
    parent = {}

    def find(v):
        root = v
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(v, v) != root:  # path compression
            parent[v], v = root, parent[v]
        return root

    for a, b in (p for block in pairs for p in block.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    key = ids & ~flag  # raster index + 1 of each id's first pixel
    root_key = {}
    for v, k in zip(ids.tolist(), key.tolist()):
        r = find(v)
        root_key[r] = min(root_key.get(r, k), k)
    rep = np.array([root_key[find(v)] for v in ids.tolist()], dtype=np.int64)
    order = np.unique(rep)  # includes 0 for the background
    final = np.searchsorted(order, rep).astype(np.uint32)
    return ids, final


def relabel(block, mapping):
    ids, final = mapping
    return final[np.searchsorted(ids, block)]


def id_mapping(prov, flag):
    """The delayed (ids, final labels) of provisional ids (dask-image's pattern: from the
    blocks' ids and the faces' pairs)."""
    import dask

    # Delayed pieces of the array's own graph (not optimised copies, whose renamed keys would
    # compute the blocks again).
    block_ids = [dask.delayed(np.unique)(b)
                 for b in prov.to_delayed(optimize_graph=False).ravel()]
    pairs = []
    for axis in (0, 1):
        for b in np.cumsum(prov.chunks[axis])[:-1]:
            face = prov[int(b) - 1:int(b) + 1] if axis == 0 else prov[:, int(b) - 1:int(b) + 1]
            parts = face.to_delayed(optimize_graph=False).tolist()
            pairs.append(dask.delayed(face_pairs)(parts, axis, flag))
    return dask.delayed(resolve, pure=True)(block_ids, pairs, flag)


def labels_from_ids(prov, mapping):
    """The final labels of provisional ids given their (delayed) mapping: a lazy uint32
    array."""
    import dask.array as da

    return da.map_blocks(relabel, prov, mapping, dtype=np.uint32, token="unet-segment")


def segment_to_store(job, scratch, write):
    """Final labels of a Plan (`job`) in bounded memory, through zarr arrays under the new folder
    `scratch` (removed afterwards): the probabilities are computed into one, the provisional
    ids of windows read from it into another, the mapping is computed from that, and
    `write(labels)` then computes the lazy labels, which read their chunks from it."""
    import shutil

    import dask
    import dask.array as da
    import zarr

    from ._zarr import _create

    def stored(array, name):
        chunks = tuple(c[0] for c in array.chunks)
        z = _create(root, name, array, chunks)
        # Blocks write whole zarr chunks unless a block boundary falls inside one (blocks
        # merged on the block grid need not be multiples of the first): then one at a time.
        aligned = all(b % c == 0 for c, cs in zip(chunks, array.chunks)
                      for b in np.cumsum(cs)[:-1])
        da.store(array, z, lock=not aligned)
        return da.from_zarr(z, chunks=array.chunks), z

    os.mkdir(scratch)
    try:
        root = zarr.open_group(scratch, mode="w", zarr_format=2)
        probs, source = stored(job.probs, "probabilities")
        prov, _ = stored(provisional_ids(job, _layout.windows(probs, "CYX", job.overlap,
                                                               source)), "ids")
        (mapping,) = dask.compute(id_mapping(prov, job.flag))
        return write(labels_from_ids(prov, dask.delayed(mapping)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def segment(model, array, axes=None, largest_object=128, overlap=None, threshold=None,
            min_distance=None, min_size=None, split=None, precise=False, tile=None, batch=1,
            threads=0, border=None, normalize=None, stats=None):
    """Model.segment over a 2-D dask array (Y, X) or (C, Y, X): lazy uint32 instance labels,
    0 background, 1..N in raster order of each object's first pixel, one id per object across
    chunks.

    overlap: pixels of context each chunk is post-processed with (default: the model's halo
    and twice `largest_object`, the largest object extent in pixels the segmenter keeps,
    rounded up to the block multiple); objects whose connected foreground is smaller than the
    overlap are exactly those of Model.segment on the whole array, larger ones keep one id
    (touching objects among them may be merged). Chunks are rechunked on the block grid to at
    least the overlap. threshold, min_distance, min_size, split: as for Model.segment (None:
    the model's); the other arguments as for unet.dask.predict (scale is not supported: the
    image is segmented at its own pixel size, as Model.segment(image, scale=1) segments it;
    Model.segment's automatic scale would resize the distributed image first, which this does
    not do)."""
    import dask.array as da

    p = plan(model, array, axes, largest_object, overlap, threshold, min_distance, min_size,
             split, precise, tile, batch, threads, border, normalize, stats)
    windows = da.overlap.overlap(p.probs, depth={1: p.overlap, 2: p.overlap},
                                 boundary="none", allow_rechunk=False)
    prov = provisional_ids(p, windows)
    return labels_from_ids(prov, id_mapping(prov, p.flag))


Plan = collections.namedtuple("Plan", "model probs overlap keys flag")
Plan.__doc__ = """segment()'s stage 1 and what stage 2 needs: the lazy probabilities (C, Y, X),
the overlap of their windows, the post-processing keys and the flag of cut components' ids."""


def plan(model, array, axes, largest_object, overlap, threshold, min_distance, min_size, split,
         precise, tile, batch, threads, border, normalize, stats):
    """The Plan of segment()'s arguments (checked here, not later on a worker)."""
    model = _workers.as_model(model)
    _predict.check_options(model, precise, tile, batch, threads, border)
    with Options("segment", threads=threads, threshold=threshold, min_distance=min_distance,
                 min_size=min_size, split=split):
        pass  # checked now by the library, not later on a worker
    need = max(model.halo, 2 * int(largest_object))
    if overlap is None:
        overlap = _layout.round_up(need, model.block_multiple)
    elif overlap < need:
        raise ValueError("overlap %d is less than the model's halo (%d) or twice the largest "
                         "object (%d)" % (overlap, model.halo, 2 * int(largest_object)))
    x, axes, source = _predict.prepare(model, array, axes, minimum_chunk=overlap)
    if axes != "CYX":
        raise ShapeError(_lib.E_SHAPE, "segment takes a (Y, X) or (C, Y, X) array, not axes %r"
                         % axes)
    if stats is None:
        stats = _stats.compute(model, x, axes, normalize)
    probs = _predict.blocks(model, x, axes, stats, precise, tile, batch, threads, border,
                            source)
    keys = {"threads": threads, "threshold": threshold, "min_distance": min_distance,
            "min_size": min_size, "split": split}
    return Plan(model, probs, overlap, keys, id_type(*x.shape[1:])[1])


def provisional_ids(plan, windows):
    """Stage 2: the lazy provisional ids of the plan's probabilities, given as `windows` (each
    chunk with `plan.overlap` pixels of its neighbours, as dask's overlap with boundary "none"
    gives)."""
    import dask.array as da

    H, W = plan.probs.shape[1:]
    dtype = id_type(H, W)[0]
    return da.map_blocks(segment_block, windows, _workers.shipped(plan.model), plan.overlap,
                         (H, W), plan.keys, _workers.thread_plan(), drop_axis=0,
                         chunks=plan.probs.chunks[1:], dtype=dtype, meta=np.empty((0, 0), dtype),
                         token="unet-segment-ids")
