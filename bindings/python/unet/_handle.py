"""The one base class of Python objects that own a C handle (models, options, click sessions,
trainers): the handle, close(), the `with` block and release on garbage collection."""

from . import _lib
from ._errors import UnetError
from ._lib import lib


class OwnedHandle:
    """Owns a C handle released by the C function named `_free_name`; `_what` names the object
    in the error raised after close()."""

    _free_name = None
    _what = "object"

    def __init__(self, handle=None):
        self._h = handle
        # Bound now: still reachable while the interpreter shuts down.
        self._free = getattr(lib, self._free_name)

    @property
    def _handle(self):
        if not self._h:
            raise UnetError(_lib.E_INVALID_ARG, "the %s is closed" % self._what)
        return self._h

    def close(self):
        """Release the C object now (later calls raise UnetError); safe to call twice."""
        if self._h:
            self._free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()
