"""python3 -m unet import SRC -o OUT.unet [--config CFG.json]
python3 -m unet predict|segment IN.zarr -o OUT.zarr [options]

import: SRC is a bioimage.io rdf YAML (ONNX weights) or a state dict in the reference naming
(.safetensors, .pt, .pth) given with --config. predict, segment: OME-Zarr stores through
unet.dask (needs the extra: pip install 'libunet[dask]')."""

import argparse
import json
import sys

from . import UnetError
from .importer import ImportError_, import_bioimageio, import_state_dict


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m unet", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="convert a bioimage.io model or a state dict")
    imp.add_argument("source")
    imp.add_argument("-o", "--output", required=True)
    imp.add_argument("--config", help="JSON config file (for state dicts)")
    _add_zarr_commands(sub)
    args = ap.parse_args(argv)
    if args.command != "import":
        try:
            return args.run(args)
        except (UnetError, OSError, ValueError, ImportError) as e:
            print("unet %s: %s" % (args.command, e), file=sys.stderr)
            return 1
    try:
        if args.source.endswith((".yaml", ".yml")):
            model = import_bioimageio(args.source, args.output)
        else:
            if not args.config:
                ap.error("a state dict needs --config CFG.json")
            with open(args.config) as f:
                model = import_state_dict(args.source, json.load(f), args.output)
    except (ImportError_, UnetError, OSError, ValueError) as e:
        print("unet import: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s: %s, halo %d px" % (args.output, json.dumps(model.config), model.halo))
    return 0


def _add_zarr_commands(sub):
    """predict and segment of OME-Zarr stores (unet.dask), or commands that say what is
    missing when dask is not installed."""
    try:
        from .dask import _cli
    except ImportError as e:
        missing = e

        def run(_args):
            raise ImportError("OME-Zarr stores: %s" % missing)
        for name in ("predict", "segment"):
            p = sub.add_parser(name, help="%s OME-Zarr stores (needs libunet[dask])" % name)
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(run=run)
        return
    _cli.add_parsers(sub)


if __name__ == "__main__":
    sys.exit(main())
