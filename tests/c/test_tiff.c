/* TIFF reading and writing (lib/io/tiff.c). Test images are written here with libtiff directly,
 * so the reader is checked against an independent writer; the writer is checked by reading
 * back with both the reader and plain libtiff. Malformed files are derived from valid ones.
 * A global libtiff handler counts messages: the library must route every message through its
 * per-handle handlers, so the count must stay at zero across library calls. */
#include "core/status.h"
#include "io/tiff.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "temp_files.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmp_dir[256];
static int global_tiff_messages; /* messages that reached libtiff's global handlers */

static void count_global_message(const char *module, const char *fmt, va_list ap)
{
    (void)module, (void)fmt, (void)ap;
    global_tiff_messages++;
}

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int64_t rnd_below(int64_t n)
{
    return (int64_t)(rnd() % (uint64_t)n);
}

static size_t dtype_bytes(unet_dtype_t t)
{
    switch (t) {
    case UNET_U8: return 1;
    case UNET_U16: case UNET_I16: return 2;
    case UNET_U32: case UNET_F32: return 4;
    case UNET_F64: return 8;
    }
    return 0;
}

/* A failing call must leave a message; returns rc for chaining. */
static int expect_fail(int rc, int want, const char *mention, const char *what)
{
    ck_assert_msg(rc == want, "%s: rc %d (%s), want %d; message '%s'", what, rc,
                  unet_status_string(rc), want, unet_last_error());
    ck_assert_msg(unet_last_error()[0] != '\0', "%s: empty error message", what);
    ck_assert_msg(!mention || strstr(unet_last_error(), mention),
                  "%s: message '%s' does not mention '%s'", what, unet_last_error(), mention);
    return rc;
}

/* ---- test images written with libtiff ----------------------------------------------------- */

typedef struct spec {
    int bits, format;        /* file samples */
    int channels, pages;
    int width, height;
    bool tiled, separate, bigtiff, big_endian;
    int tile, rows_per_strip;
    int compression, predictor;
} spec;

static size_t spec_samples(const spec *s)
{
    return (size_t)s->pages * s->channels * s->height * s->width;
}

static unet_dtype_t spec_dtype(const spec *s)
{
    if (s->format == SAMPLEFORMAT_IEEEFP)
        return s->bits == 32 ? UNET_F32 : UNET_F64;
    if (s->format == SAMPLEFORMAT_INT)
        return s->bits == 16 ? UNET_I16 : UNET_F64; /* int32 is read as float64 */
    return s->bits == 8 ? UNET_U8 : s->bits == 16 ? UNET_U16 : UNET_U32;
}

static void spec_name(const spec *s, char *buf, size_t n)
{
    snprintf(buf, n, "%d-bit fmt %d, %d ch, %d pages, %dx%d, %s, %s, comp %d pred %d%s%s",
             s->bits, s->format, s->channels, s->pages, s->height, s->width,
             s->tiled ? "tiles" : "strips", s->separate ? "planar" : "chunky",
             s->compression, s->predictor, s->bigtiff ? ", BigTIFF" : "",
             s->big_endian ? ", big-endian" : "");
}

/* Random samples (pages, C, H, W) of the file's type, with the extremes and, for floats,
 * specials (signed zero, infinities, NaN, a denormal) in the first few positions. */
static uint8_t *make_samples(const spec *s)
{
    size_t n = spec_samples(s), es = (size_t)s->bits / 8;
    uint8_t *b = malloc(n * es);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = rnd();
        if (s->format == SAMPLEFORMAT_IEEEFP && s->bits == 32) {
            static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f,
                                            3.4e38f, -1.5f};
            float f = i < 8 ? special[i] : (float)((double)(int32_t)v / 1024.0);
            memcpy(b + 4 * i, &f, 4);
        } else if (s->format == SAMPLEFORMAT_IEEEFP) {
            static const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 5e-324,
                                             1.7e308, -1.5};
            double d = i < 8 ? special[i] : (double)(int64_t)v / 3.0;
            memcpy(b + 8 * i, &d, 8);
        } else {
            if (i == 0) v = 0;
            if (i == 1) v = UINT64_MAX; /* all ones: the maximum, or -1 if signed */
            if (i == 2) v = (uint64_t)1 << (s->bits - 1); /* the minimum if signed */
            memcpy(b + es * i, &v, es);
        }
    }
    return b;
}

/* The tags of one page of `s`. */
static void set_spec_tags(TIFF *t, const spec *s)
{
    const int C = s->channels;
    ck_assert(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)s->width));
    ck_assert(TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)s->height));
    ck_assert(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)s->bits));
    ck_assert(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)C));
    ck_assert(TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, (uint16_t)s->format));
    ck_assert(TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                           C == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
    if (C > 1 && C != 3) {
        uint16_t extra[8] = {0};
        ck_assert(TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)(C - 1), extra));
    }
    ck_assert(TIFFSetField(t, TIFFTAG_PLANARCONFIG,
                           s->separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG));
    ck_assert(TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)s->compression));
    if (s->predictor != PREDICTOR_NONE)
        ck_assert(TIFFSetField(t, TIFFTAG_PREDICTOR, (uint16_t)s->predictor));
    if (s->pages > 1)
        ck_assert(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE));
    if (s->tiled) {
        ck_assert(TIFFSetField(t, TIFFTAG_TILEWIDTH, (uint32_t)s->tile));
        ck_assert(TIFFSetField(t, TIFFTAG_TILELENGTH, (uint32_t)s->tile));
    } else {
        ck_assert(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)s->rows_per_strip));
    }
}

/* Write `src` (pages, C, H, W) as a TIFF laid out as `s` says. */
static void write_spec(const char *path, const spec *s, const uint8_t *src)
{
    char mode[8];
    snprintf(mode, sizeof mode, "w%s%s", s->bigtiff ? "8" : "", s->big_endian ? "b" : "l");
    TIFF *t = TIFFOpen(path, mode);
    ck_assert_msg(t != NULL, "TIFFOpen(%s, %s)", path, mode);
    const size_t es = (size_t)s->bits / 8, W = (size_t)s->width, H = (size_t)s->height;
    const int C = s->channels, planes = s->separate ? C : 1, spc = s->separate ? 1 : C;
    const size_t cw = s->tiled ? (size_t)s->tile : W;
    const size_t ch = s->tiled ? (size_t)s->tile : (size_t)s->rows_per_strip;
    for (int p = 0; p < s->pages; p++) {
        set_spec_tags(t, s);
        uint8_t *buf = malloc(cw * ch * (size_t)spc * es);
        ck_assert_ptr_nonnull(buf);
        for (int plane = 0; plane < planes; plane++) {
            for (size_t top = 0; top < H; top += ch) {
                for (size_t left = 0; left < W; left += cw) {
                    size_t rows = s->tiled ? ch : (H - top < ch ? H - top : ch);
                    memset(buf, 0, cw * ch * (size_t)spc * es);
                    for (size_t y = 0; y < rows && top + y < H; y++)
                        for (size_t x = 0; x < cw && left + x < W; x++)
                            for (int k = 0; k < spc; k++) {
                                size_t c = (size_t)(s->separate ? plane : k);
                                const uint8_t *from =
                                    src + ((((size_t)p * C + c) * H + top + y) * W + left + x) * es;
                                memcpy(buf + ((y * cw + x) * (size_t)spc + (size_t)k) * es, from,
                                       es);
                            }
                    tmsize_t bytes = (tmsize_t)(rows * cw * (size_t)spc * es);
                    tmsize_t done =
                        s->tiled ? TIFFWriteEncodedTile(
                                       t, TIFFComputeTile(t, (uint32_t)left, (uint32_t)top, 0,
                                                          (uint16_t)plane),
                                       buf, bytes)
                                 : TIFFWriteEncodedStrip(
                                       t, TIFFComputeStrip(t, (uint32_t)top, (uint16_t)plane),
                                       buf, bytes);
                    ck_assert_int_eq(done, bytes);
                }
            }
        }
        free(buf);
        ck_assert(TIFFWriteDirectory(t));
    }
    TIFFClose(t);
}

/* The expected output (C, h, w) of read_region for a region of page p. */
static void expected_region(const spec *s, const uint8_t *src, int p, int64_t y0, int64_t x0,
                            int64_t h, int64_t w, uint8_t *out)
{
    const size_t es = (size_t)s->bits / 8, os = dtype_bytes(spec_dtype(s));
    const bool widen = s->format == SAMPLEFORMAT_INT && s->bits == 32;
    for (int c = 0; c < s->channels; c++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                const uint8_t *from =
                    src + ((((size_t)p * s->channels + (size_t)c) * (size_t)s->height +
                            (size_t)(y0 + y)) * (size_t)s->width + (size_t)(x0 + x)) * es;
                uint8_t *to = out + (((size_t)c * (size_t)h + (size_t)y) * (size_t)w +
                                     (size_t)x) * os;
                if (widen) {
                    int32_t v;
                    memcpy(&v, from, 4);
                    double d = v;
                    memcpy(to, &d, 8);
                } else {
                    memcpy(to, from, es);
                }
            }
}

static void check_region(unet__tiff_reader *r, const spec *s, const uint8_t *src, int p,
                         int64_t y0, int64_t x0, int64_t h, int64_t w, const char *name)
{
    size_t bytes = (size_t)s->channels * (size_t)h * (size_t)w * dtype_bytes(spec_dtype(s));
    uint8_t *got = malloc(bytes + 1), *want = malloc(bytes + 1);
    ck_assert(got && want);
    memset(got, 0xCD, bytes);
    expected_region(s, src, p, y0, x0, h, w, want);
    int rc = unet__tiff_read_region(r, p, y0, x0, h, w, got);
    ck_assert_msg(rc == UNET_OK, "%s: page %d region %lldx%lld at (%lld, %lld): %s", name, p,
                  (long long)h, (long long)w, (long long)y0, (long long)x0, unet_last_error());
    ck_assert_msg(memcmp(got, want, bytes) == 0,
                  "%s: page %d region %lldx%lld at (%lld, %lld) differs from the source", name,
                  p, (long long)h, (long long)w, (long long)y0, (long long)x0);
    free(got);
    free(want);
}

