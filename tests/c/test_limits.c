/* Sizes a caller declares are checked before anything is allocated from them: an image whose
 * element count would wrap int64 products, a tile, halo or strip whose buffers exceed the
 * memory budget, and a max_pixels the caller set are refused at once with a status and a
 * message, before a pixel is read, without growing the process (run under ASan + UBSan in CI,
 * which also catches any product that still wraps). Public API only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <time.h>
#include <unistd.h>

#include "unet.h"

#include "run_suite.h"

#define BIG ((int64_t)1 << 31)

static int reads, writes;

static int read_zero(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                     float *dst)
{
    (void)user, (void)plane, (void)y, (void)x;
    reads++;
    memset(dst, 0, (size_t)(h * w) * sizeof *dst);
    return 0;
}

static int write_any(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                     const float *src)
{
    (void)user, (void)plane, (void)y, (void)x, (void)h, (void)w, (void)src;
    writes++;
    return 0;
}

static int write_labels(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *labels)
{
    (void)user, (void)y, (void)h, (void)w, (void)labels;
    writes++;
    return 0;
}

/* A small same-padding model with segmentation metadata. */
static unet_model_t *model(void)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create("{\"depth\": 2, \"base_features\": 4, "
                                       "\"final_activation\": \"sigmoid\"}",
                                       1, &m),
                     UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"foreground\"}"),
                     UNET_OK);
    return m;
}

/* Resident memory now, in MiB. */
static long rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The refusal every case expects: status, a message holding `words`, no callback called,
 * quickly and without growing the process. */
typedef struct watch {
    long rss;
    double t;
} watch;

static watch start(void)
{
    reads = writes = 0;
    return (watch){rss_mib(), now()};
}

static void refused(watch w, int rc, int status, const char *words)
{
    double seconds = now() - w.t;
    long grown = rss_mib() - w.rss;
    ck_assert_msg(rc == status, "status %d, expected %d: %s", rc, status, unet_last_error());
    ck_assert_msg(strstr(unet_last_error(), words), "'%s' not in: %s", words,
                  unet_last_error());
    ck_assert_msg(reads == 0 && writes == 0, "%d reads, %d writes before the refusal", reads,
                  writes);
    printf("refused in %.3f s, RSS %+ld MiB: %s\n", seconds, grown, unet_last_error());
    ck_assert_msg(seconds < 1.0, "refusal took %.2f s", seconds);
    ck_assert_msg(grown < 64, "RSS grew by %ld MiB", grown);
}

/* A declared 2^31 x 2^31 stream: unet_predict's total-size check, not wrapped products. */
START_TEST(test_stream_of_2_62_pixels)
{
    unet_model_t *m = model();
    watch w = start();
    int rc = unet_predict_stream(m, NULL, 1, 1, BIG, BIG, read_zero, NULL, write_any, NULL);
    refused(w, rc, UNET_E_NOMEM, "too large");
    w = start();
    rc = unet_predict_stream(m, NULL, BIG, 1, BIG, 4, read_zero, NULL, write_any, NULL);
    refused(w, rc, UNET_E_NOMEM, "too large");
    unet_model_free(m);
}
END_TEST

/* A halo raised through the options to its maximum inflates a 4 x 4 image's window past any
 * memory: refused by the budget before the window is allocated (it asked for terabytes). */
START_TEST(test_huge_halo_over_budget)
{
    unet_model_t *m = model();
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_halo(o, (int64_t)1 << 20, 0), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_REFLECT), UNET_OK);
    float in[16] = {0}, out[16];
    int64_t shape[2] = {4, 4};
    watch w = start();
    int rc = unet_predict(m, o, in, UNET_F32, 2, shape, out, 16);
    refused(w, rc, UNET_E_NOMEM, "memory budget");
    ck_assert_msg(strstr(unet_last_error(), "halo"), "%s", unet_last_error());
    unet_predict_opts_free(o);
    unet_model_free(m);
}
END_TEST

/* The whole image as one window when that window cannot fit: refused, not attempted. */
START_TEST(test_whole_tile_over_budget)
{
    unet_model_t *m = model();
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(o, UNET_TILE_WHOLE), UNET_OK);
    watch w = start();
    int rc = unet_predict_stream(m, o, 1, 1, (int64_t)1 << 22, (int64_t)1 << 22, read_zero, NULL,
                                 write_any, NULL);
    refused(w, rc, UNET_E_NOMEM, "memory budget");
    unet_predict_opts_free(o);
    unet_model_free(m);
}
END_TEST

/* A forward pass whose activations (16384 features of a 2048^2 image: 256 GiB a tensor)
 * exceed the memory budget, though the caller's buffers are 16 MiB: refused, not attempted. */
