"""From a napari image to what the model reads: the planes of a stack, and colour by the one
channel rule of every libunet entry point (`unet segment`, Fiji, napari), which is the C
library's own (unet.channel_rule), not a copy.

Colour (napari's rgb: a last axis of 3 or 4) for a model with one input channel: alpha is
ignored; when R, G and B are equal that channel is used as it is, otherwise the luminance
0.299 R + 0.587 G + 0.114 B. A model with 3 input channels reads R, G, B as they are (4: RGBA as
it is). Any other leading axes are planes (Z, T, ...) segmented one by one."""

import numpy as np
import unet


def guess_rgb(shape):
    """napari's own guess for an array given without a layer: a last axis of 3 or 4."""
    return len(shape) >= 3 and shape[-1] in (3, 4)


def spatial_shape(shape, rgb):
    """The shape of the labels / output plane stack: the image's without its colour axis."""
    return tuple(shape[:-1]) if rgb else tuple(shape)


def plane_shape(shape, rgb):
    """The stack axes (everything before Y, X and the colour axis)."""
    return spatial_shape(shape, rgb)[:-2]


def colour_to_model(pixels, in_channels):
    """One colour plane (Y, X, 3|4) as the model reads it: (Y, X) or (in_channels, Y, X)
    float32; a channel count the rule does not cover raises unet.ShapeError."""
    out = unet.channel_rule(np.moveaxis(np.asarray(pixels), -1, 0), in_channels)
    return out[0] if in_channels == 1 else out


def planes(data, in_channels, rgb=None):
    """Yield (index, image) for every plane of `data` (numpy or any array napari holds, e.g.
    dask: each plane is read when it is reached); index is a tuple over the stack axes."""
    if rgb is None:
        rgb = guess_rgb(data.shape)
    if len(spatial_shape(data.shape, rgb)) < 2:
        raise ValueError("an image has at least two axes (Y, X), not shape %s" % (data.shape,))
    if not rgb and in_channels != 1:
        raise ValueError("the model takes %d input channels; give it a colour (RGB) image"
                         % in_channels)
    for index in np.ndindex(*plane_shape(data.shape, rgb)):
        plane = np.asarray(data[index])
        yield index, colour_to_model(plane, in_channels) if rgb else plane