/* Write s, open it, check the info, then full pages, edge cases and random regions. */
static void roundtrip_spec(const spec *s, int random_regions)
{
    char name[256];
    spec_name(s, name, sizeof name);
    uint8_t *src = make_samples(s);
    const char *path = path_in(tmp_dir, "spec.tif");
    write_spec(path, s, src);

    int before = global_tiff_messages;
    unet__tiff_reader *r = NULL;
    int rc = unet__tiff_open(path, &r);
    ck_assert_msg(rc == UNET_OK, "%s: open: %s", name, unet_last_error());
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    ck_assert_msg(in->width == s->width && in->height == s->height && in->pages == s->pages &&
                      in->channels == s->channels && in->dtype == spec_dtype(s),
                  "%s: info %lldx%lld x%lld pages, %d ch, dtype %d", name,
                  (long long)in->height, (long long)in->width, (long long)in->pages,
                  in->channels, in->dtype);
    ck_assert_msg(in->tiled == s->tiled && in->planar_separate == (s->separate) &&
                      in->compression == s->compression && in->bigtiff == s->bigtiff &&
                      in->file_bits == s->bits && in->file_sample_format == s->format,
                  "%s: layout info differs", name);
    ck_assert_int_eq(in->chunk_width, s->tiled ? s->tile : s->width);
    ck_assert_int_eq(in->chunk_height, s->tiled ? s->tile : s->rows_per_strip);
    for (int p = s->pages - 1; p >= 0; p--) /* backwards: page switching both ways */
        check_region(r, s, src, p, 0, 0, s->height, s->width, name);
    const int H = s->height, W = s->width, last = s->pages - 1;
    check_region(r, s, src, 0, 0, 0, 1, 1, name);
    check_region(r, s, src, last, H - 1, W - 1, 1, 1, name);
    check_region(r, s, src, 0, H / 2, 0, 1, W, name);
    check_region(r, s, src, last, 0, W / 2, H, 1, name);
    for (int i = 0; i < random_regions; i++) {
        int64_t y0 = rnd_below(H), x0 = rnd_below(W);
        int64_t h = 1 + rnd_below(H - y0), w = 1 + rnd_below(W - x0);
        check_region(r, s, src, (int)rnd_below(s->pages), y0, x0, h, w, name);
    }
    /* Again with chunks decoded on three threads (plain deflate), from an empty cache. */
    unet__tiff_set_threads(r, 3);
    unet__tiff_set_cache_bytes(r, (size_t)64 << 20);
    for (int p = 0; p < s->pages; p++)
        check_region(r, s, src, p, 0, 0, s->height, s->width, name);
    check_region(r, s, src, last, H / 3, W / 4, H - H / 3, W / 2, name);
    unet__tiff_close(r);
    ck_assert_int_eq(global_tiff_messages, before);
    unlink(path);
    free(src);
}

static const int sample_types[][2] = {
    {8, SAMPLEFORMAT_UINT},   {16, SAMPLEFORMAT_UINT},   {16, SAMPLEFORMAT_INT},
    {32, SAMPLEFORMAT_UINT},  {32, SAMPLEFORMAT_INT},    {32, SAMPLEFORMAT_IEEEFP},
    {64, SAMPLEFORMAT_IEEEFP},
};
static const int compressions[] = {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE,
                                   COMPRESSION_PACKBITS};

static spec base_spec(int type_index)
{
    spec s = {0};
    s.bits = sample_types[type_index][0];
    s.format = sample_types[type_index][1];
    s.channels = 1;
    s.pages = 1;
    s.height = 37;
    s.width = 53;
    s.tile = 16;
    s.rows_per_strip = 7;
    s.compression = COMPRESSION_NONE;
    s.predictor = PREDICTOR_NONE;
    return s;
}

/* One sample type (the loop index) through every layout: strips and 16x16 tiles on 37x53 (edge
 * tiles partial), every compression, 1 and 3 pages, 1 to 3 channels chunky and planar;
 * predictors on the 3-page LZW and deflate files. */
START_TEST(test_read_matrix)
{
    rng_state = 1000 + (uint64_t)_i;
    int cases = 0;
    for (int tiled = 0; tiled < 2; tiled++)
        for (size_t k = 0; k < sizeof compressions / sizeof *compressions; k++)
            for (int pages = 1; pages <= 3; pages += 2)
                for (int channels = 1; channels <= 3; channels++)
                    for (int separate = 0; separate < (channels > 1 ? 2 : 1); separate++) {
                        spec s = base_spec(_i);
                        s.tiled = tiled;
                        s.compression = compressions[k];
                        s.pages = pages;
                        s.channels = channels;
                        s.separate = separate;
                        if (pages == 3 && (s.compression == COMPRESSION_LZW ||
                                           s.compression == COMPRESSION_ADOBE_DEFLATE))
                            s.predictor = s.format == SAMPLEFORMAT_IEEEFP
                                              ? PREDICTOR_FLOATINGPOINT
                                              : PREDICTOR_HORIZONTAL;
                        roundtrip_spec(&s, 12);
                        cases++;
                    }
    ck_assert_int_eq(cases, 2 * 4 * 2 * 5);
}
END_TEST

/* BigTIFF and big-endian files of every sample type, strips and tiles. */
START_TEST(test_read_bigtiff_and_byte_order)
{
    rng_state = 77;
    for (int t = 0; t < 7; t++)
        for (int variant = 0; variant < 4; variant++) {
            spec s = base_spec(t);
            s.bigtiff = variant & 1;
            s.big_endian = variant & 2;
            s.tiled = variant == 1 || variant == 2;
            s.channels = 2;
            s.separate = variant == 3;
            s.pages = 2;
            s.compression = variant == 0 ? COMPRESSION_NONE : COMPRESSION_ADOBE_DEFLATE;
            /* Big-endian files with the float predictor: see the next test. */
            bool is_float = s.format == SAMPLEFORMAT_IEEEFP;
            if (variant == 1)
                s.predictor = is_float ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL;
            else if (variant == 2 && !is_float)
                s.predictor = PREDICTOR_HORIZONTAL;
            roundtrip_spec(&s, 10);
        }
}
END_TEST

/* Big-endian float files with the floating-point predictor. libtiff 4.5.0 writes them wrongly
 * (its encoder byte-swaps the samples before the predictor: the file does not read back, while
 * an independently encoded one reads correctly). The predictor's output does not depend on the
 * byte order (byte planes, most significant first), so the compressed strips of a correct
 * little-endian file are copied raw into a big-endian file with the same tags. */
START_TEST(test_read_big_endian_float_predictor)
{
    rng_state = 78;
    for (int t = 5; t <= 6; t++) {
        spec s = base_spec(t);
        s.channels = 2;
        s.pages = 2;
        s.compression = COMPRESSION_ADOBE_DEFLATE;
        s.predictor = PREDICTOR_FLOATINGPOINT;
        uint8_t *src = make_samples(&s);
        const char *little = path_in(tmp_dir, "le_fp.tif"), *big = path_in(tmp_dir, "be_fp.tif");
        write_spec(little, &s, src);
        TIFF *in = TIFFOpen(little, "r"), *out = TIFFOpen(big, "wb");
        ck_assert(in && out);
        s.big_endian = true;
        for (int p = 0; p < s.pages; p++) {
            ck_assert(p == 0 || TIFFReadDirectory(in));
            set_spec_tags(out, &s);
            for (uint32_t k = 0; k < TIFFNumberOfStrips(in); k++) {
                uint64_t n = TIFFGetStrileByteCount(in, k);
                uint8_t *raw = malloc(n);
                ck_assert_ptr_nonnull(raw);
                ck_assert_int_eq(TIFFReadRawStrip(in, k, raw, (tmsize_t)n), (tmsize_t)n);
                ck_assert_int_eq(TIFFWriteRawStrip(out, k, raw, (tmsize_t)n), (tmsize_t)n);
                free(raw);
            }
            ck_assert(TIFFWriteDirectory(out));
        }
        TIFFClose(in);
        TIFFClose(out);
        unet__tiff_reader *r = NULL;
        ck_assert_int_eq(unet__tiff_open(big, &r), UNET_OK);
        for (int p = 0; p < 2; p++)
            check_region(r, &s, src, p, 0, 0, s.height, s.width, "big-endian float predictor");
        check_region(r, &s, src, 1, 5, 7, 20, 30, "big-endian float predictor");
        unet__tiff_close(r);
        unlink(little);
        unlink(big);
        free(src);
    }
}
END_TEST

/* Odd geometries: one strip for the whole image, one row per strip, 1x1, tiles larger than the
 * image, a single very wide row. */
START_TEST(test_read_geometries)
{
    rng_state = 5;
    spec s = base_spec(1);
    s.rows_per_strip = 37; /* one strip */
    roundtrip_spec(&s, 20);
    s.rows_per_strip = 1;
    s.compression = COMPRESSION_LZW;
    roundtrip_spec(&s, 20);
    s = base_spec(0);
    s.width = s.height = 1;
    s.rows_per_strip = 1;
    roundtrip_spec(&s, 3);
    s.tiled = true;
    s.tile = 64;
    s.channels = 3;
    roundtrip_spec(&s, 3);
    s = base_spec(5);
    s.tiled = true;
    s.tile = 64;
    s.channels = 2;
    s.separate = true;
    roundtrip_spec(&s, 20); /* one tile per plane, larger than the image */
    s = base_spec(2);
    s.height = 1;
    s.width = 5000;
    s.rows_per_strip = 1;
    s.compression = COMPRESSION_PACKBITS;
    roundtrip_spec(&s, 20);
}
END_TEST

/* Row-by-row reading decodes each strip/tile once (the cache keeps a row of chunks), and a
 * cache of one chunk still gives the right pixels. */
