"""The libunet model as a Python object: numpy in, numpy out, C errors as exceptions."""

from __future__ import annotations

import collections
import ctypes
import json
import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib, _predict, _run
from ._run import CancelToken
from ._errors import Cancelled, DtypeError, ShapeError, UnetError, check, error
from ._handle import OwnedHandle
from ._lib import lib
from ._options import Options

_F32_P = ctypes.POINTER(ctypes.c_float)

PathLike = Union[str, bytes, "os.PathLike[str]"]
# Normalisation as Model.predict takes it: None, a mode name or "mode:A,B", or (mode, a, b).
Normalize = Union[None, str, Tuple[Any, ...]]
Progress = Callable[[float], Optional[bool]]

# numpy dtypes unet_predict reads natively.
_PREDICT_DTYPES = {
    np.dtype(np.uint8): _lib.U8,
    np.dtype(np.uint16): _lib.U16,
    np.dtype(np.int16): _lib.I16,
    np.dtype(np.uint32): _lib.U32,
    np.dtype(np.float32): _lib.F32,
    np.dtype(np.float64): _lib.F64,
}


_error = error
_check = check


def _bytes(text):
    return text.encode("utf-8") if isinstance(text, str) else text


def _path(path):
    return os.fsencode(os.fspath(path))


def _f32_ptr(array):
    return array.ctypes.data_as(_F32_P)


def _as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


_native = _predict.native


