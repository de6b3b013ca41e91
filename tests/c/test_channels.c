/* The channel rule (issue 15, point 5): unet_channel_rule's values (equal channels give the
 * channel itself, else the luminance in double; alpha ignored; RGBA for a 3-channel model;
 * 2 or 5 channels need an explicit channel), and every entry point applying that same rule:
 * unet_predict, unet_predict_stream, unet_predict_stats, unet_segment, click sessions,
 * unet_predict_tiff and unet_segment_tiff on an RGB TIFF (Photometric RGB, as cameras and
 * image editors write it) give bit for bit what they give the rule's output. TIFF stacks:
 * unet_segment_tiff segments a multi-page file plane by plane (labels 1..N in each page,
 * progress over the whole stack) and, with pages = channels, reads the pages as channels. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "io/tiff.h"
#include "unet.h"

#include "run_suite.h"

enum { H = 96, W = 80, N = H * W };

/* A colour image (3 or 4 channels, (C, H, W) uint8) of discs on a dim background: the discs
 * are bright in every channel with different weights, so R, G and B differ there; the first
 * rows are grey (R = G = B), so both branches of the rule run. */
static uint8_t *colour_image(int channels, unsigned seed)
{
    uint8_t *im = malloc((size_t)(channels * N));
    const double weight[4] = {1.0, 0.7, 0.4, 1.0};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            seed = seed * 1103515245u + 12345u;
            int noise = (int)(seed >> 16) % 40;
            double dy = (y % 32) - 16, dx = (x % 32) - 16;
            int disc = dy * dy + dx * dx < 100 ? 200 : 0;
            for (int c = 0; c < channels; c++) {
                double v = c == 3 ? 255 - noise : (y < 8 ? disc + noise : weight[c] * disc + noise);
                im[(c * H + y) * W + x] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    return im;
}

/* A one-channel network whose output is sigmoid(10 x - 5) of the normalised image x (default
 * percentile normalisation, so the rule runs before the statistics): the discs are objects. */
static unet_model_t *model(void)
{
    unet_model_t *m;
    ck_assert_msg(unet_model_create("{\"depth\": 1, \"base_features\": 1, \"kernel_size\": 1, "
                                    "\"block\": \"c\", \"final_activation\": \"sigmoid\"}",
                                    1, &m) == UNET_OK,
                  "%s", unet_last_error());
    const float one = 1, zero = 0, w = 10, b = -5;
    ck_assert_int_eq(unet_model_set_tensor(m, "down0.conv0.weight", &one, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "down0.conv0.bias", &zero, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "out.weight", &w, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "out.bias", &b, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"foreground\"}"),
                     UNET_OK);
    return m;
}

static void assert_equal_floats(const float *a, const float *b, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            ck_abort_msg("%s: element %lld is %.9g, expected %.9g", what, (long long)i, a[i],
                         b[i]);
}

static void assert_equal_labels(const uint32_t *a, const uint32_t *b, int64_t n,
                                const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            ck_abort_msg("%s: pixel %lld has label %u, expected %u", what, (long long)i, a[i],
                         b[i]);
}

START_TEST(rule_values)
{
    const int64_t shape3[3] = {3, H, W}, shape4[3] = {4, H, W};
    uint8_t *rgb = colour_image(3, 1), *rgba = colour_image(4, 1);
    float *out = malloc((size_t)(3 * N) * sizeof *out), *out4 = malloc((size_t)N * 4);
    ck_assert_int_eq(unet_channel_rule(1, UNET_CHANNEL_AUTO, rgb, UNET_U8, 3, shape3, out, N),
                     UNET_OK);
    int64_t equal = 0, mixed = 0;
    for (int64_t i = 0; i < N; i++) {
        uint8_t r = rgb[i], g = rgb[N + i], b = rgb[2 * N + i];
        if (r == g && g == b) {
            equal++;
            ck_assert_float_eq(out[i], r); /* the channel itself */
        } else {
            mixed++;
            ck_assert_float_eq(out[i], (float)(0.299 * r + 0.587 * g + 0.114 * b));
        }
    }
    ck_assert_int_gt(equal, 8 * W - 1);
    ck_assert_int_gt(mixed, 100);
    /* Alpha is ignored: RGBA with the same RGB gives the same numbers. */
    memcpy(rgba, rgb, (size_t)(3 * N));
    ck_assert_int_eq(unet_channel_rule(1, -1, rgba, UNET_U8, 3, shape4, out4, N), UNET_OK);
    assert_equal_floats(out4, out, N, "RGBA for one channel");
    /* A three-channel model reads RGB as it is, RGBA without alpha. */
    ck_assert_int_eq(unet_channel_rule(3, -1, rgba, UNET_U8, 3, shape4, out, 3 * N), UNET_OK);
    for (int64_t i = 0; i < 3 * N; i++)
        ck_assert_float_eq(out[i], rgb[i]);
    /* 16-bit grey given as three equal channels: exactly the channel. */
    uint16_t *grey3 = malloc((size_t)(3 * N) * 2);
    for (int64_t i = 0; i < N; i++)
        grey3[i] = grey3[N + i] = grey3[2 * N + i] = (uint16_t)(i * 37 % 65536);
    ck_assert_int_eq(unet_channel_rule(1, -1, grey3, UNET_U16, 3, shape3, out, N), UNET_OK);
    for (int64_t i = 0; i < N; i++)
        ck_assert_float_eq(out[i], grey3[i]);
    /* An explicit channel, (P, C, H, W) input. */
    const int64_t stack[4] = {1, 3, H, W};
    ck_assert_int_eq(unet_channel_rule(1, 1, rgb, UNET_U8, 4, stack, out, N), UNET_OK);
    for (int64_t i = 0; i < N; i++)
        ck_assert_float_eq(out[i], rgb[N + i]);
    /* Two channels (or five) need an explicit channel. */
    const int64_t shape2[3] = {2, H, W};
    ck_assert_int_eq(unet_channel_rule(1, -1, rgb, UNET_U8, 3, shape2, out, N), UNET_E_SHAPE);
    ck_assert_msg(strstr(unet_last_error(), "channel option") != NULL, "%s", unet_last_error());
    ck_assert_int_eq(unet_channel_rule(1, 1, rgb, UNET_U8, 3, shape2, out, N), UNET_OK);
    for (int64_t i = 0; i < N; i++)
        ck_assert_float_eq(out[i], rgb[N + i]);
    uint8_t *five = calloc(5, N);
    const int64_t shape5[3] = {5, H, W};
    ck_assert_int_eq(unet_channel_rule(1, -1, five, UNET_U8, 3, shape5, out, N), UNET_E_SHAPE);
    ck_assert_int_eq(unet_channel_rule(1, 4, five, UNET_U8, 3, shape5, out, N), UNET_OK);
    /* A model with two channels takes two as they are; others are refused. */
    ck_assert_int_eq(unet_channel_rule(2, -1, rgb, UNET_U8, 3, shape2, out, 2 * N), UNET_OK);
    for (int64_t i = 0; i < 2 * N; i++)
        ck_assert_float_eq(out[i], rgb[i]);
    ck_assert_int_eq(unet_channel_rule(2, -1, rgb, UNET_U8, 3, shape3, out, 2 * N), UNET_E_SHAPE);
    /* Bad arguments. */
    ck_assert_int_eq(unet_channel_rule(1, 3, rgb, UNET_U8, 3, shape3, out, N), UNET_E_SHAPE);
    ck_assert_msg(strstr(unet_last_error(), "channel 3 does not exist") != NULL, "%s",
                  unet_last_error());
    ck_assert_int_eq(unet_channel_rule(3, 0, rgb, UNET_U8, 3, shape3, out, 3 * N), UNET_E_SHAPE);
    ck_assert_int_eq(unet_channel_rule(1, -2, rgb, UNET_U8, 3, shape3, out, N),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_channel_rule(1, -1, rgb, UNET_U8, 3, shape3, out, N - 1), UNET_E_SHAPE);
    ck_assert_int_eq(unet_channel_rule(1, -1, NULL, UNET_U8, 3, shape3, out, N),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_channel_rule(0, -1, rgb, UNET_U8, 3, shape3, out, N),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_channel_rule(1, -1, rgb, (unet_dtype_t)99, 3, shape3, out, N),
                     UNET_E_INVALID_ARG);
    free(rgb);
    free(rgba);
    free(grey3);
    free(five);
    free(out);
    free(out4);
}
END_TEST

/* The channel option through the generic setter ("auto" or an index). */
static int set_channel(unet_predict_opts_t *o, const char *value)
{
    return unet_predict_opts_set(o, "channel", value);
}

/* One plane of uint8 or float pixels, (channels, H, W), as a region reader. */
typedef struct plane_reader {
    const uint8_t *u8;
    const float *f32;
    int channels;
} plane_reader;

static int read_plane(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst)
{
    const plane_reader *r = user;
    ck_assert_int_eq(plane, 0);
    for (int c = 0; c < r->channels; c++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                int64_t k = (c * H + y + i) * W + x + j;
                dst[(c * h + i) * w + j] = r->u8 ? r->u8[k] : r->f32[k];
            }
    return 0;
}

typedef struct plane_writer {
    float *out;
} plane_writer;

static int write_f32(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                     const float *src)
{
    const plane_writer *p = user;
    ck_assert_int_eq(plane, 0);
    for (int64_t i = 0; i < h; i++)
        memcpy(p->out + (y + i) * W + x, src + i * w, (size_t)w * sizeof *src);
    return 0;
}

START_TEST(predict_entry_points_apply_the_rule)
{
    unet_model_t *m = model();
    uint8_t *rgba = colour_image(4, 2);
    const int64_t shape4[3] = {4, H, W}, grey[2] = {H, W};
    float *lum = malloc((size_t)N * 4), *want = malloc((size_t)N * 4), *got = malloc((size_t)N * 4);
    ck_assert_int_eq(unet_channel_rule(1, -1, rgba, UNET_U8, 3, shape4, lum, N), UNET_OK);
    ck_assert_int_eq(unet_predict(m, NULL, lum, UNET_F32, 2, grey, want, N), UNET_OK);
    ck_assert_int_eq(unet_predict(m, NULL, rgba, UNET_U8, 3, shape4, got, N), UNET_OK);
    assert_equal_floats(got, want, N, "unet_predict on RGBA");
    plane_reader rd = {rgba, NULL, 4}, rl = {NULL, lum, 1};
    plane_writer wr = {got};
    memset(got, 0, (size_t)N * 4);
    ck_assert_int_eq(unet_predict_stream(m, NULL, 1, 4, H, W, read_plane, &rd, write_f32, &wr),
                     UNET_OK);
    assert_equal_floats(got, want, N, "unet_predict_stream on RGBA");
    /* Statistics: one pair per plane and model channel, those of the luminance. */
    double mean[2], std[2];
    ck_assert_int_eq(unet_predict_stats(m, NULL, 1, 4, H, W, read_plane, &rd, mean, std, 1),
                     UNET_OK);
    ck_assert_int_eq(unet_predict_stats(m, NULL, 1, 1, H, W, read_plane, &rl, mean + 1,
                                        std + 1, 1),
                     UNET_OK);
    ck_assert_double_eq(mean[0], mean[1]);
    ck_assert_double_eq(std[0], std[1]);
    ck_assert_int_eq(unet_predict_stats(m, NULL, 1, 4, H, W, read_plane, &rd, mean, std, 4),
                     UNET_E_SHAPE);
    /* An explicit channel: G alone. */
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(set_channel(o, "1"), UNET_OK);
    float *g = malloc((size_t)N * 4);
    for (int64_t i = 0; i < N; i++)
        g[i] = rgba[N + i];
    ck_assert_int_eq(unet_predict(m, NULL, g, UNET_F32, 2, grey, want, N), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, rgba, UNET_U8, 3, shape4, got, N), UNET_OK);
    assert_equal_floats(got, want, N, "unet_predict channel 1");
    /* Two channels without a channel: refused, naming the option. */
    const int64_t shape2[3] = {2, H, W};
    ck_assert_int_eq(set_channel(o, "auto"), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, rgba, UNET_U8, 3, shape2, got, N), UNET_E_SHAPE);
    ck_assert_msg(strstr(unet_last_error(), "channel") != NULL, "%s", unet_last_error());
    ck_assert_int_eq(set_channel(o, "-2"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(set_channel(o, "65536"), UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    free(g);
    free(lum);
    free(want);
    free(got);
    free(rgba);
    unet_model_free(m);
}
END_TEST

START_TEST(segment_and_click_apply_the_rule)
{
    unet_model_t *m = model();
    uint8_t *rgb = colour_image(3, 3);
    const int64_t shape3[3] = {3, H, W}, grey[2] = {H, W};
    float *lum = malloc((size_t)N * 4);
    ck_assert_int_eq(unet_channel_rule(1, -1, rgb, UNET_U8, 3, shape3, lum, N), UNET_OK);
    uint32_t *want = malloc((size_t)N * 4), *got = malloc((size_t)N * 4), cw = 0, cg = 0;
    ck_assert_int_eq(unet_segment(m, NULL, lum, UNET_F32, 2, grey, want, N, &cw), UNET_OK);
    ck_assert_int_gt(cw, 0);
    ck_assert_int_eq(unet_segment(m, NULL, rgb, UNET_U8, 3, shape3, got, N, &cg), UNET_OK);
    ck_assert_uint_eq(cg, cw);
    assert_equal_labels(got, want, N, "unet_segment on RGB");
    /* Resized on the way (scale 0.5): the rule still gives the luminance's labels. */
    unet_segment_opts_t *so;
    ck_assert_int_eq(unet_segment_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_scale(so, 0.5), UNET_OK);
    ck_assert_int_eq(unet_segment(m, so, lum, UNET_F32, 2, grey, want, N, &cw), UNET_OK);
    ck_assert_int_eq(unet_segment(m, so, rgb, UNET_U8, 3, shape3, got, N, &cg), UNET_OK);
    ck_assert_uint_eq(cg, cw);
    unet_segment_opts_free(so);
    /* Click sessions: the object under a click equals the one in the luminance's session. */
    unet_click_session_t *a, *b;
    ck_assert_int_eq(unet_click_session_create(m, NULL, lum, UNET_F32, 2, grey, &a), UNET_OK);
    ck_assert_int_eq(unet_click_session_create(m, NULL, rgb, UNET_U8, 3, shape3, &b), UNET_OK);
    unet_click_result_t *ra, *rb;
    ck_assert_int_eq(unet_click(a, 16, 16, 0, &ra), UNET_OK);
    ck_assert_int_eq(unet_click(b, 16, 16, 0, &rb), UNET_OK);
    int64_t area_a, area_b, box_a[4], box_b[4];
    ck_assert_int_eq(unet_click_result_area(ra, &area_a), UNET_OK);
    ck_assert_int_eq(unet_click_result_area(rb, &area_b), UNET_OK);
    ck_assert_int_gt(area_a, 20);
    ck_assert_int_eq(area_a, area_b);
    ck_assert_int_eq(unet_click_result_bbox(ra, box_a), UNET_OK);
    ck_assert_int_eq(unet_click_result_bbox(rb, box_b), UNET_OK);
    ck_assert_mem_eq(box_a, box_b, sizeof box_a);
    const uint8_t *ma, *mb;
    ck_assert_int_eq(unet_click_result_mask(ra, &ma), UNET_OK);
    ck_assert_int_eq(unet_click_result_mask(rb, &mb), UNET_OK);
    ck_assert_mem_eq(ma, mb, (size_t)(box_a[2] * box_a[3]));
    unet_click_result_free(ra);
    unet_click_result_free(rb);
    /* The session's channel is fixed: another one needs a new session. */
    unet_click_opts_t *co;
    ck_assert_int_eq(unet_click_opts_create(&co), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "channel", "2"), UNET_OK);
    ck_assert_int_eq(unet_click_session_set_opts(b, co), UNET_E_INVALID_ARG);
    unet_click_session_free(a);
    unet_click_session_free(b);
    /* Two channels are refused by the session too, unless a channel is chosen. */
    const int64_t shape2[3] = {2, H, W};
    ck_assert_int_eq(unet_click_session_create(m, NULL, rgb, UNET_U8, 3, shape2, &b),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_click_session_create(m, co, rgb, UNET_U8, 3, shape3, &b), UNET_OK);
    unet_click_session_free(b);
    unet_click_opts_free(co);
    free(lum);
    free(want);
    free(got);
    free(rgb);
    unet_model_free(m);
}
END_TEST

/* An RGB TIFF as cameras and editors write it: chunky, Photometric RGB, 8 bits. */
static void write_rgb_tiff(const char *path, const uint8_t *rgb)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)W);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)H);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    uint8_t row[3 * W];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++)
                row[3 * x + c] = rgb[(c * H + y) * W + x];
        ck_assert_int_eq(TIFFWriteScanline(t, row, (uint32_t)y, 0), 1);
    }
    TIFFClose(t);
}