START_TEST(test_cache)
{
    rng_state = 9;
    for (int variant = 0; variant < 4; variant++) {
        spec s = base_spec(1);
        s.tiled = variant & 1;
        s.channels = 3;
        s.separate = variant & 2;
        s.compression = COMPRESSION_ADOBE_DEFLATE;
        uint8_t *src = make_samples(&s);
        const char *path = path_in(tmp_dir, "cache.tif");
        write_spec(path, &s, src);
        unet__tiff_reader *r = NULL;
        ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
        for (int y = 0; y < s.height; y++)
            check_region(r, &s, src, 0, y, 0, 1, s.width, "row by row");
        uint64_t per_plane = s.tiled ? (uint64_t)((37 + 15) / 16) * ((53 + 15) / 16)
                                     : (uint64_t)(37 + 6) / 7;
        uint64_t chunks = per_plane * (s.separate ? 3 : 1);
        ck_assert_msg(unet__tiff_decoded_chunks(r) == chunks,
                      "variant %d: %llu chunks decoded for %llu in the file", variant,
                      (unsigned long long)unet__tiff_decoded_chunks(r),
                      (unsigned long long)chunks);
        /* Reading it all again hits the cache. */
        check_region(r, &s, src, 0, 0, 0, s.height, s.width, "cached");
        ck_assert_uint_eq(unet__tiff_decoded_chunks(r), chunks);
        unet__tiff_set_cache_bytes(r, 1);
        for (int i = 0; i < 40; i++) {
            int64_t y0 = rnd_below(37), x0 = rnd_below(53);
            check_region(r, &s, src, 0, y0, x0, 1 + rnd_below(37 - y0), 1 + rnd_below(53 - x0),
                         "tiny cache");
        }
        ck_assert_uint_gt(unet__tiff_decoded_chunks(r), chunks);
        unet__tiff_close(r);
        unlink(path);
        free(src);
    }
}
END_TEST

/* A classic little-endian 8-bit grey TIFF of 1x1-pixel tiles, written by hand: libtiff
 * refuses to write tiles that are not multiples of 16 but reads them (with a warning). */
static void write_pixel_tiles(const char *path, uint32_t W, uint32_t H, const uint8_t *src)
{
    const uint32_t n = W * H, entries = 11, ifd_end = 8 + 2 + 12 * entries + 4;
    size_t len = (size_t)ifd_end + 8 * (size_t)n + n;
    uint8_t *b = calloc(1, len);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "II\x2a\0\x08\0\0\0", 8);
    uint16_t count = (uint16_t)entries;
    memcpy(b + 8, &count, 2);
    const uint32_t offsets = ifd_end, counts = ifd_end + 4 * n, data = ifd_end + 8 * n;
    const struct { uint16_t tag, type; uint32_t count, value; } e[11] = {
        {256, 4, 1, W}, {257, 4, 1, H}, {258, 3, 1, 8}, {259, 3, 1, 1}, {262, 3, 1, 1},
        {277, 3, 1, 1}, {284, 3, 1, 1}, {322, 4, 1, 1}, {323, 4, 1, 1},
        {324, 4, n, offsets}, {325, 4, n, counts},
    };
    for (uint32_t i = 0; i < entries; i++) {
        uint8_t *at = b + 10 + 12 * i;
        memcpy(at, &e[i].tag, 2);
        memcpy(at + 2, &e[i].type, 2);
        memcpy(at + 4, &e[i].count, 4);
        if (e[i].type == 3) { /* SHORT: left-justified in the value field */
            uint16_t v = (uint16_t)e[i].value;
            memcpy(at + 8, &v, 2);
        } else {
            memcpy(at + 8, &e[i].value, 4);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = data + i, one = 1;
        memcpy(b + offsets + 4 * (size_t)i, &off, 4);
        memcpy(b + counts + 4 * (size_t)i, &one, 4);
    }
    memcpy(b + data, src, n);
    write_whole_file(path, b, len);
    free(b);
}

/* 1000 x 1000 one-pixel tiles (a million chunks): every pixel right, each tile decoded once
 * when read row by row. The chunk cache is hash-indexed: with a linear search this took
 * 30-60 s, beyond the test case's timeout. */
START_TEST(test_tiny_tiles)
{
    rng_state = 21;
    spec s = base_spec(0);
    s.height = s.width = 1000;
    uint8_t *src = make_samples(&s);
    const char *path = path_in(tmp_dir, "tiny_tiles.tif");
    write_pixel_tiles(path, 1000, 1000, src);
    unet__tiff_reader *r = NULL;
    ck_assert_msg(unet__tiff_open(path, &r) == UNET_OK, "%s", unet_last_error());
    ck_assert_int_eq(unet__tiff_reader_info(r)->chunk_width, 1);
    for (int y = 0; y < s.height; y += 100)
        check_region(r, &s, src, 0, y, 0, 100, s.width, "tiny tiles");
    ck_assert_uint_eq(unet__tiff_decoded_chunks(r), 1000000);
    /* Random regions through a cache far smaller than the file. */
    unet__tiff_set_cache_bytes(r, 3000);
    for (int i = 0; i < 200; i++) {
        int64_t y0 = rnd_below(1000), x0 = rnd_below(1000);
        check_region(r, &s, src, 0, y0, x0, 1 + rnd_below(1000 - y0 < 40 ? 1000 - y0 : 40),
                     1 + rnd_below(1000 - x0 < 40 ? 1000 - x0 : 40), "tiny tiles, small cache");
    }
    unet__tiff_close(r);
    unlink(path);
    free(src);
}
END_TEST

/* The IFD entry of `tag` in a classic little-endian TIFF: returns the offset of its value. */
static size_t classic_entry_value(const uint8_t *b, size_t len, uint16_t tag)
{
    uint32_t ifd;
    memcpy(&ifd, b + 4, 4);
    ck_assert_uint_lt((size_t)ifd + 2, len);
    uint16_t n;
    memcpy(&n, b + ifd, 2);
    for (uint16_t i = 0; i < n; i++) {
        const uint8_t *e = b + ifd + 2 + 12 * (size_t)i;
        uint16_t t;
        memcpy(&t, e, 2);
        if (t == tag)
            return (size_t)(e - b) + 8;
    }
    ck_abort_msg("tag %u not found", (unsigned)tag);
    return 0;
}

/* A strip whose StripByteCount is 0 is refused, not decoded from whatever bytes libtiff
 * guesses (it reported success). */
START_TEST(test_zero_byte_count)
{
    rng_state = 23;
    for (int compressed = 0; compressed < 2; compressed++) {
        spec s = base_spec(1);
        s.rows_per_strip = s.height; /* one strip: its count sits inline in the IFD entry */
        s.compression = compressed ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE;
        uint8_t *src = make_samples(&s);
        const char *path = path_in(tmp_dir, "zero_count.tif");
        write_spec(path, &s, src);
        size_t len;
        uint8_t *b = read_whole_file(path, &len);
        size_t at = classic_entry_value(b, len, TIFFTAG_STRIPBYTECOUNTS);
        memset(b + at, 0, 4);
        write_whole_file(path, b, len);
        unet__tiff_reader *r = NULL;
        int rc = unet__tiff_open(path, &r);
        if (rc == UNET_OK) {
            uint8_t *got = malloc((size_t)s.height * s.width * 2);
            ck_assert_ptr_nonnull(got);
            expect_fail(unet__tiff_read_region(r, 0, 0, 0, s.height, s.width, got),
                        UNET_E_FORMAT, "byte count", "zero StripByteCount");
            free(got);
        } else {
            expect_fail(rc, UNET_E_FORMAT, "byte count", "zero StripByteCount at open");
        }
        unet__tiff_close(r);
        unlink(path);
        free(b);
        free(src);
    }
}
END_TEST

/* A FIFO is refused at once: opening it used to block for a writer forever. A missing file
 * is named as missing. */
START_TEST(test_fifo_refused)
{
    const char *path = path_in(tmp_dir, "fifo.tif");
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    unet__tiff_reader *r = NULL;
    expect_fail(unet__tiff_open(path, &r), UNET_E_IO, "not a regular file", "FIFO");
    ck_assert_ptr_null(r);
    unlink(path);
    /* A missing file says so in words (it read as a bare "input/output error"). */
    expect_fail(unet__tiff_open(path_in(tmp_dir, "missing.tif"), &r), UNET_E_IO, "no such file",
                "missing file");
    ck_assert_ptr_null(r);
}
END_TEST

/* Pages in random order on a 40-page stack, then a full read of each. */
START_TEST(test_read_many_pages)
{
    rng_state = 11;
    spec s = base_spec(1);
    s.pages = 40;
    s.height = 9;
    s.width = 11;
    s.compression = COMPRESSION_ADOBE_DEFLATE;
    uint8_t *src = make_samples(&s);
    const char *path = path_in(tmp_dir, "pages.tif");
    write_spec(path, &s, src);
    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    ck_assert_int_eq(unet__tiff_reader_info(r)->pages, 40);
    for (int i = 0; i < 200; i++)
        check_region(r, &s, src, (int)rnd_below(40), rnd_below(9), rnd_below(11), 1, 1, "pages");
    for (int p = 0; p < 40; p++)
        check_region(r, &s, src, p, 0, 0, 9, 11, "pages");
    unet__tiff_close(r);
    unlink(path);
    free(src);
}
END_TEST

