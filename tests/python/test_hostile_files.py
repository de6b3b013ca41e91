"""Any file under 1 MB costs under 256 MB and under 2 s to open, inspect or refuse.

Hostile model and TIFF files are generated here; each is opened in a child process of its own
(plain ctypes on libunet, so the binding's own state does not count) that reports its own peak
resident size (VmHWM); the parent measures the wall time."""

import json
import os
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

LIB = os.environ["UNET_LIBRARY"]
MAX_RSS_MB = 256
MAX_SECONDS = 2.0

# The child: load a model, read a TIFF's info or its whole first page; print the status, exit.
CHILD = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
kind, path = sys.argv[2], sys.argv[3].encode()
if kind == "model":
    out = ctypes.c_void_p()
    rc = lib.unet_model_load(path, ctypes.byref(out))
    if rc == 0:
        lib.unet_model_free(out)
elif kind == "read":  # the whole-image read of the CLI's --overlay / --measure
    data, shape = ctypes.c_void_p(), (ctypes.c_int64 * 3)()
    rc = lib.unet_tiff_read(path, ctypes.byref(data), shape)
    lib.unet_buffer_free(data)
else:
    v = [ctypes.c_int64() for _ in range(4)]
    dt = ctypes.c_int()
    rc = lib.unet_tiff_info(path, *[ctypes.byref(x) for x in v], ctypes.byref(dt))
lib.unet_last_error.restype = ctypes.c_char_p
message = lib.unet_last_error().decode(errors="replace")
# This process's own peak (VmHWM starts afresh at exec; the parent's rusage of a child can
# count the parent's pages from before the exec).
peak_kb = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(rc, peak_kb, message)
"""


def measure(kind, path):
    """(status, message, seconds, peak RSS in MiB) of opening `path` in a fresh process."""
    start = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", CHILD, LIB, kind, str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    seconds = time.monotonic() - start
    assert p.returncode == 0, (path, p.returncode, err)
    rc, peak_kb, message = (out.strip().split(" ", 2) + [""])[:3]
    return int(rc), message, seconds, int(peak_kb) / 1024


def safetensors(metadata, tensors=b"", header_extra=None):
    header = {"__metadata__": {"libunet": json.dumps(metadata)}}
    header.update(header_extra or {})
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + tensors


def model_files(tmp_path):
    crc = "%08x" % zlib.crc32(b"")
    files = {
        "claims 2e9 weights": safetensors({"format_version": 1, "crc32": crc,
                                           "architecture": {"depth": 2,
                                                            "base_features": 4500}}),
        "claims 2^34 weights": safetensors({"format_version": 1, "crc32": crc,
                                            "architecture": {"depth": 5,
                                                             "base_features": 4096}}),
        "halo 12000": safetensors({"format_version": 1, "crc32": crc, "halo": 12000,
                                   "architecture": {"depth": 2, "base_features": 4}}),
        "header length 2^62": struct.pack("<Q", 1 << 62) + b"{}",
        "text file": b"this is not a model\n" * 10,
        "deep JSON": struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000,
        "many tensors": safetensors({"format_version": 1, "crc32": crc,
                                     "architecture": {"depth": 1}},
                                    header_extra={"t%d" % i: {"dtype": "F32", "shape": [0],
                                                              "data_offsets": [0, 0]}
                                                  for i in range(15000)}),
    }
    for name, data in files.items():
        assert len(data) < 1 << 20, name
        path = tmp_path / (name.replace(" ", "_").replace("^", "") + ".unet")
        path.write_bytes(data)
        yield name, path


def tiff_files(tmp_path):
    # 16384^2 uint16 of zeros, deflate in 1024-px tiles: 512 MB of pixels in ~0.5 MB.
    big = tmp_path / "deflate_16k.tif"
    tile = np.zeros((1024, 1024), np.uint16)
    tifffile.imwrite(big, (tile for _ in range(256)), shape=(16384, 16384), dtype=np.uint16,
                     tile=(1024, 1024), compression="zlib")
    yield "16384^2 deflate", big
    # 300 x 300 one-pixel tiles written by hand (libtiff writes no tiles below 16 px).
    yield "one-pixel tiles", write_pixel_tiles(tmp_path / "pixel_tiles.tif", 300, 300)
    # A header claiming 2^31 x 2^31 pixels in one strip.
    claim = tmp_path / "claims_2_62.tif"
    claim.write_bytes(classic_tiff(0x80000000, 0x80000000, rows=0x80000000, data=b"\0" * 16))
    yield "claims 2^62 pixels", claim


def shared_tile_tiff(path, side, tile=1024, size=1_000_000):
    """An 8-bit deflate TIFF of side x side zeros in ~1 MB: every tile entry points at one
    compressed tile, and the file is padded to what deflate's 1032:1 bound says it must hold
    (so the reader's plausibility check passes: only a pixel limit can refuse it)."""
    blob = zlib.compress(bytes(tile * tile), 9)
    n = (side // tile) ** 2
    entries = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 8),
               (262, 3, 1, 1), (277, 3, 1, 1), (322, 3, 1, tile), (323, 3, 1, tile),
               (324, 4, n, None), (325, 4, n, None)]
    ifd_end = 8 + 2 + 12 * len(entries) + 4
    offsets, counts, data = ifd_end, ifd_end + 4 * n, ifd_end + 8 * n
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = offsets if tag == 324 else counts if tag == 325 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0)
    out += struct.pack("<%dI" % n, *([data] * n)) + struct.pack("<%dI" % n, *([len(blob)] * n))
    out += blob
    out += bytes(size - len(out))
    assert len(out) < 1 << 20
    path.write_bytes(bytes(out))
    return path


