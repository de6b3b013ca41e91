"""`python3 -m unet predict|segment IN.zarr -o OUT.zarr`: OME-Zarr stores through unet.dask,
on dask's local threads or on a distributed cluster (--scheduler ADDRESS). The `unet` program
hands .zarr arguments of its predict and segment commands to these."""

import os
import sys
import time

ZARR_HELP = ("IN.zarr is an OME-Zarr image (NGFF 0.4, or 0.5 where ome-zarr reads it; level "
             "--level of its pyramid); OUT.zarr must not exist and is written as NGFF 0.4 on "
             "zarr format 2, block by block, so the image never sits in memory whole.")


def _common(p):
    p.add_argument("input", metavar="IN.zarr")
    p.add_argument("-o", "--output", required=True, metavar="OUT.zarr")
    p.add_argument("--model", default="nuclei",
                   help="a .unet file or a built-in model's name (default: nuclei)")
    p.add_argument("--level", type=int, default=0, help="pyramid level to read (default 0)")
    p.add_argument("--tile", type=int, help="tile core per block (default: automatic)")
    p.add_argument("--batch", type=int, default=1, help="tiles per network run (default 1)")
    p.add_argument("--threads", type=int, default=0,
                   help="libunet threads per task (default: the task's share of the cores)")
    p.add_argument("--border", help="network | reflect | zero (default: the model's)")
    p.add_argument("--normalize", help="none | zmuv | percentile:LOW,HIGH | fixed:MEAN,STD "
                   "(default: the model's preprocessing)")
    p.add_argument("--precise", action="store_true",
                   help="direct convolutions only: the whole image's values bit for bit")
    p.add_argument("--chunk", type=int,
                   help="block size on Y and X, and the output's chunks (default: the input's "
                        "chunks; blocks are rounded up to the model's block multiple)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a distributed scheduler, e.g. tcp://scheduler:8786 (default: local "
                        "threads)")
    p.add_argument("--workers", type=int, help="local threads running blocks (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parsers(sub):
    """The predict and segment commands, on the subparsers of `python3 -m unet`."""
    p = sub.add_parser("predict", help="predict an OME-Zarr image into a new OME-Zarr image",
                       description="Predict IN.zarr into OUT.zarr. " + ZARR_HELP)
    _common(p)
    p.add_argument("--type", default="float32", choices=("float32", "uint8", "uint16"),
                   help="output type (probabilities are scaled to the integer range)")
    p.set_defaults(run=predict_main)
    s = sub.add_parser("segment", help="segment an OME-Zarr image into an NGFF labels group",
                       description="Segment IN.zarr into OUT.zarr/labels/NAME. " + ZARR_HELP)
    _common(s)
    s.add_argument("--name", default="nuclei", help="name of the labels (default: nuclei)")
    s.add_argument("--threshold", type=float)
    s.add_argument("--min-distance", type=int)
    s.add_argument("--min-size", type=int)
    s.add_argument("--no-split", action="store_true",
                   help="connected components instead of the watershed split")
    s.add_argument("--largest", type=int, default=128,
                   help="largest object extent in pixels (default 128); the overlap between "
                        "blocks is at least twice that")
    s.set_defaults(run=segment_main)


def _client(args):
    if not args.scheduler:
        return None
    from distributed import Client
    return Client(args.scheduler)


def _source(args, model):
    """(image, x): the input's level, and what the blocks read it as (the stored array in
    blocks of --chunk, or of the input's chunks on the block grid)."""
    from . import _layout
    from ._zarr import check_destination, read_ome_zarr, stored_level

    check_destination(args.output, [args.input])  # before any work
    image = read_ome_zarr(args.input, args.level)
    x = image.array
    if args.chunk:
        size = {a: args.chunk for a in "YX"}
    else:  # the input's chunks on the block grid
        size = {a: _layout.round_up(x.chunks[image.axes.index(a)][0], model.block_multiple)
                for a in "YX"}
    chunks = tuple(size.get(a, c[0]) for a, c in zip(image.axes, x.chunks))
    return image, _layout.Rechunked(stored_level(image), chunks)


def _store_chunk(image):
    """The output's chunk size on Y and X: the input store's."""
    return max(image.array.chunks[image.axes.index(a)][0] for a in "YX")


def _run(store, quiet, client):
    """Compute the writes with a progress bar on local threads."""
    if client is not None or quiet:
        return store()
    from dask.diagnostics import ProgressBar
    with ProgressBar(out=sys.stderr):
        return store()


def _to_type(probs, dtype, model):
    import numpy as np

    if dtype == "float32":
        return probs
    top = 255 if dtype == "uint8" else 65535
    probability = model.config.get("final_activation") in ("sigmoid", "softmax")
    scaled = probs * top if probability else probs
    return scaled.map_blocks(lambda b: np.clip(np.rint(b), 0, top).astype(dtype), dtype=dtype)


def predict_main(args):
    from . import _predict, _workers
    from ._zarr import write_ome_zarr

    client = _client(args)
    dask_config = {"num_workers": args.workers} if args.workers else {}
    import dask
    with dask.config.set(dask_config):
        model = _workers.as_model(args.model)
        image, x = _source(args, model)
        start = time.time()
        probs = _predict.predict(model, x, axes=image.axes, precise=args.precise,
                                 tile=args.tile, batch=args.batch, threads=args.threads,
                                 border=args.border, normalize=args.normalize)
        axes = image.axes if "C" in image.axes else "C" + image.axes
        out = _to_type(probs, args.type, model)
        chunk = args.chunk or _store_chunk(image)
        _run(lambda: write_ome_zarr(out, args.output, axes, scale=image.scale, chunk=chunk,
                                    name="prediction", inputs=[args.input]), args.quiet, client)
    print("wrote %s: %s %s, axes %s, in %.1f s" % (args.output, args.type, out.shape,
                                                  axes.lower(), time.time() - start))
    return 0


def segment_main(args):
    from . import _segment, _workers
    from ._zarr import write_ome_zarr_labels

    client = _client(args)
    import dask
    with dask.config.set({"num_workers": args.workers} if args.workers else {}):
        model = _workers.as_model(args.model)
        image, x = _source(args, model)
        if set(image.axes) - set("CYX"):
            raise ValueError("segment takes 2-D images (axes c, y, x); %s has %s"
                             % (args.input, image.axes.lower()))
        start = time.time()
        plan = _segment.plan(model, x, image.axes, args.largest, None, args.threshold,
                             args.min_distance, args.min_size,
                             False if args.no_split else None, args.precise, args.tile,
                             args.batch, args.threads, args.border, args.normalize, None)
        chunk = args.chunk or _store_chunk(image)
        # Probabilities and provisional ids wait in a scratch store beside the output, not in
        # memory (see _segment).
        out = os.path.abspath(args.output)
        scratch = os.path.join(os.path.dirname(out), ".%s.scratch-%d" % (os.path.basename(out),
                                                                        os.getpid()))
        _run(lambda: _segment.segment_to_store(
            plan, scratch,
            lambda labels: write_ome_zarr_labels(labels, args.output, "YX", scale=image.scale,
                                                 chunk=chunk, name=args.name, source=args.input,
                                                 inputs=[args.input])), args.quiet, client)
        import dask.array as da
        count = int(da.from_zarr(os.path.join(args.output, "labels", args.name, "0")).max()
                    .compute())
    print("wrote %s/labels/%s: %d objects, in %.1f s" % (args.output, args.name, count,
                                                         time.time() - start))
    return 0
