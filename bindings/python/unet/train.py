"""Training a libunet model from Python: `unet.train.Trainer` wraps unet_trainer_t.

    from unet import Model
    from unet.train import Trainer

    model = Model.create({"depth": 3, "base_features": 16, "final_activation": "sigmoid"})
    with Trainer(model, steps=500, patch=128, loss="bce+dice") as t:
        t.add(image, labels)              # numpy arrays; labels: instance or class labels
        t.train(progress=print)           # progress(step, total, loss, metric)
        t.save("nuclei.unet")

Options are the keys of unet_train_opts_set (see unet.h); values may be numbers, booleans,
strings, or a list for class_weights.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from . import _lib, _predict, _run
from ._run import CancelToken
from ._handle import OwnedHandle
from ._lib import lib
from ._options import Options
from .model import Model, PathLike, UnetError, _bytes, _check, _f32_ptr, _path

_DTYPES = {
    np.dtype(np.uint8): _lib.U8,
    np.dtype(np.uint16): _lib.U16,
    np.dtype(np.int16): _lib.I16,
    np.dtype(np.uint32): _lib.U32,
    np.dtype(np.float32): _lib.F32,
    np.dtype(np.float64): _lib.F64,
}
SPLITS = {"auto": _lib.SPLIT_AUTO, "train": _lib.SPLIT_TRAIN, "val": _lib.SPLIT_VAL}


def _native(x):
    x = np.asarray(x)
    if x.dtype.kind in "iu" and x.dtype.newbyteorder("=") not in _DTYPES:
        # int32/int64 labels: libunet takes uint32 (labels are non-negative)
        if x.size and (x.min() < 0 or x.max() > 2**31 - 1):
            raise UnetError(_lib.E_INVALID_ARG, "labels must lie in [0, 2^31)")
        x = x.astype(np.uint32)
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if x.dtype.newbyteorder("=") not in _DTYPES:
        raise UnetError(_lib.E_INVALID_ARG, "element type %s is not supported" % x.dtype)
    return np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))


class _ProgressBridge:
    """A C progress callback that never lets a Python exception cross into C."""

    def __init__(self, fn):
        self.fn, self.error = fn, None

        def call(user, step, total, loss, metric):
            try:
                return 1 if self.fn(step, total, loss, metric) else 0
            except BaseException as e:  # cancel, re-raise after the C call returns
                self.error = e
                return 1

        self.c_fn = _lib.TRAIN_PROGRESS_FN(call)


class Trainer(OwnedHandle):
    """A trainer for `model` (a unet.Model, updated in place). Keyword options as in unet.h;
    progress(step, total, loss, metric) may return True to cancel."""

    _free_name = "unet_trainer_free"
    _what = "trainer"

    def __init__(self, model: Model,
                 progress: Optional[Callable[[int, int, float, float], Optional[bool]]] = None,
                 **options: Any) -> None:
        """Create the trainer (it holds `model` until closed; see the class documentation)."""
        super().__init__()
        if not isinstance(model, Model):
            raise TypeError("Trainer takes a unet.Model")
        self.model = None
        # The trainer uses the model until it is closed: the model refuses close() meanwhile.
        model_handle = model._acquire()
        self.model = model
        try:
            self._bridge = _ProgressBridge(progress) if progress is not None else None
            with Options("train", **options) as opts:
                if self._bridge:
                    opts.set_progress(self._bridge)
                self.options = opts.values()
                h = ctypes.c_void_p()
                _check(lib.unet_trainer_create(model_handle, opts._handle, ctypes.byref(h)))
        except BaseException:
            self._free_handle(None)
            raise
        self._h = h.value

    def _free_handle(self, handle: Any) -> None:
        """Free the trainer, then let go of the model (the attribute stays for reading)."""
        if handle:
            self._free(handle)
        if self.model is not None and not getattr(self, "_model_released", False):
            self._model_released = True
            self.model._release()

    # ---- data ----
    def add(self, image: Any, labels: Any, split: str = "auto") -> None:
        """Add an image ((H,W) or (C,H,W)) and its labels ((H,W) integer labels, or float
        (H,W)/(C,H,W) targets for restoration)."""
        image, labels = _native(image), _native(labels)
        self._checked(
            lib.unet_trainer_add_data, image.ctypes.data_as(ctypes.c_void_p),
            _DTYPES[image.dtype], image.ndim, _lib.i64_array(image.shape),
            labels.ctypes.data_as(ctypes.c_void_p), _DTYPES[labels.dtype], labels.ndim,
            _lib.i64_array(labels.shape), SPLITS[split])

    def add_folders(self, images: PathLike, labels: PathLike) -> None:
        """Add every image of folder `images` with the label image of the same name in
        folder `labels`."""
        self._checked(lib.unet_trainer_add_folders, _path(images), _path(labels))

    # ---- running ----
    def _run_call(self, fn: Callable[[Any], int], cancel: Optional[CancelToken]) -> None:
        with self._use() as h:
            stopped = []  # this call's token or Ctrl-C cancelled it

            def stop():
                stopped.append(True)
                lib.unet_trainer_cancel(h)

            try:
                status, message = _run.call(lambda: fn(h), stop, cancel)
            finally:
                if stopped:  # what cancelled this call stays with it: the next one runs
                    lib.unet_trainer_reset_cancel(h)
        _predict.raise_after_call(self._bridge, status, message)

    def train(self, cancel: Optional[CancelToken] = None) -> None:
        """Train to the planned step count (validating, checkpointing, logging). cancel: a
        unet.CancelToken; cancellation (and Ctrl-C, which raises KeyboardInterrupt) stops
        after the current step and raises unet.Cancelled. The trainer keeps its weights,
        optimizer state and step, and a later train() or step() continues from there."""
        self._run_call(lib.unet_trainer_train, cancel)

    def step(self, steps: int = 1, cancel: Optional[CancelToken] = None) -> None:
        """Take `steps` more steps (past the planned total too); cancel as for train()."""
        self._run_call(lambda h: lib.unet_trainer_step(h, int(steps)), cancel)

    def evaluate(self) -> Tuple[float, float]:
        """(validation loss, metric) now."""
        loss, metric = ctypes.c_double(), ctypes.c_double()
        self._checked(lib.unet_trainer_evaluate, ctypes.byref(loss), ctypes.byref(metric))
        return loss.value, metric.value

    @property
    def metrics(self) -> Dict[str, Any]:
        """The last validation's figures (step, loss, iou, dice, f1, ...)."""
        text = ctypes.c_char_p()
        self._checked(lib.unet_trainer_metrics, ctypes.byref(text))
        return json.loads(text.value.decode("utf-8"))

    @property
    def progress(self) -> Tuple[int, int]:
        """(steps taken, steps planned)."""
        step, total = ctypes.c_int64(), ctypes.c_int64()
        self._checked(lib.unet_trainer_progress, ctypes.byref(step), ctypes.byref(total))
        return step.value, total.value

    def cancel(self) -> None:
        """Stop the running train() or step() after its current step (thread-safe); later
        calls stop at once too, until reset_cancel()."""
        self._checked(lib.unet_trainer_cancel)

    def reset_cancel(self) -> None:
        """Let train() and step() run again after cancel() (thread-safe)."""
        self._checked(lib.unet_trainer_reset_cancel)

    def save(self, path: PathLike) -> None:
        """Save the model as a .unet file with preprocessing and training metadata."""
        self._checked(lib.unet_trainer_save, _path(path))

    def save_state(self, path: PathLike) -> None:
        """Save what a resumed run needs (weights, optimizer and schedule state, step)."""
        self._checked(lib.unet_trainer_save_state, _path(path))

    def load_state(self, path: PathLike) -> None:
        """Restore a state saved by save_state()."""
        self._checked(lib.unet_trainer_load_state, _path(path))

    # ---- low level ----
    def _batch(self, x, target, weights):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise UnetError(_lib.E_SHAPE, "batch input must be (N, C, H, W)")
        t = np.ascontiguousarray(target, dtype=np.float32)
        w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float32)
        wp = None if w is None else _f32_ptr(w)
        return x, t, w, wp

    def compute_gradients(self, x: Any, target: Any, weights: Any = None) -> float:
        """Training-mode loss and gradients of a batch, the model unchanged; returns the
        loss (gradients: gradient(name))."""
        x, t, w, wp = self._batch(x, target, weights)
        loss = ctypes.c_double()
        self._checked(lib.unet_trainer_compute_gradients, _f32_ptr(x), 4,
                      _lib.i64_array(x.shape), _f32_ptr(t), t.size, wp, ctypes.byref(loss))
        return loss.value

    def gradient(self, name: str) -> np.ndarray:
        """The gradient of tensor `name` from the last compute_gradients()."""
        shape = self.model._tensor_shapes()[name]
        out = np.empty(shape, np.float32)
        self._checked(lib.unet_trainer_get_gradient, _bytes(name), _f32_ptr(out), out.size)
        return out

    def step_batch(self, x: Any, target: Any, weights: Any = None) -> float:
        """One optimizer step on this batch; returns its loss."""
        x, t, w, wp = self._batch(x, target, weights)
        loss = ctypes.c_double()
        self._checked(lib.unet_trainer_step_batch, _f32_ptr(x), 4, _lib.i64_array(x.shape),
                      _f32_ptr(t), t.size, wp, ctypes.byref(loss))
        return loss.value
