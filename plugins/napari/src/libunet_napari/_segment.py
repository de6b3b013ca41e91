"""The command `libunet-napari.segment` and the whole-image runs behind the dock widget.

Every function here is plain Python on arrays (no Qt), so it runs headless, in a thread_worker,
or as a magicgui widget alike."""

import numpy as np

from . import _channels, _models


def _stack_progress(progress, count):
    """A progress callable for plane `i` of `count`, mapping the library's fraction of one
    plane onto the whole stack (None when there is nothing to report to)."""
    if progress is None:
        return lambda i: None
    return lambda i: (lambda f: progress((i + f) / count))


def _run_options(threads, tile, blend, tta):
    options = {"threads": int(threads)}
    if tile:
        options["tile"] = int(tile)
    if blend:
        options["blend"] = int(blend)
    if tta:
        options["tta"] = True
    return options


def segment_array(data, model, rgb=None, threads=0, tile=0, blend=0, diameter=0,
                  progress=None, tta=False):
    """uint32 instance labels of every plane of `data` (ids 1..N within each plane), shaped
    as the image without its colour axis. model: a unet.Model, a built-in name or a .unet
    path. diameter: the objects' typical diameter in pixels (0: measured on each plane, the
    automatic scale of `unet segment`). tta: average the probabilities over the four flips
    (`unet segment --tta`: about four times the network time). progress(fraction) may return
    True to cancel (unet.Cancelled is raised)."""
    model = _models.get(model)
    rgb = _channels.guess_rgb(data.shape) if rgb is None else rgb
    labels = np.zeros(_channels.spatial_shape(data.shape, rgb), np.uint32)
    count = max(1, int(np.prod(_channels.plane_shape(data.shape, rgb))))
    plane_progress = _stack_progress(progress, count)
    options = _run_options(threads, tile, blend, tta)
    if diameter:
        options["diameter"] = float(diameter)
    for i, (index, image) in enumerate(_channels.planes(data, model.in_channels, rgb)):
        labels[index] = model.segment(image, progress=plane_progress(i), **options)
    return labels


def predict_array(data, model, rgb=None, threads=0, tile=0, blend=0, progress=None, tta=False):
    """float32 output of a restoration model for every plane of `data`: shaped as the image
    without its colour axis for one output channel, with a channel axis before Y, X else
    (tta: as for segment_array)."""
    model = _models.get(model)
    rgb = _channels.guess_rgb(data.shape) if rgb is None else rgb
    planes = _channels.plane_shape(data.shape, rgb)
    count = max(1, int(np.prod(planes)))
    out_channels = model.out_channels
    shape = _channels.spatial_shape(data.shape, rgb)
    if out_channels != 1:
        shape = shape[:-2] + (out_channels,) + shape[-2:]
    out = np.zeros(shape, np.float32)
    plane_progress = _stack_progress(progress, count)
    options = _run_options(threads, tile, blend, tta)
    for i, (index, image) in enumerate(_channels.planes(data, model.in_channels, rgb)):
        result = model.predict(image, axes="YX" if image.ndim == 2 else "CYX",
                               progress=plane_progress(i), **options)
        out[index] = result[0] if out_channels == 1 else result
    return out


def segment(image: "napari.types.ImageData", model: str = "nuclei", threads: int = 0,
            tile: int = 0, diameter: float = 0, tta: bool = False) -> "napari.types.LabelsData":
    """Instance labels of a 2-D image or of each plane of a stack, as `unet segment` makes
    them. model: a built-in model ("nuclei") or the path of a .unet file; threads: 0 uses
    every core; tile: the tile core size in pixels (0: automatic); diameter: the objects'
    typical diameter in pixels (0: measured on each plane); tta: average over the four flips
    (`unet segment --tta`). Colour images (a last axis of 3 or 4) follow the channel rule of
    `unet segment`."""
    return segment_array(np.asarray(image) if isinstance(image, (list, tuple)) else image,
                         model, threads=threads, tile=tile, diameter=diameter, tta=tta)
