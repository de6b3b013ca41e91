"""Built-in models and sample images: what a host needs to show libunet working with no files
of its own."""

from __future__ import annotations

import ctypes
from typing import Any, List, Tuple, Union

import numpy as np

from ._errors import check
from ._lib import lib
from ._options import Options


def builtin_names() -> List[str]:
    """The names Model.builtin() knows (an empty list in a build without built-in models)."""
    names, count = ctypes.POINTER(ctypes.c_char_p)(), ctypes.c_size_t()
    check(lib.unet_model_builtin_names(ctypes.byref(names), ctypes.byref(count)))
    return [names[i].decode("utf-8") for i in range(count.value)]


def sample(size: Union[int, Tuple[int, int]] = 512, seed: int = 0, bits: int = 16,
           **options: Any) -> Tuple[np.ndarray, np.ndarray]:
    """A synthetic fluorescence-nuclei image and its instance labels, as `unet sample` writes
    them: (image uint16 of values below 2**bits, labels uint32 1..N), each size x size
    (16 to 8192; a (height, width) pair works too). The same arguments give the same arrays.

    Other sample options (Options("sample").describe() lists them) go as keywords: scene
    ("classic", "wide", "auto"), nuclei (a count, 0 for a field with no nuclei, or "auto"),
    min_diameter and max_diameter (px), clusters (dense clusters of 50+ touching nuclei) and
    background ("flat", "ramp", "haze", "debris", "noise", "auto"). Any of them selects the
    wide scene; without them the image is the classic one the built-in model was trained on,
    e.g. sample(512, seed=3, nuclei=0, background="haze")."""
    height, width = (size, size) if np.ndim(size) == 0 else size
    image = np.zeros((int(height), int(width)), np.uint16)
    labels = np.zeros(image.shape, np.uint32)
    with Options("sample", seed=int(seed), bits=int(bits), **options) as o:
        check(lib.unet_sample_nuclei(o._handle, image.shape[0], image.shape[1],
                                     image.ctypes.data, labels.ctypes.data, None))
    return image, labels


__all__ = ["builtin_names", "sample"]
