"""Where libunet.so is. In order: $UNET_LIBRARY (an explicit choice, never second-guessed), the
copy installed inside this package (`pip install .`), then the build folder of the checkout this
package sits in (developers running from bindings/python)."""

import glob
import os

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(_PKG_DIR)))


def candidates():
    """Paths to try, best first."""
    env = os.environ.get("UNET_LIBRARY")
    if env:
        return [env]
    # meson installs the real file (libunet.so.MAJOR.MINOR.PATCH) and, outside wheels, symlinks
    # to it; the shortest name is the one a meson install would have linked against.
    found = sorted(glob.glob(os.path.join(_PKG_DIR, "libunet.so*")), key=len)
    if os.path.isfile(os.path.join(_CHECKOUT, "include", "unet.h")):
        found.append(os.path.join(_CHECKOUT, "build", "lib", "libunet.so"))
    return found or [os.path.join(_PKG_DIR, "libunet.so")]


HINT = ("install the package with `pip install .` at the root of the libunet checkout, build "
        "it there with `meson setup build && meson compile -C build`, or set UNET_LIBRARY to "
        "the path of libunet.so")