START_TEST(test_forward_over_budget)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create("{\"depth\": 1, \"base_features\": 16384, "
                                       "\"kernel_size\": 1, \"block\": \"c\"}",
                                       1, &m),
                     UNET_OK);
    const int64_t n = 2048 * 2048, shape[4] = {1, 1, 2048, 2048};
    float *in = calloc((size_t)n, sizeof *in), *out = calloc((size_t)n, sizeof *out);
    ck_assert(in && out);
    watch w = start();
    int rc = unet_model_forward(m, NULL, in, 4, shape, out, (size_t)n);
    refused(w, rc, UNET_E_NOMEM, "memory budget");
    free(in);
    free(out);
    unet_model_free(m);
}
END_TEST

/* Segmentation of declared sizes that wrap or exceed memory: the same refusals. */
START_TEST(test_segment_stream_sizes)
{
    unet_model_t *m = model();
    watch w = start();
    int rc = unet_segment_stream(m, NULL, 1, BIG, BIG, read_zero, NULL, write_labels, NULL,
                                 NULL);
    refused(w, rc, UNET_E_NOMEM, "too large");
    /* Resized by 20 (the scale's maximum): 2^31 x 2^31 pixels once more after resizing. */
    unet_segment_opts_t *so;
    ck_assert_int_eq(unet_segment_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_scale(so, 20), UNET_OK);
    w = start();
    rc = unet_segment_stream(m, so, 1, (int64_t)1 << 27, (int64_t)1 << 27, read_zero, NULL,
                             write_labels, NULL, NULL);
    refused(w, rc, UNET_E_NOMEM, "too large");
    /* Strips of 2^31 rows on a tall image: over the budget. */
    ck_assert_int_eq(unet_segment_opts_set_scale(so, 1), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set(so, "strip_rows", "2147483648"), UNET_OK);
    w = start();
    rc = unet_segment_stream(m, so, 1, BIG, (int64_t)1 << 20, read_zero, NULL, write_labels,
                             NULL, NULL);
    refused(w, rc, UNET_E_NOMEM, "memory budget");
    unet_segment_opts_free(so);
    unet_model_free(m);
}
END_TEST

/* max_pixels, the option: every predict, segment and click call refuses an image of more
 * pixels (planes x height x width, before any resizing) with a message naming it, before a
 * pixel is read; at the limit the call runs. 0 / auto means no limit (these calls stream). */
START_TEST(test_max_pixels_option)
{
    unet_model_t *m = model();
    unet_predict_opts_t *po;
    unet_segment_opts_t *so;
    unet_click_opts_t *co;
    ck_assert_int_eq(unet_predict_opts_create(&po), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_click_opts_create(&co), UNET_OK);
    /* The key in the table: range, "auto", refusals naming the bounds. */
    ck_assert_int_eq(unet_predict_opts_set(po, "max_pixels", "0"), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set(po, "max_pixels", "auto"), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_max_pixels(po, -5), UNET_E_INVALID_ARG);
    ck_assert_msg(strstr(unet_last_error(), "max_pixels = -5 is out of range"), "%s",
                  unet_last_error());
    const char *json;
    ck_assert_int_eq(unet_predict_opts_describe(po, &json), UNET_OK);
    ck_assert_msg(strstr(json, "\"max_pixels\""), "%s", json);

    ck_assert_int_eq(unet_predict_opts_set_max_pixels(po, 3 * 40 * 40), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_max_pixels(so, 40 * 40), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "max_pixels", "1600"), UNET_OK);
    float *in = calloc(3 * 40 * 41, sizeof *in), *out = calloc(3 * 40 * 41, sizeof *out);
    uint32_t *labels = calloc(40 * 41, sizeof *labels);
    ck_assert(in && out && labels);
    int64_t over[4] = {3, 1, 40, 41}, at[4] = {3, 1, 40, 40};
    watch w = start();
    int rc = unet_predict(m, po, in, UNET_F32, 4, over, out, 3 * 40 * 41);
    refused(w, rc, UNET_E_INVALID_ARG, "more than max_pixels (4800)");
    w = start();
    rc = unet_predict_stream(m, po, 3, 1, 40, 41, read_zero, NULL, write_any, NULL);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels");
    double mean[3], std[3];
    w = start();
    rc = unet_predict_stats(m, po, 3, 1, 40, 41, read_zero, NULL, mean, std, 3);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels");
    ck_assert_int_eq(unet_predict(m, po, in, UNET_F32, 4, at, out, 3 * 40 * 40), UNET_OK);

    w = start();
    rc = unet_segment(m, so, in, UNET_F32, 2, over + 2, labels, 40 * 41, NULL);
    refused(w, rc, UNET_E_INVALID_ARG, "more than max_pixels (1600)");
    /* Counted on the image as given: resizing by 2 does not count. */
    ck_assert_int_eq(unet_segment_opts_set_scale(so, 2), UNET_OK);
    rc = unet_segment(m, so, in, UNET_F32, 2, at + 2, labels, 40 * 40, NULL);
    ck_assert_msg(rc == UNET_OK, "%d: %s", rc, unet_last_error());
    w = start();
    rc = unet_segment_stream(m, so, 1, 40, 41, read_zero, NULL, write_labels, NULL, NULL);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels");

    unet_click_session_t *cs = (unet_click_session_t *)0x1;
    w = start();
    rc = unet_click_session_create(m, co, in, UNET_F32, 2, over + 2, &cs);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels");
    ck_assert_ptr_null(cs);
    ck_assert_int_eq(unet_click_session_create(m, co, in, UNET_F32, 2, at + 2, &cs), UNET_OK);
    unet_click_session_free(cs);

    /* auto: no limit on these streaming calls. */
    ck_assert_int_eq(unet_predict_opts_set(po, "max_pixels", "auto"), UNET_OK);
    ck_assert_int_eq(unet_predict(m, po, in, UNET_F32, 4, over, out, 3 * 40 * 41), UNET_OK);
    free(in);
    free(out);
    free(labels);
    unet_click_opts_free(co);
    unet_segment_opts_free(so);
    unet_predict_opts_free(po);
    unet_model_free(m);
}
END_TEST

