"""Models by name: a built-in name ("nuclei") or the path of a .unet file, loaded once and kept.

Models are immutable once loaded, so one cached model serves every widget and worker thread at
once; fine-tuning loads its own copy (`load_fresh`) because a trainer changes its model."""

import os
import threading

import unet

_cache = {}  # key -> model, oldest first
_lock = threading.Lock()
CACHED = 4  # models kept (a worker still using a dropped one keeps it alive itself)


def builtin_names():
    """The models compiled into libunet.so."""
    return list(unet.builtin_names())


def _key(spec):
    spec = os.fspath(spec)
    if spec in builtin_names():
        return ("builtin", spec)
    path = os.path.abspath(os.path.expanduser(spec))
    try:
        mtime = os.stat(path).st_mtime_ns  # a file saved again is loaded again
    except OSError:
        mtime = None
    return ("file", path, mtime)


def load_fresh(spec):
    """A new model object for `spec` (a built-in name or a .unet path)."""
    key = _key(spec)
    if key[0] == "builtin":
        return unet.Model.builtin(key[1])
    if not key[1].endswith(".unet") and not os.path.isfile(key[1]):
        raise ValueError("model %r is neither a built-in model (%s) nor a .unet file"
                         % (os.fspath(spec), ", ".join(builtin_names())))
    return unet.Model.load(key[1])


def get(spec):
    """The shared model for `spec` (a unet.Model is returned as it is), loaded on first use."""
    if isinstance(spec, unet.Model):
        return spec
    key = _key(spec)
    with _lock:
        model = _cache.get(key)
    if model is None:
        model = load_fresh(spec)
        with _lock:
            model = _cache.setdefault(key, model)
            while len(_cache) > CACHED:
                del _cache[next(iter(_cache))]
    return model


def is_segmentation(model):
    """True when the model's output metadata describes instances to cut out (what
    Model.segment does), False for restoration models whose output is an image."""
    out = model.metadata.get("output") or {}
    if not out:  # a model made outside the trainer: probabilities mean segmentation
        return model.config.get("final_activation") in ("sigmoid", "softmax")
    if out.get("task") in ("segmentation", "restoration"):
        return out["task"] == "segmentation"
    return (out.get("target") in ("foreground", "3class", "distance") or
            out.get("type") == "probability")
