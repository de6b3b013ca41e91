"""The model on the workers, and each task's share of the cores.

A model travels as its bytes (unet_model_save_memory) in one key of the graph, so a
distributed worker fetches it once, not once per task; each process loads it once
(unet_model_load_memory) and keeps it, keyed by the bytes' SHA-256. A task then runs libunet
with its share of the cores: the cores this process may use divided by the threads that run
tasks on this machine (all workers' threads on a distributed host, the pool of dask's local
threaded scheduler), so N workers x M threads never oversubscribe the cores."""

import collections
import hashlib
import os
import threading

from ..model import Model

_MAX_CACHED = 4  # models kept per process (least recently used dropped first)
_cache = collections.OrderedDict()  # token -> Model
_lock = threading.Lock()
_loads = 0  # models this process has deserialised (read by the tests on every worker)


class ModelBytes:
    """A model as the bytes of its .unet file, named by their SHA-256 (token)."""

    __slots__ = ("token", "data")

    def __init__(self, model):
        self.data = model.to_bytes()
        self.token = hashlib.sha256(self.data).hexdigest()

    def __getstate__(self):
        return self.token, self.data

    def __setstate__(self, state):
        self.token, self.data = state


def shipped(model):
    """A one-key dask.delayed holding the model's bytes: pass it to map_blocks and every task
    of every worker reads it from there."""
    import dask

    ref = ModelBytes(model)
    return dask.delayed(ref, name="unet-model-" + ref.token, pure=True)


def as_model(model):
    """A Model from a Model, a .unet path or a built-in model's name."""
    if isinstance(model, Model):
        return model
    if isinstance(model, (str, os.PathLike)) and os.path.exists(model):
        return Model.load(model)
    if isinstance(model, str):
        return Model.builtin(model)
    raise TypeError("model must be a unet.Model, a .unet path or a built-in model's name, "
                    "not %r" % (model,))


def model(ref):
    """The Model of these bytes, loaded once per process."""
    global _loads
    with _lock:
        m = _cache.get(ref.token)
        if m is None:
            m = Model.from_bytes(ref.data)
            _loads += 1
            _cache[ref.token] = m
            while len(_cache) > _MAX_CACHED:
                _cache.popitem(last=False)
        _cache.move_to_end(ref.token)
        return m


def load_count():
    """How many models this process has deserialised (a distributed test runs it on every
    worker with Client.run)."""
    return _loads


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_plan():
    """{host: threads of all workers on it} of the active distributed client, or None when
    there is none (dask's local schedulers). Taken when the graph is built."""
    try:
        from distributed import default_client
        client = default_client()
    except (ImportError, ValueError):
        return None
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed: every worker without asking
        info = client.scheduler_info()
    totals = {}
    for w in info.get("workers", {}).values():
        totals[w["host"]] = totals.get(w["host"], 0) + int(w["nthreads"])
    return totals


def threads(requested, plan):
    """libunet threads for the calling task: `requested` when > 0, else its share."""
    if requested and requested > 0:
        return int(requested)
    cores = _cores()
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host
        worker = get_worker()
    except (ImportError, ValueError):
        worker = None
    if worker is not None:
        total = (plan or {}).get(get_address_host(worker.address)) or worker.state.nthreads
        return max(1, cores // max(1, total))
    if threading.current_thread() is threading.main_thread():
        return cores  # the synchronous scheduler: one task at a time
    import dask
    pool = dask.config.get("num_workers", None) or os.cpu_count() or 1
    return max(1, cores // pool)