/* A stack of `pages` single-channel uint8 pages, through the library's own writer. */
static void write_stack(const char *path, const uint8_t *pages_data, int pages)
{
    unet__tiff_writer *w;
    ck_assert_int_eq(unet__tiff_writer_open(path, W, H, pages, 1, UNET_U8, NULL, &w), UNET_OK);
    for (int p = 0; p < pages; p++)
        ck_assert_int_eq(unet__tiff_write_rows(w, p, 0, H, pages_data + (size_t)p * N), UNET_OK);
    ck_assert_int_eq(unet__tiff_writer_close(w), UNET_OK);
}

static void tmp_name(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "/tmp/unet_channels_%d_%s.tif", (int)getpid(), what);
}

/* Label page p of a label TIFF as uint32. */
static void read_label_page(const char *path, int64_t page, uint32_t *labels)
{
    unet__tiff_reader *r;
    ck_assert_int_eq(unet__tiff_open(path, &r), UNET_OK);
    const unet__tiff_info *info = unet__tiff_reader_info(r);
    ck_assert_int_eq(info->dtype, UNET_U16);
    uint16_t *raw = malloc((size_t)N * 2);
    ck_assert_int_eq(unet__tiff_read_region(r, page, 0, 0, H, W, raw), UNET_OK);
    for (int64_t i = 0; i < N; i++)
        labels[i] = raw[i];
    free(raw);
    unet__tiff_close(r);
}

