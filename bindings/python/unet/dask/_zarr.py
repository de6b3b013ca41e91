"""OME-Zarr in and out: images read lazily (NGFF 0.4, and 0.5 where ome-zarr reads it) at one
level of their multiscale pyramid; results written lazily into a new store as NGFF 0.4 on zarr
format 2 (the metadata by ome-zarr's writers): an image, or an NGFF labels group with
image-label metadata. A store is written under a temporary name beside its destination and
renamed into place when complete; an existing destination, or one inside the input, is refused.
"""

import collections
import contextlib
import logging
import os
import shutil


NGFF_ORDER = "TCZYX"
_AXIS_TYPES = {"T": "time", "C": "channel", "Z": "space", "Y": "space", "X": "space"}

Image = collections.namedtuple("Image", "array axes scale path level levels")
Image.__doc__ = """An OME-Zarr image level: `array` (lazy dask array), `axes` (letters of T, C,
Z, Y, X in the array's order), `scale` (pixel size per axis, from the level's
coordinateTransformations), the store's `path`, the `level` read and the number of `levels`."""


@contextlib.contextmanager
def _quiet_ome_zarr():
    """ome-zarr logs a warning for every store whose version differs from its newest."""
    names = ["ome_zarr"] + [n for n in logging.root.manager.loggerDict
                            if n.startswith("ome_zarr.")]
    logs = [logging.getLogger(n) for n in names]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)


