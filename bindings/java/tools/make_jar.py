#!/usr/bin/env python3
"""Compile Java sources for Java 8 and pack them into a jar with resources (native
libraries, plugins.config), or only generate the JNI header of a class (--header).

meson calls this from custom targets; it is not meant to be run by hand."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--javac", required=True)
    ap.add_argument("--jar", help="the jar tool (needed unless --header)")
    ap.add_argument("--classpath", default="")
    ap.add_argument("--release", default="8")
    ap.add_argument("--header", help="write the JNI header javac -h makes for this class, "
                    "e.g. org_libunet_Native.h, to -o instead of a jar")
    ap.add_argument("--resource", action="append", default=[],
                    help="ENTRY=PATH: copy PATH into the jar as ENTRY")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("sources", nargs="+")
    a = ap.parse_args()

    out_dir = os.path.dirname(os.path.abspath(a.output))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".jar-") as tmp:
        classes = os.path.join(tmp, "classes")
        headers = os.path.join(tmp, "headers")
        cmd = [a.javac, "--release", a.release, "-encoding", "UTF-8", "-Xlint:all,-options",
               "-d", classes]
        if a.classpath:
            cmd += ["-classpath", a.classpath]
        if a.header:
            cmd += ["-h", headers]
        subprocess.run(cmd + a.sources, check=True)
        if a.header:
            shutil.copyfile(os.path.join(headers, a.header), a.output)
            return 0
        for spec in a.resource:
            entry, _, path = spec.partition("=")
            if not entry or not path:
                sys.exit(f"--resource {spec!r}: expected ENTRY=PATH")
            dest = os.path.join(classes, entry)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(path, dest)  # the real file, not a symbolic link
        partial = a.output + ".part"
        subprocess.run([a.jar, "--create", "--file", partial, "-C", classes, "."], check=True)
        os.replace(partial, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