/* Invalid arguments to open and read_region. */
START_TEST(test_read_arguments)
{
    rng_state = 3;
    spec s = base_spec(0);
    s.pages = 2;
    uint8_t *src = make_samples(&s);
    const char *path = path_in(tmp_dir, "args.tif");
    write_spec(path, &s, src);
    unet__tiff_reader *r = (unet__tiff_reader *)&s; /* must be reset to NULL on failure */
    expect_fail(unet__tiff_open(NULL, &r), UNET_E_INVALID_ARG, NULL, "NULL path");
    ck_assert_ptr_null(r);
    expect_fail(unet__tiff_open(path, NULL), UNET_E_INVALID_ARG, NULL, "NULL out");
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    uint8_t buf[64 * 64];
    expect_fail(unet__tiff_read_region(NULL, 0, 0, 0, 1, 1, buf), UNET_E_INVALID_ARG, NULL,
                "NULL reader");
    expect_fail(unet__tiff_read_region(r, 2, 0, 0, 1, 1, buf), UNET_E_INVALID_ARG, "page 2",
                "page past the end");
    expect_fail(unet__tiff_read_region(r, -1, 0, 0, 1, 1, buf), UNET_E_INVALID_ARG, "page -1",
                "negative page");
    expect_fail(unet__tiff_read_region(r, 0, 30, 0, 8, 1, buf), UNET_E_INVALID_ARG, "row 30",
                "rows past the bottom");
    expect_fail(unet__tiff_read_region(r, 0, 0, 50, 1, 4, buf), UNET_E_INVALID_ARG,
                "column 50", "columns past the right");
    expect_fail(unet__tiff_read_region(r, 0, -1, 0, 1, 1, buf), UNET_E_INVALID_ARG, NULL,
                "negative row");
    expect_fail(unet__tiff_read_region(r, 0, 0, 0, -1, 1, buf), UNET_E_INVALID_ARG, NULL,
                "negative height");
    expect_fail(unet__tiff_read_region(r, 0, INT64_MAX, 0, INT64_MAX, 1, buf),
                UNET_E_INVALID_ARG, NULL, "overflowing rectangle");
    expect_fail(unet__tiff_read_region(r, 0, 0, 0, 1, 1, NULL), UNET_E_INVALID_ARG, NULL,
                "NULL destination");
    ck_assert_int_eq(unet__tiff_read_region(r, 0, 5, 5, 0, 3, NULL), UNET_OK); /* empty */
    ck_assert_ptr_null(unet__tiff_reader_info(NULL));
    unet__tiff_close(r);
    unet__tiff_close(NULL);
    unlink(path);
    free(src);
}
END_TEST

/* ---- refusals ----------------------------------------------------------------------------- */

/* A one-page 8x16 image of the given form, written with libtiff; pixel bytes are a pattern. */
static void write_odd(const char *path, int bits, int format, int photometric, int spp)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    ck_assert(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16));
    ck_assert(TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8));
    ck_assert(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits));
    ck_assert(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp));
    ck_assert(TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, (uint16_t)format));
    ck_assert(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, (uint16_t)photometric));
    ck_assert(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG));
    ck_assert(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8));
    if (photometric == PHOTOMETRIC_PALETTE) {
        static uint16_t map[3][256];
        ck_assert(TIFFSetField(t, TIFFTAG_COLORMAP, map[0], map[1], map[2]));
    }
    if (photometric == PHOTOMETRIC_YCBCR)
        ck_assert(TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 1, 1));
    tmsize_t bytes = TIFFStripSize(t);
    uint8_t *buf = calloc((size_t)bytes, 1);
    ck_assert_ptr_nonnull(buf);
    for (tmsize_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(TIFFWriteEncodedStrip(t, 0, buf, bytes), bytes);
    free(buf);
    TIFFClose(t);
}

START_TEST(test_refusals)
{
    static const struct {
        int bits, format, photometric, spp;
        const char *mention;
    } cases[] = {
        {1, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, "1-bit"},
        {4, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, "4-bit"},
        {12, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, "12-bit"},
        {24, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, "24-bit"},
        {8, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, 1, "8-bit signed"},
        {16, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, 1, "16-bit float"},
        {64, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, "64-bit unsigned"},
        {64, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, 1, "64-bit signed"},
        {64, SAMPLEFORMAT_COMPLEXIEEEFP, PHOTOMETRIC_MINISBLACK, 1, "complex float"},
        {8, SAMPLEFORMAT_UINT, PHOTOMETRIC_PALETTE, 1, "palette"},
        {8, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, 3, "YCbCr"},
        {8, SAMPLEFORMAT_UINT, PHOTOMETRIC_MASK, 1, "mask"},
    };
    const char *path = path_in(tmp_dir, "odd.tif");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_odd(path, cases[i].bits, cases[i].format, cases[i].photometric, cases[i].spp);
        unet__tiff_reader *r = NULL;
        int before = global_tiff_messages;
        expect_fail(unet__tiff_open(path, &r), UNET_E_UNSUPPORTED, cases[i].mention,
                    cases[i].mention);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(global_tiff_messages, before);
    }
    /* The same writer gives a readable file for a supported form (the test can pass). */
    write_odd(path, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1);
    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    uint16_t px[8 * 16];
    ck_assert_int_eq(unet__tiff_read_region(r, 0, 0, 0, 8, 16, px), UNET_OK);
    ck_assert_uint_eq(px[1], (uint16_t)(2 * 7 | (3 * 7) << 8)); /* little-endian bytes 2, 3 */
    unet__tiff_close(r);
    unlink(path);
}
END_TEST

/* Pages that differ in size or type are refused; reduced-resolution pages are skipped. */
START_TEST(test_mixed_pages)
{
    const char *path = path_in(tmp_dir, "mixed.tif");
    for (int variant = 0; variant < 3; variant++) {
        TIFF *t = TIFFOpen(path, "w");
        ck_assert_ptr_nonnull(t);
        for (int p = 0; p < 3; p++) {
            bool odd = p == 1;
            uint32_t w = variant == 0 && odd ? 8 : 16;
            uint16_t bits = variant == 1 && odd ? 8 : 16;
            ck_assert(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w));
            ck_assert(TIFFSetField(t, TIFFTAG_IMAGELENGTH, w));
            ck_assert(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits));
            ck_assert(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1));
            ck_assert(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK));
            ck_assert(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, w));
            if (variant == 2 && odd) {
                w = 8;
                ck_assert(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w));
                ck_assert(TIFFSetField(t, TIFFTAG_IMAGELENGTH, w));
                ck_assert(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE));
            }
            uint16_t buf[256];
            for (int i = 0; i < 256; i++)
                buf[i] = (uint16_t)(1000 * p + i);
            tmsize_t bytes = (tmsize_t)(w * w * bits / 8);
            ck_assert_int_eq(TIFFWriteEncodedStrip(t, 0, buf, bytes), bytes);
            ck_assert(TIFFWriteDirectory(t));
        }
        TIFFClose(t);
        unet__tiff_reader *r = NULL;
        int rc = unet__tiff_open(path, &r);
        if (variant == 0) {
            expect_fail(rc, UNET_E_UNSUPPORTED, "different sizes", "sizes differ");
        } else if (variant == 1) {
            expect_fail(rc, UNET_E_UNSUPPORTED, "different types", "types differ");
        } else {
            ck_assert_msg(rc == UNET_OK, "thumbnail: %s", unet_last_error());
            ck_assert_int_eq(unet__tiff_reader_info(r)->pages, 2);
            uint16_t px[256];
            ck_assert_int_eq(unet__tiff_read_region(r, 1, 0, 0, 16, 16, px), UNET_OK);
            ck_assert_uint_eq(px[0], 2000); /* page 1 is the file's third image */
            ck_assert_uint_eq(px[255], 2255);
            unet__tiff_close(r);
        }
    }
    unlink(path);
}
END_TEST

/* ---- real files ----------------------------------------------------------------------------- */

static const char *shared_data(const char *rel)
{
    static char path[1024];
    const char *root = getenv("UNET_SHARED_DATA");
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : "../shared/data", rel);
    ck_assert_msg(access(path, R_OK) == 0,
                  "missing %s: set UNET_SHARED_DATA to the shared data folder", path);
    return path;
}

/* A full read matches reference values computed with Pillow + NumPy (independent decoders),
 * and random regions match the full read. */
START_TEST(test_real_2d)
{
    unet__tiff_reader *r = NULL;
    int rc = unet__tiff_open(shared_data("nuclei2d/img2d.tif"), &r);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    ck_assert_int_eq(in->width, 512);
    ck_assert_int_eq(in->height, 512);
    ck_assert_int_eq(in->pages, 1);
    ck_assert_int_eq(in->channels, 1);
    ck_assert_int_eq(in->dtype, UNET_U16);
    ck_assert_int_eq(in->compression, COMPRESSION_NONE);
    ck_assert(in->has_resolution);
    uint16_t *img = malloc(512 * 512 * 2);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(unet__tiff_read_region(r, 0, 0, 0, 512, 512, img), UNET_OK);
    uint64_t sum = 0, weighted = 0, max = 0;
    for (uint64_t i = 0; i < 512 * 512; i++) {
        sum += img[i];
        weighted += img[i] * (i % 65521 + 1);
        max = img[i] > max ? img[i] : max;
    }
    ck_assert_uint_eq(sum, 8331268);
    ck_assert_uint_eq(weighted, 279964549478ull);
    ck_assert_uint_eq(max, 235);
    ck_assert_uint_eq(img[100 * 512 + 200], 26);
    rng_state = 21;
    uint16_t *part = malloc(512 * 512 * 2);
    ck_assert_ptr_nonnull(part);
    for (int i = 0; i < 30; i++) {
        int64_t y0 = rnd_below(512), x0 = rnd_below(512);
        int64_t h = 1 + rnd_below(512 - y0), w = 1 + rnd_below(512 - x0);
        ck_assert_int_eq(unet__tiff_read_region(r, 0, y0, x0, h, w, part), UNET_OK);
        for (int64_t y = 0; y < h; y++)
            ck_assert(memcmp(part + y * w, img + (y0 + y) * 512 + x0, (size_t)w * 2) == 0);
    }
    free(part);
    free(img);
    unet__tiff_close(r);
}
END_TEST