def _image_node(path):
    """ome-zarr's node of the (first) multiscale image in the store at `path`."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Multiscales, Reader

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError("no such OME-Zarr store: %s" % path)
    with _quiet_ome_zarr():
        location = parse_url(path, mode="r")
        if location is None:
            raise ValueError("%s is not a zarr store" % path)
        nodes = [n for n in Reader(location)()
                 if any(isinstance(s, Multiscales) for s in n.specs)
                 and not any(isinstance(s, Label) for s in n.specs)]
    if not nodes:
        raise ValueError("%s holds no OME-Zarr multiscale image" % path)
    return nodes[0]


def stored_level(image):
    """The zarr array of an Image's level (what image.array reads lazily): blocks read their
    windows from it directly (see _layout.windows)."""
    import zarr
    from ome_zarr.reader import Multiscales

    node = _image_node(image.path)
    spec = next(s for s in node.specs if isinstance(s, Multiscales))
    return zarr.open_array(store=node.zarr.store, path=spec.datasets[image.level], mode="r")


def read_ome_zarr(path, level=0):
    """The image of an OME-Zarr store (multiscale; level 0 is full resolution) as an Image
    (array, axes, scale, ...). Nothing is read but metadata until the array is computed."""
    path = os.fspath(path)
    node = _image_node(path)
    levels = len(node.data)
    if not 0 <= level < levels:
        raise ValueError("%s has levels 0 to %d, not %d" % (path, levels - 1, level))
    array = node.data[level]
    names = [a["name"] if isinstance(a, dict) else a for a in node.metadata.get("axes", [])]
    if not names:  # NGFF before 0.3: always 5-D
        names = list("tczyx")[-array.ndim:]
    axes = "".join(n.upper() for n in names)
    if set(axes) - set(NGFF_ORDER) or len(axes) != array.ndim:
        raise ValueError("%s has axes %s; unet reads t, c, z, y, x" % (path, names))
    scale = [1.0] * array.ndim
    transforms = node.metadata.get("coordinateTransformations") or []
    if level < len(transforms):
        for t in transforms[level]:
            if t.get("type") == "scale":
                scale = [float(s) for s in t["scale"]]
    return Image(array, axes, dict(zip(axes, scale)), path, level, levels)


def to_ngff_order(array, axes):
    """(array, axes) with the axes in the order NGFF requires (t, c, z, y, x)."""
    order = sorted(range(len(axes)), key=lambda i: NGFF_ORDER.index(axes[i]))
    return array.transpose(order), "".join(axes[i] for i in order)


def check_destination(output, inputs=()):
    """Refuse an existing destination, and one that is or lies inside an input store."""
    out = os.path.realpath(output)
    for src in inputs:
        src = os.path.realpath(src)
        if out == src or out.startswith(src.rstrip(os.sep) + os.sep):
            raise ValueError("%s would write into the input store %s" % (output, src))
    if os.path.lexists(output):
        raise FileExistsError("%s exists; remove it or choose another output" % output)


def _create(group, name, array, chunks):
    """An empty zarr array for `array` in `group` (zarr 3 or 2 API), chunked as given."""
    create = getattr(group, "create_array", None)
    if create is not None:
        return create(name, shape=array.shape, chunks=chunks, dtype=array.dtype, fill_value=0)
    return group.create_dataset(name, shape=array.shape, chunks=chunks, dtype=array.dtype,
                                fill_value=0)


def _regular(array, axes, chunk):
    """Zarr chunks are regular: (1 per plane, all channels, chunk x chunk)."""
    chunks = tuple(min(chunk, n) if a in "YX" else (n if a == "C" else 1)
                   for a, n in zip(axes, array.shape))
    return array.rechunk(chunks), chunks


def _datasets(axes, scale):
    return [{"path": "0", "coordinateTransformations": [
        {"type": "scale", "scale": [float(scale.get(a, 1.0)) for a in axes]}]}]


def _ngff_axes(axes):
    return [{"name": a.lower(), "type": _AXIS_TYPES[a]} for a in axes]


@contextlib.contextmanager
def _staged(output):
    """A temporary store beside `output`, renamed to it when the block completes."""
    parent = os.path.dirname(os.path.abspath(output)) or "."
    tmp = os.path.join(parent, ".%s.tmp-%d" % (os.path.basename(os.path.abspath(output)),
                                              os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
        os.rename(tmp, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_ome_zarr(array, output, axes, scale=None, chunk=1024, name="image", inputs=()):
    """Write a dask array as a new NGFF 0.4 image (zarr format 2) at `output`: one level "0",
    axes in NGFF order, chunks of `chunk` pixels on Y and X. Computes the array, block by
    block (never the whole image in one piece)."""
    import dask.array as da
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_multiscales_metadata

    check_destination(output, inputs)
    array, axes = to_ngff_order(array, axes)
    array, chunks = _regular(array, axes, chunk)
    with _staged(output) as tmp:
        root = zarr.open_group(tmp, mode="w", zarr_format=2)
        target = _create(root, "0", array, chunks)
        da.store(array, target, lock=False)
        with _quiet_ome_zarr():
            write_multiscales_metadata(root, _datasets(axes, scale or {}), fmt=FormatV04(),
                                       axes=_ngff_axes(axes), name=name)
    return output


def write_ome_zarr_labels(labels, output, axes="YX", scale=None, chunk=1024, name="labels",
                          source=None, inputs=()):
    """Write instance labels as a new store at `output` holding an NGFF 0.4 labels group:
    output/labels/<name> (multiscale, one level "0", image-label metadata with `source`, the
    image's path, relative to the label group, when given). Computes the labels block by
    block."""
    import dask.array as da
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_label_metadata, write_multiscales_metadata

    check_destination(output, inputs)
    labels, axes = to_ngff_order(labels, axes)
    labels, chunks = _regular(labels, axes, chunk)
    with _staged(output) as tmp:
        root = zarr.open_group(tmp, mode="w", zarr_format=2)
        group = root.require_group("labels").require_group(name)
        target = _create(group, "0", labels, chunks)
        da.store(labels, target, lock=False)
        extra = {}
        if source is not None:
            here = os.path.join(os.path.abspath(output), "labels", name)
            extra["source"] = {"image": os.path.relpath(os.path.abspath(source), here)}
        with _quiet_ome_zarr():
            write_multiscales_metadata(group, _datasets(axes, scale or {}), fmt=FormatV04(),
                                       axes=_ngff_axes(axes), name=name)
            write_label_metadata(root["labels"], name, fmt=FormatV04(), **extra)
    return output


__all__ = ["Image", "read_ome_zarr", "write_ome_zarr", "write_ome_zarr_labels"]
