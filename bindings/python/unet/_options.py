"""Options objects: every libunet call with options takes one, set key by key through the
library's generic setter (unet_<kind>_opts_set), so names, ranges and messages are the
library's own."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, List, Mapping

from . import _lib
from ._errors import check
from ._handle import OwnedHandle
from ._lib import lib


def text(value: Any) -> str:
    """A Python value as the text the generic setters read."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(repr(float(v)) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Options(OwnedHandle):
    """A unet_<kind>_opts_t: kind is one of predict, segment, click, train, post, sample.
    Keyword arguments are set in order; None leaves a key at its default."""

    def __init__(self, kind: str, **values: Any) -> None:
        if kind not in _lib.OPTION_KINDS:
            raise ValueError("options kind %r is not one of %s" % (kind, _lib.OPTION_KINDS))
        self._kind = kind
        self._free_name = "unet_%s_opts_free" % kind
        self._what = "%s options object" % kind
        super().__init__()
        h = ctypes.c_void_p()
        check(getattr(lib, "unet_%s_opts_create" % kind)(ctypes.byref(h)))
        self._h = h.value
        self.update(**values)

    def _call(self, name: str, *args: Any) -> int:
        return check(getattr(lib, "unet_%s_opts_%s" % (self._kind, name))(self._handle, *args))

    def _set(self, key, value):
        """Set one key from a Python value (bool, number, str, or a list for lists)."""
        self._call("set", key.encode("utf-8"), text(value).encode("utf-8"))

    def update(self, **values: Any) -> "Options":
        """Set keys from keyword arguments, in order (None leaves a key as it is)."""
        for key, value in values.items():
            if value is not None:
                self._set(key, value)
        return self

    def set_json(self, values: Mapping[str, Any]) -> None:
        """Set the keys of a dict at once (all or nothing); None values mean "auto"."""
        self._call("set_json", json.dumps(values).encode("utf-8"))

    def _string(self, name):
        out = ctypes.c_char_p()
        self._call(name, ctypes.byref(out))
        return json.loads(out.value.decode("utf-8"))

    def values(self) -> Dict[str, Any]:
        """Every key and its current value ("auto" keys as None)."""
        return self._string("json")

    def describe(self) -> List[Dict[str, Any]]:
        """The table: one dict per key (name, type, default, min, max, choices, special,
        help)."""
        return self._string("describe")

    def set_progress(self, bridge: Any) -> None:
        """Report progress to a ProgressBridge (predict and segment options)."""
        self._call("set_progress", bridge.c_fn, None)


def describe(kind: str) -> List[Dict[str, Any]]:
    """The option table of an options kind (see Options.describe)."""
    with Options(kind) as o:
        return o.describe()
