"""libunet failures as Python exceptions, and the status check every call goes through."""

from __future__ import annotations

from . import _lib


class UnetError(Exception):
    """A libunet failure: `code` (negative UNET_E_*), `status` (its name) and `message`."""

    def __init__(self, code: int, message: str) -> None:
        """code: a negative UNET_E_* status; message: what went wrong (may be empty)."""
        self.code = code
        self.status = _lib.status_string(code)
        self.message = message
        super().__init__("%s: %s" % (self.status, message) if message else self.status)


class ShapeError(UnetError, ValueError):
    """An image or tensor shape the model cannot take (UNET_E_SHAPE)."""


class Cancelled(UnetError):
    """The call was cancelled (by a progress callback or a cancel request)."""


class DtypeError(UnetError, TypeError):
    """An element type the call cannot take."""


def error(code: int, message: str) -> UnetError:
    """The exception for a status: Cancelled, ShapeError or UnetError."""
    if code == _lib.E_CANCELLED:
        return Cancelled(code, message)
    if code == _lib.E_SHAPE:
        return ShapeError(code, message)
    return UnetError(code, message)


def check(status: int) -> int:
    """Raise the exception for a failed status (the message is thread-local and valid until
    the next libunet call, so it is read right away)."""
    if status != _lib.OK:
        raise error(status, _lib.last_error())
    return status
