#!/usr/bin/env bash
# The Rust bindings' tests, run by `meson test` against the freshly built libunet:
#   cargo test (unet-sys's header check, the unet crate's tests), cargo doc with warnings as
#   errors, and the segment example on the real nuclei image.
# Environment (set by tests/rust/meson.build): UNET_LIB_DIR (folder of libunet.so),
# CARGO_TARGET_DIR (inside the meson build folder), UNET_SHARED_DATA (../shared/data), UNET_CLI
# (the `unet` program: its object count on the same image must equal the example's).
# Without cargo the test is skipped (exit 77, shown as SKIP), except under CI=true, where a
# missing cargo is a failure.
set -euo pipefail
src=${1:?usage: run_cargo.sh SOURCE_ROOT}

# rustup's cargo finds its toolchains from HOME; a test environment may lack it or PATH to it.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
cargo=$(command -v cargo || true)
if [ -z "$cargo" ] && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    cargo="${CARGO_HOME:-$HOME/.cargo}/bin/cargo"
fi
if [ -z "$cargo" ]; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: cargo not found (CI=true requires the Rust tests to run)" >&2
        exit 1
    fi
    echo "SKIP: cargo not found; the Rust bindings were not tested (install Rust with rustup)"
    exit 77
fi
export PATH="$(dirname "$cargo"):$PATH"

cd "$src/bindings/rust"
echo "== cargo test (libunet from $UNET_LIB_DIR)"
"$cargo" test --locked --workspace --no-fail-fast

echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" "$cargo" doc --locked --workspace --no-deps

echo "== cargo run --example segment"
image="$UNET_SHARED_DATA/nuclei2d/img2d.tif"
labels="$CARGO_TARGET_DIR/img2d_labels.tif"
rm -f "$labels"
output=$("$cargo" run --locked --quiet --example segment -- "$image" "$labels")
echo "$output"
if ! [[ "$output" =~ ^([0-9]+)\ objects$ ]] || [ "${BASH_REMATCH[1]}" -lt 10 ]; then
    echo "FAIL: expected 'N objects' with N >= 10 for $image" >&2
    exit 1
fi
cli_output=$("$UNET_CLI" segment "$image" -o "$CARGO_TARGET_DIR/img2d_cli_labels.tif")
echo "unet segment: $cli_output"
cli_count="${cli_output##*: }"
cli_count="${cli_count%% (scale *}" # the CLI adds the scale it used
if [ "$cli_count" != "$output" ]; then
    echo "FAIL: the Rust example found '$output', the C CLI '$cli_count'" >&2
    exit 1
fi
if ! [ -s "$labels" ]; then
    echo "FAIL: the example wrote no labels to $labels" >&2
    exit 1
fi
# A missing input is an error message and a non-zero exit, not a panic.
if "$cargo" run --locked --quiet --example segment -- /nonexistent.tif 2>"$CARGO_TARGET_DIR/err.txt"; then
    echo "FAIL: the example succeeded on a missing file" >&2
    exit 1
fi
if grep -q panicked "$CARGO_TARGET_DIR/err.txt"; then
    echo "FAIL: the example panicked on a missing file" >&2
    exit 1
fi
echo "rust: all checks passed"
