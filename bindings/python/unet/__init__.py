"""libunet for Python: U-Nets for bioimage analysis through the libunet C library (ctypes).

`unet.Model` loads, creates, saves and runs models (`unet.Model.builtin("nuclei")` needs no
file); `unet.sample()` makes a synthetic nuclei image with its labels; `unet.torch` (imported on
its own) holds the reference PyTorch module; `unet.dask` (imported on its own, with the
package's dask extra) runs models on Dask arrays, OME-Zarr stores and distributed clusters.
Importing this package never imports torch.
"""

from ._lib import path as library_path
from .model import Cancelled, DtypeError, Model, ShapeError, UnetError
from ._handle import InUseError
from ._run import CancelToken
from . import segment as _segment  # noqa: F401 - adds Model.segment
from . import _pieces  # noqa: F401 - adds Model.segment_probabilities
from .click import ClickSession
from .sample import builtin_names, sample
from .channels import channel_rule
from ._options import describe as describe_options
from ._lib import lib as _c

__all__ = ["Model", "ClickSession", "CancelToken", "UnetError", "Cancelled", "ShapeError",
           "DtypeError", "InUseError",
           "library_path", "version", "__version__", "builtin_names", "sample",
           "describe_options", "channel_rule"]


def version() -> str:
    """The "MAJOR.MINOR.PATCH" of the loaded libunet."""
    return _c.unet_version_string().decode("ascii")


__version__ = version()
