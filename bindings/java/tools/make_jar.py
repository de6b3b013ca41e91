#!/usr/bin/env python3
"""Compile Java sources for Java 8 and pack them into a jar with resources (native
libraries, plugins.config), or only generate the JNI header of a class (--header).

meson calls this from custom targets; it is not meant to be run by hand."""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

SHT_DYNAMIC, DT_NULL, DT_RPATH, DT_RUNPATH = 6, 0, 15, 29


def set_runpath(path, value):
    """Overwrite the run path of a 64-bit little-endian ELF file in place with `value`, no
    longer than the path there, padded with NULs (as installing does): a library built for
    the build tree carries build-tree paths that must not travel in the jar."""
    with open(path, "r+b") as f:
        elf = bytearray(f.read())
        if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)
                    for i in range(shnum)]
        done = False
        for sh in sections:
            if sh[1] != SHT_DYNAMIC:
                continue
            strtab_offset = sections[sh[6]][4]  # sh_link: the dynamic string table
            for k in range(sh[5] // 16):
                tag, val = struct.unpack_from("<qQ", elf, sh[4] + 16 * k)
                if tag == DT_NULL:
                    break
                if tag in (DT_RPATH, DT_RUNPATH):
                    start = strtab_offset + val
                    end = elf.index(b"\0", start)
                    new = value.encode()
                    if len(new) > end - start:
                        sys.exit(f"{path}: run path {value!r} is longer than the one there")
                    elf[start:end] = new + b"\0" * (end - start - len(new))
                    done = True
        if not done:
            sys.exit(f"{path}: no run path to replace")
        f.seek(0)
        f.write(elf)


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
    ap.add_argument("--runpath", action="append", default=[],
                    help="ENTRY=PATH: set that resource's ELF run path (e.g. $ORIGIN)")
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
        for spec in a.runpath:
            entry, _, value = spec.partition("=")
            set_runpath(os.path.join(classes, entry), value)
        partial = a.output + ".part"
        subprocess.run([a.jar, "--create", "--file", partial, "-C", classes, "."], check=True)
        os.replace(partial, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
