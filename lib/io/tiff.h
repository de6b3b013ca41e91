/*
 * TIFF images through libtiff 4.5: a region reader (any rectangle of any page, decoding only
 * the strips or tiles it touches) and a streaming strip writer.
 *
 * Every libtiff handle gets its own error and warning handlers (TIFFOpenExt options), which
 * capture libtiff's message into the handle; nothing is printed and no global libtiff state is
 * touched. Failures return UNET_E_* with a message for unet_last_error() that names the file
 * and the offending value. Readers and writers are not thread-safe: one thread per handle.
 *
 * Pixels cross this interface planar per channel: a region of C channels, h rows and w columns
 * is a contiguous (C, h, w) array of the image's element type, whatever the file's layout.
 */
#ifndef UNET_IO_TIFF_H
#define UNET_IO_TIFF_H

#include "unet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct unet__tiff_reader unet__tiff_reader;

typedef struct unet__tiff_info {
    int64_t width, height;    /* pixels, 1 .. INT32_MAX */
    int64_t pages;            /* images of the stack (Z or T planes); reduced-resolution
                                 subfiles (thumbnails) after the first page are skipped */
    int channels;             /* samples per pixel, extra samples (alpha) included */
    unet_dtype_t dtype;       /* element type of read_region's output; int32 files read as
                                 UNET_F64 (exact), see file_bits / file_sample_format */
    int file_bits;            /* BitsPerSample as stored */
    int file_sample_format;   /* SampleFormat as stored (1 uint, 2 int, 3 float) */
    /* Layout of the first page (later pages may differ in layout, never in size or type). */
    bool planar_separate;     /* PlanarConfiguration 2: one plane per channel */
    bool tiled;
    int64_t chunk_width, chunk_height; /* tile size, or width x RowsPerStrip */
    int compression;          /* libtiff COMPRESSION_* code */
    bool bigtiff;
    /* Resolution of the first page, when the file has XResolution and YResolution. */
    bool has_resolution;
    double x_resolution, y_resolution; /* pixels per unit */
    int resolution_unit;      /* 1 none, 2 inch (the TIFF default), 3 centimetre */
} unet__tiff_info;

/* Open a TIFF file and validate every page: equal size, channels and element type; 8/16/32
 * bit unsigned, 16/32-bit signed, 32/64-bit float; grey, RGB or separated (CMYK-like)
 * photometric; a compression this libtiff decodes. Refused with UNET_E_UNSUPPORTED: palette,
 * YCbCr and other colour models, bit depths other than 8/16/32/64, int8, float16, int64,
 * complex, pages that differ. UNET_E_IO when the file cannot be opened, UNET_E_FORMAT when it
 * is not a valid TIFF. */
int unet__tiff_open(const char *path, unet__tiff_reader **out);
/* The same on a TIFF held in memory; `data` must outlive the reader (it is not copied). `name`
 * appears in messages (NULL gives "memory"). */
int unet__tiff_open_memory(const void *data, size_t size, const char *name,
                           unet__tiff_reader **out);
void unet__tiff_close(unet__tiff_reader *r); /* NULL-safe */

const unet__tiff_info *unet__tiff_reader_info(const unet__tiff_reader *r);

/* Read rows y0 .. y0+h-1, columns x0 .. x0+w-1 of `page` into `dst`, a contiguous (channels,
 * h, w) array of info.dtype. h or w 0 reads nothing. UNET_E_INVALID_ARG for a page or
 * rectangle outside the image; UNET_E_FORMAT when a strip or tile cannot be decoded, or
 * UNET_E_NOMEM (dst is then partly written). Decoded strips/tiles are cached (least recently
 * used out first, within a byte budget, never fewer than one row of chunks up to 1 GiB), so
 * reading row by row decodes each chunk once. Pixels libtiff leaves undecoded in a damaged
 * chunk read as 0. */
int unet__tiff_read_region(unet__tiff_reader *r, int64_t page, int64_t y0, int64_t x0,
                           int64_t h, int64_t w, void *dst);

/* The same region converted to float (contiguous (channels, h, w)): read in the file's
 * element type into *scratch (an aligned buffer of *scratch_bytes, grown as needed; the caller
 * frees it with unet__free_aligned), then converted with unet__dtype_to_float. */
int unet__tiff_read_region_float(unet__tiff_reader *r, int64_t page, int64_t y0, int64_t x0,
                                 int64_t h, int64_t w, void **scratch, size_t *scratch_bytes,
                                 float *dst);

