"""libunet on Dask arrays and OME-Zarr: images larger than one machine, with the results of
the whole image.

    import unet, unet.dask
    model = unet.Model.builtin("nuclei")
    probabilities = unet.dask.predict(model, array)   # lazy, equal to model.predict(array)
    labels = unet.dask.segment(model, array)          # lazy, the objects of model.segment(array)

Needs the optional extra: pip install "libunet[dask]" (dask[array], distributed, zarr,
ome-zarr). Any dask scheduler runs the graphs; with a distributed Client the model travels to
each worker once, and each task uses its share of the worker machine's cores."""

try:
    import dask.array  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("unet.dask needs the dask extra: pip install 'libunet[dask]' (%s)" % e) from None

from ._predict import predict
from ._segment import segment
from ._stats import Statistics, statistics
from ._zarr import Image, read_ome_zarr, write_ome_zarr, write_ome_zarr_labels

__all__ = ["predict", "segment", "statistics", "Statistics", "Image", "read_ome_zarr",
           "write_ome_zarr", "write_ome_zarr_labels"]