START_TEST(tiff_files_apply_the_rule)
{
    unet_model_t *m = model();
    uint8_t *rgb = colour_image(3, 4);
    const int64_t shape3[3] = {3, H, W}, grey[2] = {H, W};
    char in[96], out[96];
    tmp_name(in, sizeof in, "rgb");
    tmp_name(out, sizeof out, "out");
    write_rgb_tiff(in, rgb);
    int64_t planes, channels;
    ck_assert_int_eq(unet_tiff_info(in, &planes, &channels, NULL, NULL, NULL), UNET_OK);
    ck_assert_int_eq(channels, 3);
    float *lum = malloc((size_t)N * 4), *want = malloc((size_t)N * 4), *back;
    ck_assert_int_eq(unet_channel_rule(1, -1, rgb, UNET_U8, 3, shape3, lum, N), UNET_OK);
    ck_assert_int_eq(unet_predict(m, NULL, lum, UNET_F32, 2, grey, want, N), UNET_OK);
    ck_assert_int_eq(unet_predict_tiff(m, NULL, in, out, UNET_F32, 0), UNET_OK);
    int64_t bshape[3];
    ck_assert_int_eq(unet_tiff_read(out, &back, bshape), UNET_OK);
    ck_assert_int_eq(bshape[0], 1);
    assert_equal_floats(back, want, N, "unet_predict_tiff on an RGB TIFF");
    unet_buffer_free(back);
    /* The same image from memory into a TIFF: the same file contents, float or scaled uint8. */
    char out2[96];
    tmp_name(out2, sizeof out2, "out2");
    ck_assert_int_eq(unet_predict_to_tiff(m, NULL, rgb, UNET_U8, 3, shape3, out2, UNET_F32, 0),
                     UNET_OK);
    ck_assert_int_eq(unet_tiff_read(out2, &back, bshape), UNET_OK);
    assert_equal_floats(back, want, N, "unet_predict_to_tiff on RGB");
    unet_buffer_free(back);
    float *u8a, *u8b;
    ck_assert_int_eq(unet_predict_tiff(m, NULL, in, out, UNET_U8, UNET_TIFF_DEFLATE), UNET_OK);
    ck_assert_int_eq(unet_predict_to_tiff(m, NULL, rgb, UNET_U8, 3, shape3, out2, UNET_U8,
                                          UNET_TIFF_DEFLATE),
                     UNET_OK);
    unet_dtype_t dt;
    ck_assert_int_eq(unet_tiff_info(out2, NULL, NULL, NULL, NULL, &dt), UNET_OK);
    ck_assert_int_eq(dt, UNET_U8);
    ck_assert_int_eq(unet_tiff_read(out, &u8a, bshape), UNET_OK);
    ck_assert_int_eq(unet_tiff_read(out2, &u8b, bshape), UNET_OK);
    assert_equal_floats(u8b, u8a, N, "uint8 output of both");
    for (int64_t i = 0; i < N; i++)
        ck_assert_float_eq(u8a[i], nearbyintf(want[i] * 255));
    unet_buffer_free(u8a);
    unet_buffer_free(u8b);
    ck_assert_int_eq(unet_predict_to_tiff(m, NULL, rgb, UNET_U8, 3, shape3, out2, UNET_I16, 0),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_to_tiff(m, NULL, rgb, UNET_U8, 3, shape3, NULL, UNET_F32, 0),
                     UNET_E_INVALID_ARG);
    const int64_t shape2[3] = {2, H, W};
    remove(out2);
    ck_assert_int_eq(unet_predict_to_tiff(m, NULL, rgb, UNET_U8, 3, shape2, out2, UNET_F32, 0),
                     UNET_E_SHAPE);
    ck_assert_int_ne(access(out2, F_OK), 0);
    uint32_t *lw = malloc((size_t)N * 4), *lg = malloc((size_t)N * 4), cw = 0, cg = 0;
    ck_assert_int_eq(unet_segment(m, NULL, lum, UNET_F32, 2, grey, lw, N, &cw), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, NULL, in, out, 0, &cg), UNET_OK);
    ck_assert_uint_eq(cg, cw);
    read_label_page(out, 0, lg);
    assert_equal_labels(lg, lw, N, "unet_segment_tiff on an RGB TIFF");
    remove(in);
    remove(out);
    free(lum);
    free(want);
    free(lw);
    free(lg);
    free(rgb);
    unet_model_free(m);
}
END_TEST