/* A tiled 8-bit TIFF of w x h zeros, zstd-compressed (32768^2 pixels in ~50 KB). */
static void write_zeros_tiff(const char *path, uint32_t w, uint32_t h, int compression)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
    uint32_t tile = w < 1024 ? 16 : 1024;
    TIFFSetField(t, TIFFTAG_TILEWIDTH, tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
    tmsize_t size = TIFFTileSize(t);
    uint8_t *zeros = calloc((size_t)size, 1);
    ck_assert_ptr_nonnull(zeros);
    for (uint32_t k = 0; k < TIFFNumberOfTiles(t); k++)
        ck_assert_int_eq(TIFFWriteEncodedTile(t, k, zeros, size), size);
    free(zeros);
    TIFFClose(t);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* The whole-image read (the CLI's --overlay / --measure path): a 50 KB zstd TIFF declaring
 * 32768^2 pixels is refused by max_pixels (default 2^28) before a pixel is decoded; it used to
 * take 34 s and 5.2 GB. A caller's own limit applies both ways. */
START_TEST(test_whole_image_read_max_pixels)
{
    char dir[] = "/tmp/unet_limits_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char big[600], small[600];
    snprintf(big, sizeof big, "%s/zstd_32768.tif", dir);
    snprintf(small, sizeof small, "%s/small.tif", dir);
    write_zeros_tiff(big, 32768, 32768, COMPRESSION_ZSTD);
    printf("%s: %ld bytes\n", big, file_size(big));
    ck_assert_int_lt(file_size(big), 100000);
    float *data = (float *)0x1;
    int64_t shape[3];
    watch w = start();
    int rc = unet_tiff_read(big, &data, shape);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels (268435456)");
    ck_assert_ptr_null(data);
    ck_assert_msg(strstr(unet_last_error(), "--max-pixels"), "%s", unet_last_error());

    write_zeros_tiff(small, 64, 48, COMPRESSION_ADOBE_DEFLATE);
    w = start();
    rc = unet_tiff_read_limited(small, 64 * 48 - 1, &data, shape);
    refused(w, rc, UNET_E_INVALID_ARG, "max_pixels (3071)");
    ck_assert_int_eq(unet_tiff_read_limited(small, 64 * 48, &data, shape), UNET_OK);
    ck_assert(shape[0] == 1 && shape[1] == 48 && shape[2] == 64);
    ck_assert(data[0] == 0.0f && data[64 * 48 - 1] == 0.0f);
    unet_buffer_free(data);
    ck_assert_int_eq(unet_tiff_read_limited(small, -1, &data, shape), UNET_E_INVALID_ARG);
    unlink(big);
    unlink(small);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stream_of_2_62_pixels);
    tcase_add_test(tc, test_huge_halo_over_budget);
    tcase_add_test(tc, test_whole_tile_over_budget);
    tcase_add_test(tc, test_segment_stream_sizes);
    tcase_add_test(tc, test_forward_over_budget);
    tcase_add_test(tc, test_whole_image_read_max_pixels);
    tcase_add_test(tc, test_max_pixels_option);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
