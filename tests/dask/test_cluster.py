"""unet.dask on a distributed cluster of processes (LocalCluster on 127.0.0.1): a zarr array
predicted and segmented as in one process, the model deserialised once per worker, each task
using its share of the cores."""

import os

import dask.array as da
import numpy as np
import pytest
import unet
import unet.dask
from distributed import Client, LocalCluster
from unet.dask import _workers

from conftest import assert_same_objects, near_threshold


def cluster(workers, threads):
    return LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0")


@pytest.fixture(scope="module")
def client():
    with cluster(2, 1) as c, Client(c) as cl:
        yield cl


def test_zarr_array_as_in_one_process(client, nuclei, tmp_path):
    image, _ = unet.sample((1100, 900), seed=11)
    store = str(tmp_path / "in.zarr")
    unet.dask.write_ome_zarr(da.from_array(image, chunks=256), store, "YX", chunk=256)
    x = unet.dask.read_ome_zarr(store).array
    assert x.chunks[0][0] == 256  # chunks of the store, rechunked by predict to the grid
    probs = unet.dask.predict(nuclei, x, precise=True).compute()  # on the cluster
    assert np.array_equal(probs, nuclei.predict(image, precise=True))
    # zmuv: the library reads the array band by band through the cluster for its statistics
    probs = unet.dask.predict(nuclei, x, precise=True, normalize="zmuv").compute()
    assert np.array_equal(probs, nuclei.predict(image, precise=True, normalize="zmuv"))
    labels = unet.dask.segment(nuclei, x).compute()
    assert_same_objects(labels, nuclei.segment(image, scale=1), near_threshold(nuclei, image))
    # Both workers ran blocks, and each deserialised the model once for predict and segment.
    assert client.run(_workers.load_count) == {w: 1 for w in client.scheduler_info()["workers"]}


def test_model_bytes_are_one_key(nuclei):
    ref = _workers.shipped(nuclei)
    graph = dict(ref.__dask_graph__())
    assert len(graph) == 1 and ref.key.startswith("unet-model-")
    x = unet.dask.predict(nuclei, da.zeros((300, 300), dtype=np.uint16, chunks=100),
                          normalize="none")
    model_keys = [k for k in dict(x.__dask_graph__()) if str(k).startswith("unet-model-")]
    assert model_keys == [ref.key]  # one key for every block, not a copy per task


def share_on_workers(c):
    """The libunet threads a task gets on each worker of client c."""
    plan = _workers.thread_plan()
    workers = list(c.scheduler_info()["workers"])
    futures = [c.submit(_workers.threads, 0, plan, workers=[w], pure=False) for w in workers]
    return c.gather(futures)


@pytest.mark.parametrize("workers,threads", [(2, 1), (1, 2), (1, 1)])
def test_thread_share(workers, threads):
    cores = len(os.sched_getaffinity(0))
    with cluster(workers, threads) as c, Client(c) as cl:
        assert share_on_workers(cl) == [max(1, cores // (workers * threads))] * workers
    assert _workers.threads(3, None) == 3  # an explicit count wins


def test_readme_example_runs_as_written(tmp_path):
    import re
    import subprocess
    import sys
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme.split("## Larger than one machine", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    count = int(r.stdout.split()[-2])
    image, _ = unet.sample(1024, seed=0)
    assert count == unet.Model.builtin("nuclei").segment(image, scale=1).max() > 100
    assert os.path.exists(tmp_path / "nuclei.zarr" / "labels" / "nuclei" / ".zattrs")
