"""The one base class of Python objects that own a C handle (models, options, click sessions,
trainers): the handle, close(), the `with` block and release on garbage collection.

C calls release the GIL, so another thread may call close() while a call runs. Every call
therefore holds a 'use' of the handle (a count under a lock), and so does every object that
keeps the handle across calls (a click session or a trainer holds its model): close() refuses
while the count is not zero, so the handle is never freed under a user."""

import contextlib
import threading
from typing import Iterator, Optional

from . import _lib
from ._errors import UnetError, check
from ._lib import lib


class InUseError(UnetError, RuntimeError):
    """close() on an object a running call, a click session or a trainer still uses."""


class OwnedHandle:
    """Owns a C handle released by the C function named `_free_name`; `_what` names the object
    in the error raised after close()."""

    _free_name = None
    _what = "object"

    def __init__(self, handle: Optional[int] = None) -> None:
        self._h = handle
        # Bound now: still reachable while the interpreter shuts down.
        self._free = getattr(lib, self._free_name)
        self._use_lock = threading.Lock()
        self._uses = 0
        self._free_when_unused = False  # set by garbage collection of a handle still in use

    @property
    def _handle(self) -> int:
        if not self._h:
            raise UnetError(_lib.E_INVALID_ARG, "the %s is closed" % self._what)
        return self._h

    def _acquire(self) -> int:
        """Count one more user of the handle (which stays valid until _release)."""
        with self._use_lock:
            handle = self._handle
            self._uses += 1
            return handle

    def _release(self) -> None:
        with self._use_lock:
            self._uses -= 1
            handle = self._h if self._uses == 0 and self._free_when_unused else None
            if handle:
                self._h = None
        if handle:
            self._free_handle(handle)

    def _free_handle(self, handle: int) -> None:
        """Free the C object (subclasses also let go of what they held)."""
        self._free(handle)

    @contextlib.contextmanager
    def _use(self) -> Iterator[int]:
        """The handle for the calls of a `with` block; close() meanwhile raises InUseError."""
        handle = self._acquire()
        try:
            yield handle
        finally:
            self._release()

    def _checked(self, fn, *args) -> int:
        """check(fn(handle, *args)) with the handle held for the call."""
        with self._use() as handle:
            return check(fn(handle, *args))

    @property
    def in_use(self) -> bool:
        """True while a call runs on this object or another object (a click session, a
        trainer) holds it: close() then raises."""
        return self._uses > 0

    def close(self) -> None:
        """Release the C object now (later calls raise UnetError); safe to call twice. Raises
        unet.InUseError (a UnetError and RuntimeError) while a call running on another thread,
        a click session or a trainer still uses it."""
        with self._use_lock:
            if not self._h:
                return
            if self._uses:
                raise InUseError(_lib.E_INVALID_ARG, "the %s is in use (%d running call(s), "
                                 "click session(s) or trainer(s)): close them or wait for "
                                 "the calls to return first" % (self._what, self._uses))
            handle, self._h = self._h, None
        self._free_handle(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_h", None):
            return
        with self._use_lock:
            if self._uses:  # collected in a cycle with its users: freed by the last of them
                self._free_when_unused = True
                return
        self.close()