START_TEST(test_real_3d)
{
    unet__tiff_reader *r = NULL;
    int rc = unet__tiff_open(shared_data("nuclei3d/img3d.tif"), &r);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    ck_assert_int_eq(in->pages, 31);
    ck_assert_int_eq(in->height, 61);
    ck_assert_int_eq(in->width, 57);
    ck_assert_int_eq(in->channels, 1);
    ck_assert_int_eq(in->dtype, UNET_U16);
    ck_assert_int_eq(in->compression, COMPRESSION_ADOBE_DEFLATE);
    const size_t plane = 61 * 57;
    uint16_t *vol = malloc(31 * plane * 2);
    ck_assert_ptr_nonnull(vol);
    for (int p = 30; p >= 0; p--)
        ck_assert_int_eq(unet__tiff_read_region(r, p, 0, 0, 61, 57, vol + (size_t)p * plane),
                         UNET_OK);
    uint64_t sum = 0, max = 0;
    for (size_t i = 0; i < 31 * plane; i++) {
        sum += vol[i];
        max = vol[i] > max ? vol[i] : max;
    }
    ck_assert_uint_eq(sum, 21342435);
    ck_assert_uint_eq(max, 375);
    ck_assert_uint_eq(vol[15 * plane + 30 * 57 + 28], 181);
    rng_state = 22;
    uint16_t part[61 * 57];
    for (int i = 0; i < 60; i++) {
        int p = (int)rnd_below(31);
        int64_t y0 = rnd_below(61), x0 = rnd_below(57);
        int64_t h = 1 + rnd_below(61 - y0), w = 1 + rnd_below(57 - x0);
        ck_assert_int_eq(unet__tiff_read_region(r, p, y0, x0, h, w, part), UNET_OK);
        for (int64_t y = 0; y < h; y++)
            ck_assert(memcmp(part + y * w, vol + (size_t)p * plane + (size_t)(y0 + y) * 57 +
                                                (size_t)x0,
                             (size_t)w * 2) == 0);
    }
    free(vol);
    unet__tiff_close(r);
}
END_TEST

/* ---- writer ------------------------------------------------------------------------------- */

static const unet_dtype_t all_dtypes[] = {UNET_U8, UNET_U16, UNET_I16, UNET_U32, UNET_F32,
                                          UNET_F64};

/* Random planar data (pages, C, H, W) of a dtype. */
static uint8_t *random_planar(unet_dtype_t t, size_t n)
{
    size_t es = dtype_bytes(t);
    uint8_t *b = malloc(n * es);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = rnd();
        if (t == UNET_F32) {
            float f = (float)((double)(int32_t)v / 77.0);
            memcpy(b + i * 4, &f, 4);
        } else if (t == UNET_F64) {
            double d = (double)(int64_t)v / 7.0;
            memcpy(b + i * 8, &d, 8);
        } else {
            memcpy(b + i * es, &v, es);
        }
    }
    return b;
}

/* Write `data` (pages, C, H, W) through the writer in random chunks of rows. */
static void write_image(const char *path, int64_t W, int64_t H, int pages, int C,
                        unet_dtype_t t, const unet__tiff_write_opts *o, const uint8_t *data)
{
    unet__tiff_writer *w = NULL;
    int rc = unet__tiff_writer_open(path, W, H, pages, C, t, o, &w);
    ck_assert_msg(rc == UNET_OK, "writer open: %s", unet_last_error());
    size_t es = dtype_bytes(t);
    uint8_t *chunk = malloc((size_t)(C * H * W) * es);
    ck_assert_ptr_nonnull(chunk);
    for (int p = 0; p < pages; p++) {
        for (int64_t y = 0; y < H;) {
            int64_t h = 1 + rnd_below(H - y < 20 ? H - y : 20);
            for (int c = 0; c < C; c++) /* planar (C, h, W) slab of these rows */
                memcpy(chunk + (size_t)(c * h * W) * es,
                       data + ((((size_t)p * C + (size_t)c) * (size_t)H + (size_t)y) *
                               (size_t)W) * es,
                       (size_t)(h * W) * es);
            rc = unet__tiff_write_rows(w, p, y, h, chunk);
            ck_assert_msg(rc == UNET_OK, "write rows: %s", unet_last_error());
            y += h;
        }
    }
    free(chunk);
    rc = unet__tiff_writer_close(w);
    ck_assert_msg(rc == UNET_OK, "writer close: %s", unet_last_error());
}

/* Every dtype, 1 and 3 channels, raw and deflate, 1 and 3 pages, default and 7-row strips:
 * written in random row chunks, read back exactly. */
START_TEST(test_writer_roundtrip)
{
    rng_state = 31;
    const int64_t W = 45, H = 70;
    const char *path = path_in(tmp_dir, "written.tif");
    for (size_t ti = 0; ti < 6; ti++)
        for (int variant = 0; variant < 16; variant++) {
            unet_dtype_t t = all_dtypes[ti];
            int C = variant & 1 ? 3 : 1, pages = variant & 2 ? 3 : 1;
            unet__tiff_write_opts o = {0};
            o.deflate = variant & 4;
            o.rows_per_strip = variant & 8 ? 7 : 0;
            size_t n = (size_t)(pages * C * H * W), es = dtype_bytes(t);
            uint8_t *data = random_planar(t, n);
            int before = global_tiff_messages;
            write_image(path, W, H, pages, C, t, &o, data);
            unet__tiff_reader *r = NULL;
            ck_assert_msg(unet__tiff_open(path, &r) == UNET_OK, "%s", unet_last_error());
            const unet__tiff_info *in = unet__tiff_reader_info(r);
            ck_assert_int_eq(in->dtype, t);
            ck_assert_int_eq(in->channels, C);
            ck_assert_int_eq(in->pages, pages);
            ck_assert_int_eq(in->width, W);
            ck_assert_int_eq(in->height, H);
            ck_assert(!in->planar_separate && !in->tiled && !in->bigtiff && !in->has_resolution);
            ck_assert_int_eq(in->compression,
                             o.deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE);
            ck_assert_int_eq(in->chunk_height, o.rows_per_strip ? 7 : 64);
            size_t page_bytes = (size_t)(C * H * W) * es;
            uint8_t *got = malloc(page_bytes);
            ck_assert_ptr_nonnull(got);
            for (int p = 0; p < pages; p++) {
                ck_assert_int_eq(unet__tiff_read_region(r, p, 0, 0, H, W, got), UNET_OK);
                ck_assert_msg(memcmp(got, data + (size_t)p * page_bytes, page_bytes) == 0,
                              "dtype %d variant %d page %d differs", t, variant, p);
            }
            free(got);
            unet__tiff_close(r);
            ck_assert_int_eq(global_tiff_messages, before);
            free(data);
        }
    unlink(path);
}
END_TEST

/* What plain libtiff sees in a written file: tags, chunky samples, page count. */
START_TEST(test_writer_seen_by_libtiff)
{
    rng_state = 32;
    const char *path = path_in(tmp_dir, "tags.tif");
    const int64_t W = 20, H = 10;
    float data[2 * 3 * 10 * 20];
    for (int i = 0; i < 2 * 3 * 10 * 20; i++)
        data[i] = (float)i * 0.5f - 7.0f;
    unet__tiff_write_opts o = {.deflate = true, .x_resolution = 2.5, .y_resolution = 4.0,
                               .resolution_unit = RESUNIT_CENTIMETER};
    write_image(path, W, H, 2, 3, UNET_F32, &o, (const uint8_t *)data);

    TIFF *t = TIFFOpen(path, "r");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(TIFFNumberOfDirectories(t), 2);
    uint16_t v16 = 0;
    float res = 0;
    ck_assert(TIFFGetField(t, TIFFTAG_SAMPLEFORMAT, &v16) && v16 == SAMPLEFORMAT_IEEEFP);
    ck_assert(TIFFGetField(t, TIFFTAG_BITSPERSAMPLE, &v16) && v16 == 32);
    ck_assert(TIFFGetField(t, TIFFTAG_SAMPLESPERPIXEL, &v16) && v16 == 3);
    ck_assert(TIFFGetField(t, TIFFTAG_PLANARCONFIG, &v16) && v16 == PLANARCONFIG_CONTIG);
    ck_assert(TIFFGetField(t, TIFFTAG_COMPRESSION, &v16) && v16 == COMPRESSION_ADOBE_DEFLATE);
    ck_assert(TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &v16) && v16 == PHOTOMETRIC_MINISBLACK);
    ck_assert(TIFFGetField(t, TIFFTAG_RESOLUTIONUNIT, &v16) && v16 == RESUNIT_CENTIMETER);
    ck_assert(TIFFGetField(t, TIFFTAG_XRESOLUTION, &res) && res == 2.5f);
    ck_assert(TIFFGetField(t, TIFFTAG_YRESOLUTION, &res) && res == 4.0f);
    ck_assert(!TIFFIsBigTIFF(t));
    ck_assert(TIFFSetDirectory(t, 1));
    float row[3 * 20];
    for (uint32_t y = 0; y <= 4; y++) /* deflate strips are read sequentially */
        ck_assert_int_eq(TIFFReadScanline(t, row, y, 0), 1);
    for (int x = 0; x < 20; x++)
        for (int c = 0; c < 3; c++) /* page 1, channel c, row 4, column x */
            ck_assert(row[x * 3 + c] == data[((1 * 3 + c) * 10 + 4) * 20 + x]);
    TIFFClose(t);

    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    ck_assert(in->has_resolution);
    ck_assert(in->x_resolution == 2.5 && in->y_resolution == 4.0);
    ck_assert_int_eq(in->resolution_unit, RESUNIT_CENTIMETER);
    unet__tiff_close(r);
    unlink(path);
}
END_TEST

