#!/usr/bin/env bash
# The ABI check of libunet (libabigail, Debian package abigail-tools).
#
#   tools/abi_check.sh [BUILD_DIR]            compare BUILD_DIR's libunet.so with the baseline
#   tools/abi_check.sh --update [BUILD_DIR]   write the baseline from BUILD_DIR's libunet.so
#
# BUILD_DIR (default: build) must be a build with debug info (meson's default debugoptimized
# build type). The baseline is abi/libunet.so.MAJOR.abi, an `abidw` dump of the public types and
# exported functions (include/unet.h) of the first release of that major version.
#
# The check runs `abidiff --no-added-syms BASELINE NEW`: added functions pass; a changed
# function or type (abidiff exit 4) or a removed one (12) fails, unless UNET_VERSION_MAJOR in
# include/unet.h was bumped past the newest baseline (then the SONAME changes too, and the
# next release records abi/libunet.so.NEW_MAJOR.abi with --update).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
build=${1:-$root/build}
major=$(sed -n 's/^#define UNET_VERSION_MAJOR \([0-9][0-9]*\).*/\1/p' "$root/include/unet.h")
lib="$build/lib/libunet.so.$major"
baseline="$root/abi/libunet.so.$major.abi"
abi_opts=(--headers-dir "$root/include" --drop-private-types --no-corpus-path --no-comp-dir-path
          --no-elf-needed
          --no-show-locs)

for tool in abidw abidiff; do
    if ! command -v "$tool" >/dev/null; then
        echo "abi_check: $tool not found (Debian package abigail-tools)" >&2
        exit 2
    fi
done
if [ ! -e "$lib" ]; then
    echo "abi_check: $lib not found (build the library first)" >&2
    exit 2
fi

if [ "$update" = 1 ]; then
    mkdir -p "$root/abi"
    abidw "${abi_opts[@]}" --out-file "$baseline" "$lib" || exit 2
    echo "abi_check: wrote ${baseline#"$root"/} from $lib"
    exit 0
fi

if [ ! -f "$baseline" ]; then
    newest=$(ls "$root"/abi/libunet.so.*.abi 2>/dev/null | sed 's/.*libunet\.so\.\([0-9]*\)\.abi/\1/' |
             sort -n | tail -n 1)
    if [ -n "$newest" ] && [ "$newest" -lt "$major" ]; then
        echo "abi_check: UNET_VERSION_MAJOR is $major, past the newest baseline" \
             "(abi/libunet.so.$newest.abi): ABI changes are allowed; record the new baseline" \
             "with tools/abi_check.sh --update when $major.0.0 is released"
        exit 0
    fi
    echo "abi_check: no baseline abi/libunet.so.$major.abi" >&2
    exit 2
fi

report=$(abidiff --no-added-syms --headers-dir2 "$root/include" --drop-private-types \
         "$baseline" "$lib" 2>&1)
rc=$?
if [ "$rc" = 0 ]; then
    echo "abi_check: libunet.so.$major is compatible with abi/libunet.so.$major.abi"
    exit 0
fi
echo "$report"
echo "abi_check: libunet.so.$major breaks the ABI of abi/libunet.so.$major.abi (abidiff exit" \
     "$rc: 4 = changed, 8 = incompatible, 12 = removed symbols): restore it, or bump" \
     "UNET_VERSION_MAJOR for a new SONAME" >&2
exit 1