class Model(OwnedHandle):
    """A libunet model (an opaque unet_model_t). Free it with close() or a `with` block."""

    _free_name = "unet_model_free"
    _what = "model"

    def __init__(self, handle: Any, keepalive: Any = None) -> None:
        """Wrap a unet_model_t handle (use create, load, from_bytes or builtin instead);
        keepalive: memory the C model reads, kept as long as it lives."""
        super().__init__(handle)
        self._keepalive = keepalive

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def create(cls, config: Optional[Mapping[str, Any]] = None, seed: int = 0) -> "Model":
        """A new model from a U-Net config dict (missing keys take their defaults)."""
        h = ctypes.c_void_p()
        _check(lib.unet_model_create(_bytes(json.dumps(config or {})), seed, ctypes.byref(h)))
        return cls(h)

    @classmethod
    def load(cls, path: PathLike, config: Optional[Mapping[str, Any]] = None) -> "Model":
        """Load a .unet file; with `config`, a plain safetensors state dict."""
        h = ctypes.c_void_p()
        if config is None:
            _check(lib.unet_model_load(_path(path), ctypes.byref(h)))
        else:
            _check(lib.unet_model_load_with_config(_path(path), _bytes(json.dumps(config)),
                                                   ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_bytes(cls, data: bytes, config: Optional[Mapping[str, Any]] = None) -> "Model":
        """A model from the bytes of a .unet file (to_bytes()); with `config`, of a plain
        safetensors state dict."""
        data = bytes(data)
        h = ctypes.c_void_p()
        cfg = None if config is None else _bytes(json.dumps(config))
        _check(lib.unet_model_load_memory(data, len(data), cfg, ctypes.byref(h)))
        return cls(h, keepalive=data)

    @classmethod
    def builtin(cls, name: str = "nuclei") -> "Model":
        """A model compiled into libunet ("nuclei": fluorescence nuclei); see
        unet.builtin_names()."""
        h = ctypes.c_void_p()
        _check(lib.unet_model_load_builtin(_bytes(name), ctypes.byref(h)))
        return cls(h)

    def save(self, path: PathLike) -> None:
        """Write the model as a .unet file (weights, architecture and metadata)."""
        self._checked(lib.unet_model_save, _path(path))

    def to_bytes(self) -> bytes:
        """The .unet file of the model as bytes (from_bytes reads them back)."""
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        self._checked(lib.unet_model_save_memory, ctypes.byref(buf), ctypes.byref(size))
        try:
            return ctypes.string_at(buf, size.value)
        finally:
            lib.unet_buffer_free(buf)

    def __repr__(self) -> str:
        if not self._h:
            return "<unet.Model (closed)>"
        return "<unet.Model %s>" % json.dumps(self.config, sort_keys=True)

    # ---- description -----------------------------------------------------------------------
    def _get(self, getter, ctype=ctypes.c_int):
        value = ctype()
        with self._use() as h:  # a string stays valid while the model does
            _check(getter(h, ctypes.byref(value)))
            return value.value

    @property
    def ndim(self) -> int:
        """Spatial dimensions of the network (2)."""
        return self._get(lib.unet_model_ndim)

    @property
    def in_channels(self) -> int:
        """Channels the network reads."""
        return self._get(lib.unet_model_in_channels)

    @property
    def out_channels(self) -> int:
        """Channels the network writes."""
        return self._get(lib.unet_model_out_channels)

    @property
    def depth(self) -> int:
        """Resolution levels of the U-Net."""
        return self._get(lib.unet_model_depth)

    @property
    def halo(self) -> int:
        """Context in pixels each side of a tile that tiled prediction adds."""
        return self._get(lib.unet_model_halo)

    @property
    def block_multiple(self) -> int:
        """Tile sizes must be multiples of this."""
        return self._get(lib.unet_model_block_multiple)

    @property
    def is_same_padding(self) -> bool:
        """True when convolutions keep the size (same padding), False for valid padding."""
        return bool(self._get(lib.unet_model_is_same_padding))

    @property
    def param_count(self) -> int:
        """Number of trainable weights."""
        return self._get(lib.unet_model_param_count, ctypes.c_int64)

    @property
    def config(self) -> Dict[str, Any]:
        """The architecture with every key present."""
        text = self._get(lib.unet_model_architecture, ctypes.c_char_p)
        return json.loads(text.decode("utf-8"))

    @property
    def metadata(self) -> Dict[str, Any]:
        """The metadata sections (preprocessing, output, training, ...) as a dict."""
        text = self._get(lib.unet_model_metadata, ctypes.c_char_p)
        return json.loads(text.decode("utf-8"))

    def set_metadata(self, key: str, value: Any) -> None:
        """Replace a metadata section ("preprocessing", "output", "training", "halo");
        None removes it."""
        text = None if value is None else _bytes(json.dumps(value))
        self._checked(lib.unet_model_set_metadata, _bytes(key), text)

    # ---- parameters ------------------------------------------------------------------------
    def _tensor_shapes(self):
        shapes = collections.OrderedDict()
        name, ndim, shape = ctypes.c_char_p(), ctypes.c_int(), (ctypes.c_int64 * 4)()
        with self._use() as h:
            for i in range(self._get(lib.unet_model_tensor_count)):
                _check(lib.unet_model_tensor_info(h, i, ctypes.byref(name), ctypes.byref(ndim),
                                                  shape))
                shapes[name.value.decode("utf-8")] = tuple(shape[:ndim.value])
        return shapes

    def state_dict(self) -> "collections.OrderedDict[str, np.ndarray]":
        """Ordered name -> float32 numpy copy, in file order."""
        out = collections.OrderedDict()
        for name, shape in self._tensor_shapes().items():
            arr = np.empty(shape, dtype=np.float32)
            self._checked(lib.unet_model_get_tensor, _bytes(name), _f32_ptr(arr), arr.size)
            out[name] = arr
        return out

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy tensors in by name (numpy arrays, torch tensors, anything np.asarray takes).
        Everything is checked before any tensor changes. BatchNorm's num_batches_tracked is
        ignored; with strict, every tensor must be given and no unknown name may appear."""
        shapes = self._tensor_shapes()
        arrays, unknown = {}, []
        for name, value in state.items():
            if name.endswith(".num_batches_tracked"):
                continue
            if name not in shapes:
                unknown.append(name)
                continue
            arr = np.ascontiguousarray(_as_numpy(value), dtype=np.float32)
            if arr.shape != shapes[name]:
                raise ShapeError(_lib.E_SHAPE, "tensor %s has shape %s, the model needs %s"
                                 % (name, arr.shape, shapes[name]))
            arrays[name] = arr
        missing = [n for n in shapes if n not in arrays]
        if strict and (unknown or missing):
            parts = []
            if missing:
                parts.append("missing tensors: " + ", ".join(missing))
            if unknown:
                parts.append("unknown tensors: " + ", ".join(unknown))
            raise UnetError(_lib.E_INVALID_ARG, "; ".join(parts))
        for name, arr in arrays.items():
            self._checked(lib.unet_model_set_tensor, _bytes(name), _f32_ptr(arr), arr.size)

    # ---- shapes ----------------------------------------------------------------------------
    def output_shape(self, in_shape: Sequence[int]) -> Tuple[int, ...]:
        """The network's output shape for (N,C,H,W), (C,H,W) or spatial (H,W)."""
        in_shape = tuple(int(s) for s in in_shape)
        if len(in_shape) == 2:
            full = (1, self.in_channels) + in_shape
        elif len(in_shape) == 3:
            full = (1,) + in_shape
        else:
            full = in_shape
        out = (ctypes.c_int64 * len(full))()
        self._checked(lib.unet_model_output_shape, len(full), _lib.i64_array(full), out)
        return tuple(out)[len(full) - len(in_shape):]

    def fit_size(self, size: int) -> Tuple[int, int]:
        """(input_size, output_size): the smallest input size >= `size` the network takes."""
        i, o = ctypes.c_int64(), ctypes.c_int64()
        self._checked(lib.unet_model_fit_size, int(size), ctypes.byref(i), ctypes.byref(o))
        return i.value, o.value

    # ---- running ---------------------------------------------------------------------------
    def forward(self, x: Any, threads: int = 0) -> np.ndarray:
        """The raw network on float (C,H,W) or (N,C,H,W): no preprocessing, no padding.
        Valid-padding networks return the smaller output."""
        x = np.asarray(x)
        if x.dtype.kind != "f":
            raise DtypeError(_lib.E_INVALID_ARG,
                             "forward takes floating-point input, not %s" % x.dtype)
        if x.ndim not in (3, 4):
            raise ShapeError(_lib.E_SHAPE, "forward takes (C,H,W) or (N,C,H,W), not shape %s"
                             % (x.shape,))
        batched = x.ndim == 4
        x = np.ascontiguousarray(x if batched else x[None], dtype=np.float32)
        out = np.empty(self.output_shape(x.shape), dtype=np.float32)
        with Options("predict", threads=int(threads)) as opts:
            self._checked(lib.unet_model_forward, opts._handle, _f32_ptr(x), 4,
                          _lib.i64_array(x.shape), _f32_ptr(out), out.size)
        return out if batched else out[0]

    def predict(self, x: Any, axes: Optional[str] = None, tile: Optional[int] = None,
                blend: int = 0, batch: int = 1, threads: int = 0,
                border: Optional[str] = None, normalize: Normalize = None,
                progress: Optional[Progress] = None, precise: bool = False,
                cancel: Optional[CancelToken] = None,
                max_pixels: Optional[int] = None,
                channel: Optional[int] = None, tta: bool = False) -> np.ndarray:
        """Predict an image of any size, tiled with exact stitching.

        x: uint8, uint16, int16, uint32, float32 or float64. axes: its dimensions as letters
        Z, T (planes, predicted one by one), C, Y, X; None reads 2-D as "YX", 3-D as "YXC"
        colour when the last size is 3 or 4, as "CYX" when the first size equals the model's
        input channels, else (one-channel models) as a "ZYX" stack, and 4-D as "ZCYX"; a 3-D
        shape both colour readings fit raises ShapeError. Channels follow the library's
        channel rule (unet.channel_rule): a one-channel model given colour (C of 3 or 4) reads
        R when R, G, B are equal, else the luminance 0.299 R + 0.587 G + 0.114 B, alpha
        ignored; other channel counts the model does not take need channel= (0-based).
        Returns float32 with the plane axes kept and the output channels where C was (first
        when x had none). tile: core size (a multiple of block_multiple; None: automatic).
        blend: seam blending width. border: "network", "reflect" or "zero" (None: the model's
        default). normalize: None (the model's metadata), "none", "zmuv",
        "percentile:LOW,HIGH" or "fixed:MEAN,STD". precise: direct convolutions only (no
        Winograd; slower). tta: test-time augmentation, every tile's output averaged over
        its four flips (4x the network time). progress(fraction) may return True to cancel;
        an exception it raises cancels the run and is re-raised here. cancel: a
        unet.CancelToken another thread may cancel. Cancellation raises unet.Cancelled;
        Ctrl-C on the main thread cancels the run and raises KeyboardInterrupt. max_pixels:
        refuse (UnetError naming max_pixels) an image of more pixels (planes x height x
        width) before predicting (None: no limit; the library streams the image)."""
        x = np.asarray(x)
        if x.dtype.newbyteorder("=") not in _PREDICT_DTYPES:
            raise DtypeError(_lib.E_INVALID_ARG, "predict takes uint8, uint16, int16, uint32, "
                             "float32 or float64 input, not %s" % x.dtype)
        try:
            keys = _predict.predict_keys(threads, tile, blend, batch, border, normalize, precise,
                                         max_pixels=max_pixels, channel=channel, tta=tta)
        except ValueError as e:
            raise UnetError(_lib.E_INVALID_ARG, str(e)) from None
        with self._use() as h:
            planes4, axes, plane_names, plane_shape = _predict.prepare(x, axes,
                                                                       self.in_channels)
            out = np.empty((planes4.shape[0], self.out_channels) + planes4.shape[2:],
                           np.float32)
            bridge = _predict.ProgressBridge(progress) if progress is not None else None
            with Options("predict", **keys) as opts:
                if bridge:
                    opts.set_progress(bridge)
                o = opts._handle
                status, message = _run.call(
                    lambda: lib.unet_predict(h, o, planes4.ctypes.data_as(ctypes.c_void_p),
                                             _PREDICT_DTYPES[planes4.dtype], 4,
                                             _lib.i64_array(planes4.shape), _f32_ptr(out),
                                             out.size),
                    lambda: lib.unet_predict_opts_cancel(o), cancel)
        _predict.raise_after_call(bridge, status, message)
        return _predict.from_planes(out, axes, plane_names, plane_shape)