START_TEST(test_writer_bigtiff)
{
    rng_state = 33;
    const char *path = path_in(tmp_dir, "big.tif");
    uint16_t data[2 * 2 * 30 * 17];
    for (int i = 0; i < 2 * 2 * 30 * 17; i++)
        data[i] = (uint16_t)rnd();
    unet__tiff_write_opts o = {.force_bigtiff = true, .deflate = true};
    write_image(path, 17, 30, 2, 2, UNET_U16, &o, (const uint8_t *)data);
    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    ck_assert(unet__tiff_reader_info(r)->bigtiff);
    uint16_t got[2 * 30 * 17];
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(unet__tiff_read_region(r, p, 0, 0, 30, 17, got), UNET_OK);
        ck_assert(memcmp(got, data + p * 2 * 30 * 17, sizeof got) == 0);
    }
    unet__tiff_close(r);

    /* The automatic choice: 4 GiB of pixels needs BigTIFF, 3.6 GB does not. Nothing is
     * written; discard leaves the existing file as it was, and no other file behind. */
    size_t before_len;
    uint8_t *before = read_whole_file(path, &before_len);
    unet__tiff_writer *w = NULL;
    ck_assert_int_eq(unet__tiff_writer_open(path, 65536, 65536, 1, 1, UNET_U8, NULL, &w),
                     UNET_OK);
    ck_assert(unet__tiff_writer_is_bigtiff(w));
    unet__tiff_writer_discard(w);
    size_t after_len;
    uint8_t *after = read_whole_file(path, &after_len);
    ck_assert(after_len == before_len && memcmp(before, after, before_len) == 0);
    free(before);
    free(after);
    unlink(path);
    ck_assert_int_eq(count_dir_entries(tmp_dir), 0);
    ck_assert_int_eq(unet__tiff_writer_open(path, 60000, 60000, 1, 1, UNET_U8, NULL, &w),
                     UNET_OK);
    ck_assert(!unet__tiff_writer_is_bigtiff(w));
    unet__tiff_writer_discard(w);
    /* Pages and channels count too: 3 pages x 2 channels of float32 at 16384^2 = 6 GiB. */
    ck_assert_int_eq(unet__tiff_writer_open(path, 16384, 16384, 3, 2, UNET_F32, NULL, &w),
                     UNET_OK);
    ck_assert(unet__tiff_writer_is_bigtiff(w));
    unet__tiff_writer_discard(w);
    ck_assert_int_eq(unet__tiff_writer_open(path, 16384, 16384, 1, 1, UNET_F32, NULL, &w),
                     UNET_OK);
    ck_assert(!unet__tiff_writer_is_bigtiff(w)); /* 1 GiB */
    unet__tiff_writer_discard(w);
    unet__tiff_writer_discard(NULL);
    ck_assert(!unet__tiff_writer_is_bigtiff(NULL));
}
END_TEST

/* A tall image written one row at a time (one strip buffered), read back by rows. */
START_TEST(test_writer_streaming_rows)
{
    const char *path = path_in(tmp_dir, "tall.tif");
    const int64_t W = 31, H = 3001;
    unet__tiff_writer *w = NULL;
    unet__tiff_write_opts o = {.deflate = true};
    ck_assert_int_eq(unet__tiff_writer_open(path, W, H, 1, 2, UNET_U16, &o, &w), UNET_OK);
    uint16_t row[2 * 31];
    for (int64_t y = 0; y < H; y++) {
        for (int c = 0; c < 2; c++)
            for (int64_t x = 0; x < W; x++)
                row[c * W + x] = (uint16_t)(y * 3 + x * 5 + c * 1000);
        ck_assert_int_eq(unet__tiff_write_rows(w, 0, y, 1, row), UNET_OK);
    }
    ck_assert_int_eq(unet__tiff_writer_close(w), UNET_OK);
    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    for (int64_t y = 0; y < H; y += 7) {
        ck_assert_int_eq(unet__tiff_read_region(r, 0, y, 0, 1, W, row), UNET_OK);
        for (int c = 0; c < 2; c++)
            for (int64_t x = 0; x < W; x++)
                ck_assert_uint_eq(row[c * W + x], (uint16_t)(y * 3 + x * 5 + c * 1000));
    }
    unet__tiff_close(r);
    unlink(path);
}
END_TEST

/* Deflate strips written in batches on several threads: byte for byte what libtiff's own
 * encoder gives each strip, whatever the thread count (a label image: long runs, as the
 * segmenter writes them). */
static void write_with_libtiff(const char *path, int64_t W, int64_t H, int pages,
                               const uint16_t *data, uint32_t rows_per_strip)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    for (int p = 0; p < pages; p++) {
        ck_assert(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)W) &&
                  TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)H) &&
                  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1) &&
                  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16) &&
                  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
                  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) &&
                  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows_per_strip));
        for (uint32_t s = 0; s * rows_per_strip < (uint32_t)H; s++) {
            int64_t rows = H - (int64_t)s * rows_per_strip;
            rows = rows < rows_per_strip ? rows : rows_per_strip;
            tmsize_t bytes = (tmsize_t)(rows * W * 2);
            const uint16_t *strip = data + ((size_t)p * H + (size_t)s * rows_per_strip) * W;
            ck_assert_int_eq(TIFFWriteEncodedStrip(t, s, (void *)strip, bytes), bytes);
        }
        ck_assert(TIFFWriteDirectory(t));
    }
    TIFFClose(t);
}

/* The raw (compressed) bytes of every strip of every page. */
static void assert_same_strips(const char *a_path, const char *b_path, int pages)
{
    TIFF *a = TIFFOpen(a_path, "r"), *b = TIFFOpen(b_path, "r");
    ck_assert(a && b);
    for (int p = 0; p < pages; p++) {
        ck_assert(TIFFSetDirectory(a, (tdir_t)p) && TIFFSetDirectory(b, (tdir_t)p));
        uint32_t n = TIFFNumberOfStrips(a);
        ck_assert_uint_eq(n, TIFFNumberOfStrips(b));
        for (uint32_t s = 0; s < n; s++) {
            uint64_t an = TIFFGetStrileByteCount(a, s), bn = TIFFGetStrileByteCount(b, s);
            ck_assert_msg(an == bn, "page %d strip %u: %llu bytes, libtiff %llu", p, s,
                          (unsigned long long)an, (unsigned long long)bn);
            uint8_t *x = malloc(an), *y = malloc(bn);
            ck_assert(x && y);
            ck_assert_int_eq(TIFFReadRawStrip(a, s, x, (tmsize_t)an), (tmsize_t)an);
            ck_assert_int_eq(TIFFReadRawStrip(b, s, y, (tmsize_t)bn), (tmsize_t)bn);
            ck_assert_msg(memcmp(x, y, an) == 0, "page %d strip %u differs", p, s);
            free(x);
            free(y);
        }
    }
    TIFFClose(a);
    TIFFClose(b);
}

START_TEST(test_writer_deflate_batches)
{
    const int64_t W = 300, H = 203;
    const int pages = 2;
    uint16_t *data = malloc((size_t)(pages * H * W) * sizeof *data);
    ck_assert_ptr_nonnull(data);
    for (int64_t i = 0; i < pages * H * W; i++) { /* blobs of ids on a zero background */
        int64_t y = i / W % H, x = i % W;
        data[i] = (y / 17 + x / 23) % 3 ? 0 : (uint16_t)(1 + y / 17 * 20 + x / 23 + i / (H * W));
    }
    const char *ref_path = path_in(tmp_dir, "libtiff.tif");
    const char *path = path_in(tmp_dir, "batched.tif");
    write_with_libtiff(ref_path, W, H, pages, data, 7);
    const int threads[] = {1, 2, 5};
    for (int k = 0; k < 3; k++) {
        unet__tiff_write_opts o = {.deflate = true, .rows_per_strip = 7,
                                   .threads = threads[k]};
        write_image(path, W, H, pages, 1, UNET_U16, &o, (const uint8_t *)data);
        assert_same_strips(path, ref_path, pages);
    }
    unlink(path);
    unlink(ref_path);
    free(data);
}
END_TEST

START_TEST(test_writer_errors)
{
    const char *path = path_in(tmp_dir, "err.tif");
    unet__tiff_writer *w = (unet__tiff_writer *)&w;
    expect_fail(unet__tiff_writer_open(path, 0, 5, 1, 1, UNET_U8, NULL, &w), UNET_E_INVALID_ARG,
                "0x5", "zero width");
    ck_assert_ptr_null(w);
    expect_fail(unet__tiff_writer_open(path, 5, (int64_t)1 << 31, 1, 1, UNET_U8, NULL, &w),
                UNET_E_INVALID_ARG, NULL, "huge height");
    expect_fail(unet__tiff_writer_open(path, 5, 5, 0, 1, UNET_U8, NULL, &w), UNET_E_INVALID_ARG,
                "0 pages", "zero pages");
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 0, UNET_U8, NULL, &w), UNET_E_INVALID_ARG,
                "0 channels", "zero channels");
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 1, (unet_dtype_t)99, NULL, &w),
                UNET_E_INVALID_ARG, "99", "bad dtype");
    unet__tiff_write_opts o = {.x_resolution = NAN, .y_resolution = 1};
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 1, UNET_U8, &o, &w), UNET_E_INVALID_ARG,
                "nan", "NaN resolution");
    o = (unet__tiff_write_opts){.x_resolution = 3};
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 1, UNET_U8, &o, &w), UNET_E_INVALID_ARG,
                "resolution", "one-sided resolution");
    o = (unet__tiff_write_opts){.x_resolution = 3, .y_resolution = 3, .resolution_unit = 7};
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 1, UNET_U8, &o, &w), UNET_E_INVALID_ARG,
                "unit 7", "bad unit");
    o = (unet__tiff_write_opts){.rows_per_strip = -2};
    expect_fail(unet__tiff_writer_open(path, 5, 5, 1, 1, UNET_U8, &o, &w), UNET_E_INVALID_ARG,
                "-2", "negative rows per strip");
    expect_fail(unet__tiff_writer_open(path_in(tmp_dir, "no/such/dir.tif"), 5, 5, 1, 1,
                                       UNET_U8, NULL, &w),
                UNET_E_IO, "dir.tif", "missing directory");
    ck_assert_ptr_null(w);

    /* Rows out of order, too many, missing. */
    uint8_t rows[3 * 5] = {0};
    ck_assert_int_eq(unet__tiff_writer_open(path, 5, 4, 2, 1, UNET_U8, NULL, &w), UNET_OK);
    expect_fail(unet__tiff_write_rows(w, 0, 1, 1, rows), UNET_E_INVALID_ARG,
                "expected page 0 row 0", "skipped row");
    expect_fail(unet__tiff_write_rows(w, 1, 0, 1, rows), UNET_E_INVALID_ARG, "got page 1",
                "skipped page");
    ck_assert_int_eq(unet__tiff_write_rows(w, 0, 0, 3, rows), UNET_OK);
    expect_fail(unet__tiff_write_rows(w, 0, 3, 2, rows), UNET_E_INVALID_ARG, "height 4",
                "past the bottom");
    expect_fail(unet__tiff_write_rows(w, 0, 3, 1, NULL), UNET_E_INVALID_ARG, "NULL", "NULL src");
    expect_fail(unet__tiff_write_rows(NULL, 0, 3, 1, rows), UNET_E_INVALID_ARG, NULL,
                "NULL writer");
    ck_assert_int_eq(unet__tiff_write_rows(w, 0, 3, 0, rows), UNET_OK); /* nothing */
    ck_assert_int_eq(unet__tiff_write_rows(w, 0, 3, 1, rows), UNET_OK);
    expect_fail(unet__tiff_writer_close(w), UNET_E_INVALID_ARG, "closed at page 1 row 0",
                "incomplete");
    ck_assert_int_eq(unet__tiff_writer_close(NULL), UNET_OK);

    ck_assert_int_eq(unet__tiff_writer_open(path, 5, 1, 1, 1, UNET_U8, NULL, &w), UNET_OK);
    ck_assert_int_eq(unet__tiff_write_rows(w, 0, 0, 1, rows), UNET_OK);
    expect_fail(unet__tiff_write_rows(w, 1, 0, 1, rows), UNET_E_INVALID_ARG, "already written",
                "extra page");
    ck_assert_int_eq(unet__tiff_writer_close(w), UNET_OK);
    unlink(path);

    /* A full disk: every write fails with ENOSPC. Some call must report UNET_E_IO. */
    if (access("/dev/full", W_OK) == 0) {
        int before = global_tiff_messages;
        int rc = unet__tiff_writer_open("/dev/full", 300, 300, 1, 1, UNET_U16, NULL, &w);
        uint16_t *big = calloc(300 * 300, 2);
        ck_assert_ptr_nonnull(big);
        if (rc == UNET_OK) {
            rc = unet__tiff_write_rows(w, 0, 0, 300, big);
            int close_rc = unet__tiff_writer_close(w);
            if (rc == UNET_OK)
                rc = close_rc;
        }
        expect_fail(rc, UNET_E_IO, "/dev/full", "full disk");
        ck_assert_int_eq(global_tiff_messages, before);
        free(big);
    }
}
END_TEST