def classic_tiff(width, height, rows, data):
    """A one-strip 8-bit grey classic TIFF with the given claims."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, rows),
               (279, 4, 1, len(data))]
    data_at = 8 + 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HI", value, 0)[:4] if typ == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    return bytes(out + struct.pack("<I", 0) + data)


def write_pixel_tiles(path, width, height):
    n = width * height
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (277, 3, 1, 1), (322, 4, 1, 1), (323, 4, 1, 1),
               (324, 4, n, None), (325, 4, n, None)]
    ifd_end = 8 + 2 + 12 * len(entries) + 4
    offsets, counts, data = ifd_end, ifd_end + 4 * n, ifd_end + 8 * n
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = offsets if tag == 324 else counts if tag == 325 else value
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0)
    out += np.arange(data, data + n, dtype="<u4").tobytes()
    out += np.ones(n, "<u4").tobytes()
    out += (np.arange(n) % 251).astype(np.uint8).tobytes()
    assert len(out) < 1 << 20
    path.write_bytes(bytes(out))
    return path


def test_hostile_models_cost_nothing(tmp_path):
    for name, path in model_files(tmp_path):
        rc, message, seconds, rss = measure("model", path)
        print(f"model {name}: rc {rc} in {seconds:.2f} s, peak {rss:.0f} MiB: {message}")
        assert rc != 0 and message, name
        if name == "text file":
            assert "not a libunet model file" in message
        assert seconds < MAX_SECONDS, (name, seconds)
        assert rss < MAX_RSS_MB, (name, rss)


def test_hostile_tiffs_cost_nothing(tmp_path):
    for name, path in tiff_files(tmp_path):
        assert path.stat().st_size < 1 << 20, name
        rc, message, seconds, rss = measure("tiff", path)
        print(f"tiff {name}: rc {rc} in {seconds:.2f} s, peak {rss:.0f} MiB: {message}")
        assert seconds < MAX_SECONDS, (name, seconds)
        assert rss < MAX_RSS_MB, (name, rss)


def test_whole_image_read_over_max_pixels(tmp_path):
    """32768^2 pixels in a 1 MB file through the whole-image read (the CLI's --overlay and
    --measure path): refused by max_pixels before a pixel is decoded (it took 34 s and 5.2 GB
    from a 34 KB zstd file)."""
    path = shared_tile_tiff(tmp_path / "shared_32768.tif", 32768)
    rc, message, seconds, rss = measure("tiff", path)
    assert rc == 0, message  # its header is plausible: only the pixel limit can refuse it
    rc, message, seconds, rss = measure("read", path)
    print(f"read 32768^2 in {path.stat().st_size} bytes: rc {rc} in {seconds:.2f} s, "
          f"peak {rss:.0f} MiB: {message}")
    assert rc != 0 and "more than max_pixels (268435456)" in message
    assert seconds < MAX_SECONDS and rss < MAX_RSS_MB


@pytest.mark.skipif(not os.environ.get("UNET_CLI"), reason="the unet program is not built")
def test_cli_overlay_over_max_pixels(tmp_path):
    """The same file through `unet segment --overlay/--measure`: refused at once, naming
    --max-pixels, nothing written; a labels-only run would stream it instead."""
    path = shared_tile_tiff(tmp_path / "in.tif", 32768)
    start = time.monotonic()
    r = subprocess.run([os.environ["UNET_CLI"], "segment", str(path), "-o",
                        str(tmp_path / "labels.tif"), "--overlay", str(tmp_path / "o.png"),
                        "--measure", str(tmp_path / "m.csv"), "--quiet"],
                       capture_output=True, text=True, timeout=60)
    seconds = time.monotonic() - start
    print(f"unet segment --overlay on 32768^2: rc {r.returncode} in {seconds:.2f} s: "
          f"{r.stderr.strip()}")
    assert r.returncode == 1 and "max_pixels (268435456)" in r.stderr
    assert "--max-pixels" in r.stderr
    assert seconds < MAX_SECONDS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]
    # A limit the caller sets is the one used, both ways.
    r = subprocess.run([os.environ["UNET_CLI"], "segment", str(path), "-o",
                        str(tmp_path / "labels.tif"), "--overlay", str(tmp_path / "o.png"),
                        "--max-pixels", "1000", "--quiet"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "max_pixels (1000)" in r.stderr