static int stack_progress(void *user, double f, const char *stage)
{
    double *last = user;
    (void)stage;
    ck_assert_msg(f >= *last, "progress went back from %g to %g", *last, f);
    ck_assert(f <= 1.0);
    *last = f;
    return 0;
}

START_TEST(tiff_stacks)
{
    unet_model_t *m = model();
    enum { P = 3 };
    /* Three different planes: the colour image's channels, shifted. */
    uint8_t *rgb = colour_image(3, 5);
    const int64_t grey[2] = {H, W};
    char in[96], out[96];
    tmp_name(in, sizeof in, "stack");
    tmp_name(out, sizeof out, "labels");
    write_stack(in, rgb, P);
    /* Pages are planes: a label stack, each page as unet_segment labels that plane. */
    unet_segment_opts_t *so;
    ck_assert_int_eq(unet_segment_opts_create(&so), UNET_OK);
    double last = 0;
    ck_assert_int_eq(unet_segment_opts_set_progress(so, stack_progress, &last), UNET_OK);
    uint32_t total = 0, sum = 0, count;
    ck_assert_int_eq(unet_segment_tiff(m, so, in, out, UNET_TIFF_DEFLATE, &total), UNET_OK);
    ck_assert_double_eq(last, 1.0);
    ck_assert_int_eq(unet_segment_opts_set_progress(so, NULL, NULL), UNET_OK);
    int64_t planes, channels;
    ck_assert_int_eq(unet_tiff_info(out, &planes, &channels, NULL, NULL, NULL), UNET_OK);
    ck_assert_int_eq(planes, P);
    ck_assert_int_eq(channels, 1);
    uint32_t *want = malloc((size_t)N * 4), *got = malloc((size_t)N * 4);
    for (int p = 0; p < P; p++) {
        ck_assert_int_eq(unet_segment(m, NULL, rgb + (size_t)p * N, UNET_U8, 2, grey, want, N,
                                      &count),
                         UNET_OK);
        ck_assert_int_gt(count, 0);
        sum += count;
        read_label_page(out, p, got);
        assert_equal_labels(got, want, N, "a plane of the label stack");
        uint32_t max = 0;
        for (int64_t i = 0; i < N; i++)
            max = got[i] > max ? got[i] : max;
        ck_assert_uint_eq(max, count); /* ids 1..N in each plane */
    }
    ck_assert_uint_eq(total, sum);
    /* Pages are channels: one plane, read as RGB by the channel rule. */
    ck_assert_int_eq(unet_segment_opts_set(so, "pages", "channels"), UNET_OK);
    const int64_t shape3[3] = {3, H, W};
    ck_assert_int_eq(unet_segment(m, NULL, rgb, UNET_U8, 3, shape3, want, N, &count), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, so, in, out, 0, &total), UNET_OK);
    ck_assert_uint_eq(total, count);
    ck_assert_int_eq(unet_tiff_info(out, &planes, NULL, NULL, NULL, NULL), UNET_OK);
    ck_assert_int_eq(planes, 1);
    read_label_page(out, 0, got);
    assert_equal_labels(got, want, N, "pages as channels");
    /* The same for prediction: one output page. */
    unet_predict_opts_t *po;
    ck_assert_int_eq(unet_predict_opts_create(&po), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set(po, "pages", "channels"), UNET_OK);
    ck_assert_int_eq(unet_predict_tiff(m, po, in, out, UNET_F32, 0), UNET_OK);
    ck_assert_int_eq(unet_tiff_info(out, &planes, NULL, NULL, NULL, NULL), UNET_OK);
    ck_assert_int_eq(planes, 1);
    ck_assert_int_eq(unet_predict_opts_set(po, "pages", "sideways"), UNET_E_INVALID_ARG);
    /* Four pages as channels for a one-channel model: RGBA, alpha ignored; five: refused
     * before any output is written. */
    uint8_t *five = calloc(5, N);
    memcpy(five, rgb, (size_t)(3 * N));
    write_stack(in, five, 5);
    remove(out);
    ck_assert_int_eq(unet_segment_tiff(m, so, in, out, 0, &total), UNET_E_SHAPE);
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_int_eq(unet_segment_opts_set(so, "channel", "0"), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, so, in, out, 0, &total), UNET_OK);
    ck_assert_int_eq(unet_segment(m, NULL, rgb, UNET_U8, 2, grey, want, N, &count), UNET_OK);
    ck_assert_uint_eq(total, count);
    unet_predict_opts_free(po);
    unet_segment_opts_free(so);
    remove(in);
    remove(out);
    free(five);
    free(want);
    free(got);
    free(rgb);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("channels");
    TCase *tc = tcase_create("channels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, rule_values);
    tcase_add_test(tc, predict_entry_points_apply_the_rule);
    tcase_add_test(tc, segment_and_click_apply_the_rule);
    tcase_add_test(tc, tiff_files_apply_the_rule);
    tcase_add_test(tc, tiff_stacks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