/* ---- malformed files ---------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

typedef struct region {
    int64_t page, y, x, h, w;
} region;

/* Read every page in bounded pieces (the file may claim anything), forwards or backwards,
 * into an order-independent hash: the sum of the pieces' FNV hashes. Stops at the first
 * failure, which must carry a message. */
static int read_all_bounded(unet__tiff_reader *r, bool backwards, uint64_t *hash)
{
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    const int64_t piece = 1 << 16; /* elements per call */
    int64_t budget = (int64_t)1 << 24;  /* elements per file */
    enum { MAX_REGIONS = 4096 };
    static region list[MAX_REGIONS];
    size_t es = dtype_bytes(in->dtype);
    int64_t cols = piece / in->channels > 0 ? piece / in->channels : 1;
    if (cols > in->width)
        cols = in->width;
    int64_t rows = piece / (cols * in->channels) > 0 ? piece / (cols * in->channels) : 1;
    int n = 0;
    for (int64_t p = 0; p < in->pages && n < MAX_REGIONS && budget > 0; p++)
        for (int64_t y = 0; y < in->height && n < MAX_REGIONS && budget > 0; y += rows)
            for (int64_t x = 0; x < in->width && n < MAX_REGIONS && budget > 0; x += cols) {
                region g = {p, y, x, in->height - y < rows ? in->height - y : rows,
                            in->width - x < cols ? in->width - x : cols};
                list[n++] = g;
                budget -= g.h * g.w * in->channels;
            }
    uint8_t *buf = malloc((size_t)(rows * cols * in->channels) * es);
    ck_assert_ptr_nonnull(buf);
    *hash = 0;
    int rc = UNET_OK;
    for (int i = 0; i < n && rc == UNET_OK; i++) {
        const region *g = &list[backwards ? n - 1 - i : i];
        rc = unet__tiff_read_region(r, g->page, g->y, g->x, g->h, g->w, buf);
        if (rc == UNET_OK)
            *hash += fnv(1469598103934665603ull, buf, (size_t)(g->h * g->w * in->channels) * es);
        else
            ck_assert_msg(unet_last_error()[0] != '\0', "read failed (%d) silently", rc);
    }
    free(buf);
    return rc;
}

/* Open from memory and read everything three times: forwards with the default cache, then
 * backwards with a one-chunk cache, so every chunk is decoded again into a buffer that held
 * another chunk, then forwards with chunks decoded on three threads. Failures carry messages; the passes agree (no stale or uninitialised bytes
 * reach the output). Returns the status. */
static int probe(const uint8_t *data, size_t len, const char *what)
{
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any read past the end */
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, data, len);
    int before = global_tiff_messages;
    unet__tiff_reader *r = NULL;
    unet__clear_error();
    int rc = unet__tiff_open_memory(copy, len, what, &r);
    if (rc != UNET_OK) {
        ck_assert_msg(rc == UNET_E_FORMAT || rc == UNET_E_UNSUPPORTED || rc == UNET_E_IO,
                      "%s: open rc %d", what, rc);
        ck_assert_msg(unet_last_error()[0] != '\0', "%s: open failed silently", what);
        ck_assert_ptr_null(r);
    } else {
        uint64_t h1, h2, h3;
        int rc1 = read_all_bounded(r, false, &h1);
        unet__tiff_set_cache_bytes(r, 1);
        int rc2 = read_all_bounded(r, true, &h2);
        ck_assert_msg((rc1 == UNET_OK) == (rc2 == UNET_OK) && (rc1 != UNET_OK || h1 == h2),
                      "%s: two reads differ (%d, %d)", what, rc1, rc2);
        /* Chunks decoded on three threads (plain deflate) read as libtiff reads them. */
        unet__tiff_set_cache_bytes(r, (size_t)16 << 20);
        unet__tiff_set_threads(r, 3);
        int rc3 = read_all_bounded(r, false, &h3);
        ck_assert_msg((rc1 == UNET_OK) == (rc3 == UNET_OK) && (rc1 != UNET_OK || h1 == h3),
                      "%s: the threaded read differs (%d, %d)", what, rc1, rc3);
        ck_assert_msg(rc1 == UNET_OK || rc1 == UNET_E_FORMAT || rc1 == UNET_E_UNSUPPORTED ||
                          rc1 == UNET_E_NOMEM,
                      "%s: read rc %d", what, rc1);
        unet__tiff_close(r);
        rc = rc1;
    }
    ck_assert_msg(global_tiff_messages == before, "%s: libtiff used its global handler", what);
    free(copy);
    return rc;
}

/* Small valid files of different kinds to corrupt. */
static uint8_t *corpus_file(int which, size_t *len)
{
    spec s = base_spec(which == 0 ? 1 : which == 1 ? 5 : 0);
    s.height = 19;
    s.width = 21;
    s.channels = 2;
    if (which == 0) { /* LZW strips, chunky, 2 pages, predictor */
        s.pages = 2;
        s.compression = COMPRESSION_LZW;
        s.predictor = PREDICTOR_HORIZONTAL;
    } else if (which == 1) { /* deflate tiles, planar, float predictor */
        s.tiled = true;
        s.separate = true;
        s.compression = COMPRESSION_ADOBE_DEFLATE;
        s.predictor = PREDICTOR_FLOATINGPOINT;
    } else { /* BigTIFF, big-endian, PackBits, 2 pages */
        s.pages = 2;
        s.bigtiff = true;
        s.big_endian = true;
        s.compression = COMPRESSION_PACKBITS;
    }
    uint8_t *src = make_samples(&s);
    const char *path = path_in(tmp_dir, "corpus.tif");
    write_spec(path, &s, src);
    free(src);
    uint8_t *b = read_whole_file(path, len);
    unlink(path);
    return b;
}

START_TEST(test_truncation_every_offset)
{
    rng_state = 41;
    for (int which = 0; which < 3; which++) {
        size_t len;
        uint8_t *file = corpus_file(which, &len);
        char what[64];
        snprintf(what, sizeof what, "file %d whole", which);
        ck_assert_int_eq(probe(file, len, what), UNET_OK);
        int failed = 0;
        for (size_t cut = 0; cut < len; cut++) {
            snprintf(what, sizeof what, "file %d cut at %zu", which, cut);
            failed += probe(file, cut, what) != UNET_OK;
        }
        /* Nearly every cut loses data that is needed (the last IFD byte or pixel bytes). */
        ck_assert_msg(failed > (int)len * 9 / 10, "file %d: only %d of %zu cuts failed", which,
                      failed, len);
        free(file);
    }
}
END_TEST

START_TEST(test_random_byte_flips)
{
    rng_state = 42;
    size_t len[3];
    uint8_t *file[3];
    for (int i = 0; i < 3; i++)
        file[i] = corpus_file(i, &len[i]);
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 3000; iter++) {
        int which = iter % 3;
        uint8_t *m = malloc(len[which]);
        ck_assert_ptr_nonnull(m);
        memcpy(m, file[which], len[which]);
        int flips = 1 + (int)rnd_below(4);
        /* Half the flips hit the last 300 bytes, where libtiff puts the IFD and its arrays
         * (the sizes and offsets); the other half anywhere. */
        size_t n = len[which], tail = n < 300 ? n : 300;
        for (int f = 0; f < flips; f++) {
            size_t at = iter % 2 ? (size_t)rnd_below((int64_t)n)
                                 : n - 1 - (size_t)rnd_below((int64_t)tail);
            m[at] ^= (uint8_t)(1 + rnd_below(255));
        }
        char what[64];
        snprintf(what, sizeof what, "flip iteration %d", iter);
        if (probe(m, len[which], what) == UNET_OK)
            ok++;
        else
            failed++;
        free(m);
    }
    /* Both outcomes must occur, or the loop proves nothing. */
    ck_assert_int_gt(failed, 300);
    ck_assert_int_gt(ok, 300);
    for (int i = 0; i < 3; i++)
        free(file[i]);
}
END_TEST

