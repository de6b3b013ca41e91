"""Fail on an #include that reaches up the library's layer order (README, "Layout").

core <- (sample, kernels, io) <- graph <- model <- (predict, post) <- segment <- (click, train) <- api

A file in lib/<layer>/ may include headers of its own layer and of layers below it, never of
a layer above it nor of a sibling in the same rank (sample, kernels and io; predict and post; click
and train know nothing of each other). Every `#include "..."` line under lib/ is read;
"unet.h" (the public header) is allowed everywhere.

api/ holds the exported entry points only, so an exported definition (a line starting with
UNET_API, or a macro that writes one) anywhere else is a violation too. Prints each violation
and exits 1, or prints a one-line summary and exits 0.
"""
import os
import re
import sys

RANK = {"core": 0, "sample": 1, "kernels": 1, "io": 1, "graph": 2, "model": 3, "predict": 4, "post": 4,
        "segment": 5, "click": 6, "train": 6, "api": 7}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
EXPORT = re.compile(r'^\s*UNET_API\b')


def layer_of(path, lib):
    parts = os.path.relpath(path, lib).split(os.sep)
    return parts[0] if len(parts) > 1 else None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    lib = os.path.join(os.path.abspath(root), "lib")
    bad, lines, exports = [], 0, 0
    for dirpath, _, names in os.walk(lib):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            here = layer_of(path, lib)
            if here not in RANK:
                bad.append("%s: not in a known layer folder" % os.path.relpath(path, root))
                continue
            with open(path, encoding="utf-8") as f:
                for number, text in enumerate(f, 1):
                    if EXPORT.match(text):
                        exports += 1
                        if here != "api":
                            bad.append("%s:%d: an exported definition (UNET_API) outside lib/api/"
                                       % (os.path.relpath(path, root), number))
                    m = INCLUDE.match(text)
                    if not m:
                        continue
                    lines += 1
                    target = m.group(1)
                    if target == "unet.h":
                        continue
                    # "folder/x.h" from lib/, or "x.h" beside the including file
                    there = target.split("/")[0] if "/" in target else here
                    if there not in RANK:
                        bad.append("%s:%d: includes \"%s\", outside the layers"
                                   % (os.path.relpath(path, root), number, target))
                    elif there != here and RANK[there] >= RANK[here]:
                        bad.append("%s:%d: %s includes \"%s\" of layer %s (%s)"
                                   % (os.path.relpath(path, root), number, here, target, there,
                                      "above it" if RANK[there] > RANK[here] else "a sibling"))
    for b in bad:
        print(b)
    print("%d include lines and %d exported definitions checked, %d violations"
          % (lines, exports, len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