/* Budget for cached decoded chunks (default 64 MiB); the cache keeps at least one row of
 * chunks regardless. Shrinking it drops cached chunks. */
void unet__tiff_set_cache_bytes(unet__tiff_reader *r, size_t bytes);
/* Threads that decode the chunks of a region at once (plain deflate, with libdeflate; 1, the
 * default: libtiff decodes them one by one as the region's rows need them). */
void unet__tiff_set_threads(unet__tiff_reader *r, int threads);
/* How many strips/tiles this reader has decoded so far (cache misses). */
uint64_t unet__tiff_decoded_chunks(const unet__tiff_reader *r);

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct unet__tiff_writer unet__tiff_writer;

typedef struct unet__tiff_write_opts {
    bool deflate;            /* deflate compression (libtiff's default level, no predictor) */
    bool force_bigtiff;      /* BigTIFF even when the image would fit a classic TIFF */
    int64_t rows_per_strip;  /* 0: 64 rows, fewer when a row is very wide (strips <= 16 MiB) */
    /* Resolution tags, written when both are > 0. resolution_unit: 1 none, 2 inch, 3 cm. */
    double x_resolution, y_resolution;
    int resolution_unit;
    /* ImageDescription of every page (ASCII, copied at open); NULL: none. */
    const char *description;
    /* Threads that compress strips (deflate; 0: the CPUs this process may use). */
    int threads;
} unet__tiff_write_opts;

/* Start a new file for `path` (written beside it and renamed into place by a successful close;
 * an existing file is untouched until then) of `pages` pages of width x height pixels with `channels` samples
 * of `dtype` (any unet_dtype_t; SampleFormat uint, int or float accordingly). Channels are
 * stored chunky (interleaved, PlanarConfiguration 1, the layout every reader supports) with
 * Photometric MinIsBlack and unspecified ExtraSamples beyond the first. BigTIFF is chosen when
 * the uncompressed pixel data and tags could pass 4 GiB less a margin, or when forced. `opts`
 * NULL means defaults (uncompressed, no resolution). */
int unet__tiff_writer_open(const char *path, int64_t width, int64_t height, int64_t pages,
                           int channels, unet_dtype_t dtype, const unet__tiff_write_opts *opts,
                           unet__tiff_writer **out);
/* Append rows y0 .. y0+h-1 of `page` from `src`, a contiguous (channels, h, width) array of the
 * writer's dtype. Rows must arrive in order, page after page, in chunks of any height: (page,
 * y0) must be exactly where the previous call ended. Only one strip is ever buffered. After any
 * failure the writer refuses further rows. */
int unet__tiff_write_rows(unet__tiff_writer *w, int64_t page, int64_t y0, int64_t h,
                          const void *src);
/* Whether this writer produces a BigTIFF. */
bool unet__tiff_writer_is_bigtiff(const unet__tiff_writer *w);
/* Finish the file, rename it onto the path, and free the writer (NULL-safe: returns UNET_OK).
 * Returns the first error that occurred, including flush/close errors, or UNET_E_INVALID_ARG if
 * rows are missing; the writer is freed in every case, and on failure no file is left (an
 * existing file of that name is untouched). */
int unet__tiff_writer_close(unet__tiff_writer *w);
/* Abandon the file: close and remove the temporary file, free the writer (for cancellation);
 * an existing file of that name is untouched. NULL-safe. */
void unet__tiff_writer_discard(unet__tiff_writer *w);

/* ---- whole images and the public flags (tiff_whole.c) ------------------------------------- */

/* flags as the public TIFF calls take them (UNET_TIFF_DEFLATE | UNET_TIFF_BIGTIFF), or
 * UNET_E_INVALID_ARG naming the unknown bits. */
int unet__tiff_check_flags(unsigned flags);
/* Write options from those flags, with the resolution of `like` when it has one (NULL: no
 * resolution); the rest defaults. */
void unet__tiff_write_opts_init(unet__tiff_write_opts *wo, unsigned flags,
                                const unet__tiff_info *like);
/* The first page of `path` as float32 (channels, height, width) into *data (malloc: the
 * caller frees it) and shape, after checking its pixels against max_pixels (0: the
 * whole-image default) and both copies against the memory budget. */
int unet__tiff_read_whole(const char *path, int64_t max_pixels, float **data, int64_t shape[3]);
/* One page of (channels, height, width) of dtype into a new file at path. */
int unet__tiff_write_whole(const char *path, const void *data, unet_dtype_t dtype,
                           int64_t channels, int64_t height, int64_t width,
                           const unet__tiff_write_opts *wo);

#endif