/* A classic little-endian TIFF from IFD entries (sorted by tag) and pixel bytes after the IFD;
 * a `value` of 0xFFFFFFFF in StripOffsets/TileOffsets means "the pixel bytes". */
typedef struct entry {
    uint16_t tag, type;
    uint32_t count, value;
} entry;

static size_t build_tiff(uint8_t *out, const entry *e, int n, size_t pixel_bytes)
{
    size_t pixels_at = 8 + 2 + 12 * (size_t)n + 4;
    uint8_t *p = out;
    memcpy(p, "II*\0\x08\0\0\0", 8);
    p += 8;
    *p++ = (uint8_t)n;
    *p++ = 0;
    for (int i = 0; i < n; i++) {
        uint32_t v = e[i].value == 0xFFFFFFFFu ? (uint32_t)pixels_at : e[i].value;
        uint8_t rec[12] = {(uint8_t)e[i].tag, (uint8_t)(e[i].tag >> 8), (uint8_t)e[i].type, 0,
                           (uint8_t)e[i].count, (uint8_t)(e[i].count >> 8),
                           (uint8_t)(e[i].count >> 16), (uint8_t)(e[i].count >> 24)};
        if (e[i].type == TIFF_SHORT) { /* left-justified in the value field */
            rec[8] = (uint8_t)v;
            rec[9] = (uint8_t)(v >> 8);
        } else {
            for (int k = 0; k < 4; k++)
                rec[8 + k] = (uint8_t)(v >> (8 * k));
        }
        memcpy(p, rec, 12);
        p += 12;
    }
    memset(p, 0, 4); /* no next IFD */
    p += 4;
    for (size_t i = 0; i < pixel_bytes; i++)
        *p++ = (uint8_t)(i * 13);
    return (size_t)(p - out);
}

START_TEST(test_hostile_headers)
{
    uint8_t buf[4096];
    /* First a well-formed 4x3 uint8 file from the same builder, so a pass proves the builder. */
    entry good[] = {
        {256, TIFF_LONG, 1, 4},      {257, TIFF_LONG, 1, 3},        {258, TIFF_SHORT, 1, 8},
        {259, TIFF_SHORT, 1, 1},     {262, TIFF_SHORT, 1, 1},       {273, TIFF_LONG, 1, 0xFFFFFFFF},
        {277, TIFF_SHORT, 1, 1},     {278, TIFF_LONG, 1, 3},        {279, TIFF_LONG, 1, 12},
    };
    size_t n = build_tiff(buf, good, 9, 12);
    ck_assert_int_eq(probe(buf, n, "built baseline"), UNET_OK);
    unet__tiff_reader *r = NULL;
    ck_assert_int_eq(unet__tiff_open_memory(buf, n, NULL, &r), UNET_OK);
    uint8_t px[12];
    ck_assert_int_eq(unet__tiff_read_region(r, 0, 0, 0, 3, 4, px), UNET_OK);
    ck_assert_uint_eq(px[11], (uint8_t)(11 * 13));
    unet__tiff_close(r);

    /* 2^31 x 2^31 pixels in one uncompressed strip. */
    entry huge[9];
    memcpy(huge, good, sizeof huge);
    huge[0].value = huge[1].value = 0x80000000u;
    huge[7].value = 0x80000000u;
    n = build_tiff(buf, huge, 9, 12);
    ck_assert_int_ne(probe(buf, n, "2^31 x 2^31"), UNET_OK);
    /* Just inside int32 per side: refused as implausible for the file size. */
    huge[0].value = huge[1].value = huge[7].value = 0x7FFFFFFFu;
    n = build_tiff(buf, huge, 9, 12);
    expect_fail(probe(buf, n, "2^31-1 squared"), UNET_E_FORMAT, NULL, "2^31-1 squared");
    /* 65536 x 65536 deflate in one 12-byte strip: more than deflate can expand to. */
    huge[0].value = huge[1].value = huge[7].value = 65536;
    huge[3].value = COMPRESSION_ADOBE_DEFLATE;
    n = build_tiff(buf, huge, 9, 12);
    expect_fail(probe(buf, n, "deflate 64k^2"), UNET_E_FORMAT, "more than", "deflate 64k^2");
    /* LZW, 16384 x 1024 in one strip of 12 bytes: plausible for the file as a whole? no. */
    huge[0].value = 16384;
    huge[1].value = huge[7].value = 1024;
    huge[3].value = COMPRESSION_LZW;
    n = build_tiff(buf, huge, 9, 12);
    ck_assert_int_ne(probe(buf, n, "lzw 16M"), UNET_OK);
    /* Giant tiles: 2^30 x 16 tiles of a 16x16 image. */
    entry tiles[] = {
        {256, TIFF_LONG, 1, 16},     {257, TIFF_LONG, 1, 16},      {258, TIFF_SHORT, 1, 8},
        {259, TIFF_SHORT, 1, 1},     {262, TIFF_SHORT, 1, 1},      {277, TIFF_SHORT, 1, 1},
        {322, TIFF_LONG, 1, 1u << 30}, {323, TIFF_LONG, 1, 16},
        {324, TIFF_LONG, 1, 0xFFFFFFFF}, {325, TIFF_LONG, 1, 256},
    };
    n = build_tiff(buf, tiles, 10, 256);
    ck_assert_int_ne(probe(buf, n, "giant tiles"), UNET_OK);
    /* Strip byte count far past the end of the file: libtiff would replace the count of a
     * single uncompressed strip by its own estimate and read whatever lies at the offset;
     * a count the file contradicts is refused, as a zero one is; compressed too. */
    memcpy(huge, good, sizeof huge);
    huge[8].value = 0x7FFFFFF0u;
    n = build_tiff(buf, huge, 9, 12);
    expect_fail(probe(buf, n, "byte count past the end"), UNET_E_FORMAT, "byte count",
                "byte count past the end");
    huge[3].value = COMPRESSION_LZW;
    n = build_tiff(buf, huge, 9, 12);
    ck_assert_int_ne(probe(buf, n, "compressed byte count past the end"), UNET_OK);
    /* Strip offset past the end. */
    memcpy(huge, good, sizeof huge);
    huge[5].value = 0x7FFFFFF0u;
    n = build_tiff(buf, huge, 9, 12);
    ck_assert_int_ne(probe(buf, n, "offset past the end"), UNET_OK);
    /* An IFD that points to itself as the next IFD. */
    n = build_tiff(buf, good, 9, 12);
    size_t next = 8 + 2 + 12 * 9;
    buf[next] = 8;
    ck_assert_int_ne(probe(buf, n, "IFD loop"), UNET_OK);
}
END_TEST

START_TEST(test_not_tiff_files)
{
    const char *path = path_in(tmp_dir, "empty.tif");
    write_whole_file(path, "", 0);
    unet__tiff_reader *r = NULL;
    expect_fail(unet__tiff_open(path, &r), UNET_E_FORMAT, "empty", "zero-length file");
    ck_assert_ptr_null(r);
    const char text[] = "This is not a TIFF file, just some text.\n";
    write_whole_file(path, text, sizeof text - 1);
    expect_fail(unet__tiff_open(path, &r), UNET_E_FORMAT, "empty.tif", "text file");
    write_whole_file(path, "II*\0", 4); /* a header cut short */
    expect_fail(unet__tiff_open(path, &r), UNET_E_FORMAT, NULL, "4-byte header");
    write_whole_file(path, "MM\0*\0\0\0\x08", 8); /* a header whose IFD is missing */
    expect_fail(unet__tiff_open(path, &r), UNET_E_FORMAT, NULL, "missing IFD");
    unlink(path);
    expect_fail(unet__tiff_open(path, &r), UNET_E_IO, "empty.tif", "missing file");
    expect_fail(unet__tiff_open(tmp_dir, &r), UNET_E_IO, "directory", "a directory");
    expect_fail(unet__tiff_open_memory(text, 0, "zero", &r), UNET_E_FORMAT, "zero", "empty memory");
    expect_fail(unet__tiff_open_memory(NULL, 5, "null", &r), UNET_E_INVALID_ARG, NULL,
                "NULL memory");
    expect_fail(unet__tiff_open_memory(text, sizeof text, "text", &r), UNET_E_FORMAT, "text",
                "text in memory");
    ck_assert_ptr_null(r);
}
END_TEST

/* ---- runner ------------------------------------------------------------------------------- */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120);
    return tc;
}

int main(void)
{
    /* Only the test's own libtiff calls may reach the global handlers; they count. */
    TIFFSetErrorHandler(count_global_message);
    TIFFSetWarningHandler(count_global_message);
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/unet_tiff_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }

    Suite *s = suite_create("tiff");
    TCase *tc = tcase("read");
    tcase_add_loop_test(tc, test_read_matrix, 0, 7);
    tcase_add_test(tc, test_read_bigtiff_and_byte_order);
    tcase_add_test(tc, test_read_big_endian_float_predictor);
    tcase_add_test(tc, test_read_geometries);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_tiny_tiles);
    tcase_add_test(tc, test_zero_byte_count);
    tcase_add_test(tc, test_fifo_refused);
    tcase_add_test(tc, test_read_many_pages);
    tcase_add_test(tc, test_read_arguments);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_mixed_pages);
    suite_add_tcase(s, tc);

    tc = tcase("real_data");
    tcase_add_test(tc, test_real_2d);
    tcase_add_test(tc, test_real_3d);
    suite_add_tcase(s, tc);

    tc = tcase("write");
    tcase_add_test(tc, test_writer_roundtrip);
    tcase_add_test(tc, test_writer_seen_by_libtiff);
    tcase_add_test(tc, test_writer_bigtiff);
    tcase_add_test(tc, test_writer_streaming_rows);
    tcase_add_test(tc, test_writer_deflate_batches);
    tcase_add_test(tc, test_writer_errors);
    suite_add_tcase(s, tc);

    tc = tcase("malformed");
    tcase_add_test(tc, test_truncation_every_offset);
    tcase_add_test(tc, test_random_byte_flips);
    tcase_add_test(tc, test_hostile_headers);
    tcase_add_test(tc, test_not_tiff_files);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_flat_dir(tmp_dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
