"""unet.dask on a local cluster: time and peak memory per worker of predicting (or segmenting)
an OME-Zarr image, for several shapes of cluster.

    python3 tools/bench/dask_bench.py [--size 8192] [--chunk 1024] [--task predict|segment]
                                      [--dir DIR] [--repeat 1]

Writes a size x size uint16 unet.sample image as an OME-Zarr store (chunk x chunk) under DIR
(a temporary folder by default), then for each configuration starts a fresh
distributed.LocalCluster of processes on 127.0.0.1 and times reading the store, the whole-image
statistics, the prediction (or segmentation) and writing the result to a new store; the peak
resident memory of each worker process is its VmHWM at the end. Configurations:
one worker with one thread (libunet then uses every core in it), two workers of one thread,
one worker process with two threads. Needs the package with its dask extra (and libunet, e.g.
UNET_LIBRARY=build/lib/libunet.so PYTHONPATH=bindings/python). A benchmark, not a test: run it
on a quiet machine and quote medians."""

import argparse
import os
import shutil
import statistics
import tempfile
import time

CONFIGS = [("1 worker x 1 thread", 1, 1), ("2 workers x 1 thread", 2, 1),
           ("1 process x 2 threads", 1, 2)]


def worker_peak_mb():
    """The process's peak resident memory (VmHWM: of its own address space; getrusage's
    maximum would include what its parent held when it was forked)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_once(task, store, out, workers, threads):
    import unet
    import unet.dask
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster) as client:
        model = unet.Model.builtin("nuclei")
        start = time.time()
        image = unet.dask.read_ome_zarr(store)
        if task == "predict":
            result = unet.dask.predict(model, image.array, axes=image.axes)
            unet.dask.write_ome_zarr(result, out, "C" + image.axes, chunk=1024)
        else:
            result = unet.dask.segment(model, image.array, axes=image.axes)
            unet.dask.write_ome_zarr_labels(result, out, chunk=1024, name="nuclei")
        seconds = time.time() - start
        peaks = sorted(client.run(worker_peak_mb).values())
    shutil.rmtree(out)
    return seconds, peaks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--task", choices=("predict", "segment"), default="predict")
    ap.add_argument("--dir", help="where the stores go (default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (median)")
    args = ap.parse_args()

    import dask.array as da
    import unet
    import unet.dask

    folder = args.dir or tempfile.mkdtemp(prefix="unet-dask-bench-")
    store = os.path.join(folder, "sample%d.zarr" % args.size)
    if not os.path.exists(store):
        image, _ = unet.sample(args.size, seed=0)
        unet.dask.write_ome_zarr(da.from_array(image, chunks=args.chunk), store, "YX",
                                 chunk=args.chunk)
        del image
    print("%s of a %d^2 uint16 OME-Zarr image (chunks %d^2), libunet %s, %d cores"
          % (args.task, args.size, args.chunk, unet.version(), len(os.sched_getaffinity(0))))
    for name, workers, threads in CONFIGS:
        times, peaks = [], []
        for _ in range(args.repeat):
            seconds, worker_peaks = run_once(args.task, store, os.path.join(folder, "out.zarr"),
                                             workers, threads)
            times.append(seconds)
            peaks.append(max(worker_peaks))
            print("  %-22s %7.1f s   peak RSS per worker %s MB" % (
                name, seconds, ", ".join("%.0f" % p for p in worker_peaks)), flush=True)
        if args.repeat > 1:
            print("  %-22s median %7.1f s, largest worker peak %.0f MB"
                  % (name, statistics.median(times), max(peaks)))
    if not args.dir:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
