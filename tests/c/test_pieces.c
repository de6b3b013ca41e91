/* What hosts that cut an image into pieces (Dask chunks, a cluster) need from the library:
 * unet_predict_stats gives the whole-plane normalisation as "fixed" parameters that reproduce
 * it bit for bit (percentile values exact against a sort, zmuv, the model's own preprocessing,
 * planes, channels, progress, cancel, a failing reader, argument checks), and
 * unet_segment_probabilities turns a prediction made elsewhere into the labels unet_segment
 * gives (labels, count, foreground, 3-class, argument checks). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "run_suite.h"

typedef struct rng {
    uint64_t s;
} rng;

static double uniform(rng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(uint32_t)(r->s >> 33) / 2147483648.0;
}

static unet_model_t *small_model(int in_channels, int out_channels, const char *final)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"depth\": 3, \"base_features\": 8, \"in_channels\": %d, \"out_channels\": %d, "
             "\"final_activation\": \"%s\"}",
             in_channels, out_channels, final);
    unet_model_t *m = NULL;
    ck_assert_msg(unet_model_create(json, 5, &m) == UNET_OK, "%s", unet_last_error());
    return m;
}

/* An in-memory float (P, C, H, W) image as a read callback; `fail_at` (>= 0) makes the read
 * of that row fail, `nan_at` (>= 0) puts a NaN at that flat index. */
typedef struct image {
    const float *data;
    int64_t channels, height, width;
    int64_t fail_at;
    int64_t reads;
} image;

static int read_image(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst)
{
    image *im = user;
    im->reads++;
    if (im->fail_at >= y && im->fail_at < y + h)
        return 7;
    for (int64_t c = 0; c < im->channels; c++)
        for (int64_t i = 0; i < h; i++)
            memcpy(dst + (c * h + i) * w,
                   im->data + ((plane * im->channels + c) * im->height + y + i) * im->width + x,
                   (size_t)w * sizeof(float));
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* NumPy's percentile (linear interpolation) of n floats. */
static double numpy_percentile(const float *v, int64_t n, double q)
{
    float *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_float);
    double pos = q / 100.0 * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double t = pos - (double)k, out = s[k];
    if (t > 0 && k + 1 < n)
        out = out + t * (s[k + 1] - out);
    free(s);
    return out;
}

/* Values with ties and a long tail, as microscopy images have. */
static float *random_image(int64_t n, rng *r)
{
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        double u = uniform(r);
        v[i] = (float)floor(u < 0.9 ? 100 + 400 * u : 500 + 60000 * (u - 0.9) * (u - 0.9));
    }
    return v;
}

static unet_predict_opts_t *opts_with(const char *json)
{
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_msg(unet_predict_opts_set_json(o, json) == UNET_OK, "%s", unet_last_error());
    return o;
}

/* Predict `planes` planes of one channel with opts, and each plane with "fixed" from the
 * statistics: the outputs must be the same bits. */
static void assert_fixed_reproduces(unet_model_t *m, unet_predict_opts_t *o, const float *img,
                                    int64_t planes, int64_t H, int64_t W)
{
    image im = {img, 1, H, W, -1, 0};
    double mean[4], sd[4];
    ck_assert_msg(unet_predict_stats(m, o, planes, 1, H, W, read_image, &im, mean, sd,
                                     (size_t)planes) == UNET_OK, "%s", unet_last_error());
    int64_t shape[4] = {planes, 1, H, W}, n = H * W;
    float *want = malloc((size_t)(planes * n) * 4), *got = malloc((size_t)n * 4);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 4, shape, want, (size_t)(planes * n)),
                     UNET_OK);
    for (int64_t p = 0; p < planes; p++) {
        unet_predict_opts_t *f = opts_with("{\"precise\": false}");
        ck_assert_int_eq(unet_predict_opts_set_normalize(f, UNET_NORMALIZE_FIXED, mean[p], sd[p]),
                         UNET_OK);
        ck_assert_int_eq(unet_predict(m, f, img + p * n, UNET_F32, 2, shape + 2, got, (size_t)n),
                         UNET_OK);
        ck_assert_msg(memcmp(got, want + p * n, (size_t)n * 4) == 0,
                      "plane %lld: fixed (%.17g, %.17g) differs from the whole plane's "
                      "normalisation", (long long)p, mean[p], sd[p]);
        unet_predict_opts_free(f);
    }
    free(want);
    free(got);
}

START_TEST(stats_percentile_exact)
{
    rng r = {3};
    const int64_t P = 2, H = 97, W = 131, n = H * W;
    float *img = random_image(P * n, &r);
    for (int64_t i = n; i < P * n; i++) /* planes differ */
        img[i] = 2 * img[i] + 37;
    unet_model_t *m = small_model(1, 1, "sigmoid");
    unet_predict_opts_t *o = opts_with("{\"normalize\": \"percentile\", \"norm_low\": 2.5, "
                                       "\"norm_high\": 99.7}");
    image im = {img, 1, H, W, -1, 0};
    double mean[2], sd[2];
    ck_assert_int_eq(unet_predict_stats(m, o, P, 1, H, W, read_image, &im, mean, sd, 2),
                     UNET_OK);
    for (int64_t p = 0; p < P; p++) {
        double lo = numpy_percentile(img + p * n, n, 2.5);
        double hi = numpy_percentile(img + p * n, n, 99.7);
        ck_assert_msg(mean[p] == lo, "plane %lld low %.17g, sort gives %.17g", (long long)p,
                      mean[p], lo);
        ck_assert_msg(sd[p] == hi - lo + 1e-20, "plane %lld range %.17g, sort gives %.17g",
                      (long long)p, sd[p], hi - lo + 1e-20);
    }
    ck_assert_double_ne(mean[0], mean[1]);
    assert_fixed_reproduces(m, o, img, P, H, W);
    unet_predict_opts_free(o);
    unet_model_free(m);
    free(img);
}
END_TEST

/* The plane statistics of img (H x W) with each pair of percentiles equal a sort's. */
static void assert_percentiles_equal_sort(const float *img, int64_t H, int64_t W,
                                          const double (*qs)[2], size_t count)
{
    const int64_t n = H * W;
    unet_model_t *m = small_model(1, 1, "sigmoid");
    for (size_t i = 0; i < count; i++) {
        char json[120];
        snprintf(json, sizeof json, "{\"normalize\": \"percentile\", \"norm_low\": %g, "
                                    "\"norm_high\": %g}", qs[i][0], qs[i][1]);
        unet_predict_opts_t *o = opts_with(json);
        image im = {img, 1, H, W, -1, 0};
        double low, range;
        ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &low, &range, 1),
                         UNET_OK);
        double lo = numpy_percentile(img, n, qs[i][0]), hi = numpy_percentile(img, n, qs[i][1]);
        ck_assert_msg(low == lo, "q %g: low %.17g, sort gives %.17g", qs[i][0], low, lo);
        ck_assert_msg(range == hi - lo + 1e-20, "q %g: range %.17g, sort gives %.17g", qs[i][1],
                      range, hi - lo + 1e-20);
        unet_predict_opts_free(o);
    }
    unet_model_free(m);
}

/* Ties (integer images): the value after rank k is often rank k's own value, and sometimes the
 * next distinct one; both must equal a sort's. */
START_TEST(stats_percentile_exact_with_ties)
{
    rng r = {5};
    const int64_t H = 61, W = 53, n = H * W;
    float *img = random_image(n, &r);
    for (int64_t i = 0; i < n; i++)
        img[i] = floorf(img[i] / 100); /* mostly 1..4: heavy ties */
    const double qs[][2] = {{1, 99.8}, {2.5, 97.5}, {10, 90}, {33.3, 66.6}};
    assert_percentiles_equal_sort(img, H, W, qs, sizeof qs / sizeof qs[0]);
    free(img);
}
END_TEST

/* A resampled camera image's background peak: most of a 1024^2 plane within a few values
 * (fractions: the search, not the integer histogram), so the bin holding the low percentile
 * gathers hundreds of thousands of equal values for the final selection; both percentiles
 * must still equal a sort's. */
START_TEST(stats_percentile_exact_background_peak)
{
    rng r = {9};
    const int64_t H = 1024, W = 1024, n = H * W;
    float *img = malloc((size_t)n * sizeof *img);
    for (int64_t i = 0; i < n; i++) {
        double u = uniform(&r);
        img[i] = (float)(u < 0.8 ? 1000 + floor(7 * uniform(&r)) : floor(1000 + 60000 * u * u));
        img[i] /= 3; /* fractions */
    }
    unet_model_t *m = small_model(1, 1, "sigmoid");
    unet_predict_opts_t *o = opts_with("{\"normalize\": \"percentile\", \"norm_low\": 1, "
                                       "\"norm_high\": 99.8}");
    image im = {img, 1, H, W, -1, 0};
    double low, range;
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &low, &range, 1),
                     UNET_OK);
    double lo = numpy_percentile(img, n, 1), hi = numpy_percentile(img, n, 99.8);
    ck_assert_msg(low == lo, "low %.17g, sort gives %.17g", low, lo);
    ck_assert_msg(range == hi - lo + 1e-20, "range %.17g, sort gives %.17g", range,
                  hi - lo + 1e-20);
    unet_predict_opts_free(o);
    unet_model_free(m);
    free(img);
}
END_TEST

/* A peak of more values than the in-memory path selects among (3M of a 2048^2 plane within a
 * hair of one value): the statistics fall back to the search, and still equal a sort's. */
START_TEST(stats_percentile_exact_huge_peak)
{
    rng r = {10};
    const int64_t H = 2048, W = 2048, n = H * W;
    float *img = malloc((size_t)n * sizeof *img);
    ck_assert_ptr_nonnull(img);
    for (int64_t i = 0; i < n; i++) {
        double u = uniform(&r);
        img[i] = u < 0.72 ? 1000.0f / 3 + (float)floor(4 * uniform(&r)) * 3e-5f
                          : (float)(1000 + 60000 * u * u) / 7;
    }
    const double qs[][2] = {{1, 99.8}, {50, 70}};
    assert_percentiles_equal_sort(img, H, W, qs, 2);
    free(img);
}
END_TEST

START_TEST(stats_zmuv_fixed_none_and_model)
{
    rng r = {4};
    const int64_t H = 120, W = 88, n = H * W;
    float *img = random_image(2 * n, &r);
    unet_model_t *m = small_model(1, 1, "none");
    unet_predict_opts_t *o = opts_with("{\"normalize\": \"zmuv\"}");
    image im = {img, 1, H, W, -1, 0};
    double mean, sd, sum = 0, sq = 0;
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    for (int64_t i = 0; i < n; i++)
        sum += img[i];
    for (int64_t i = 0; i < n; i++)
        sq += (img[i] - sum / n) * (img[i] - sum / n);
    ck_assert_double_eq_tol(mean, sum / n, 1e-9 * fabs(sum / n));
    ck_assert_double_eq_tol(sd, sqrt(sq / n) + 1e-6, 1e-9 * sd);
    assert_fixed_reproduces(m, o, img, 2, H, W);
    unet_predict_opts_free(o);
    /* fixed gives its own parameters, none gives 0 and 1, and nothing is read. */
    o = opts_with("{\"normalize\": \"fixed\", \"norm_mean\": 12.5, \"norm_std\": 3}");
    im.reads = 0;
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    ck_assert(mean == 12.5 && sd == 3);
    unet_predict_opts_free(o);
    o = opts_with("{\"normalize\": \"none\"}");
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    ck_assert(mean == 0 && sd == 1);
    ck_assert_int_eq(im.reads, 0);
    assert_fixed_reproduces(m, o, img, 2, H, W);
    unet_predict_opts_free(o);
    /* auto: the model's preprocessing metadata (NULL options too). */
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing", "{\"normalize\": "
                                             "\"percentile\", \"low\": 1, \"high\": 99.8}"),
                     UNET_OK);
    ck_assert_int_eq(unet_predict_stats(m, NULL, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    ck_assert(mean == numpy_percentile(img, n, 1));
    o = opts_with("{\"normalize\": \"auto\"}");
    assert_fixed_reproduces(m, o, img, 2, H, W);
    unet_predict_opts_free(o);
    unet_model_free(m);
    free(img);
}
END_TEST

/* Channels: each channel's statistics are those of that channel alone. */
START_TEST(stats_channels)
{
    rng r = {5};
    const int64_t C = 3, H = 64, W = 72, n = H * W;
    float *img = random_image(C * n, &r);
    for (int64_t i = 0; i < n; i++)
        img[n + i] *= 3; /* channels differ */
    unet_model_t *m3 = small_model(3, 1, "sigmoid"), *m1 = small_model(1, 1, "sigmoid");
    unet_predict_opts_t *o = opts_with("{\"normalize\": \"percentile\"}");
    image im = {img, C, H, W, -1, 0};
    double mean[3], sd[3], m1mean, m1sd;
    ck_assert_int_eq(unet_predict_stats(m3, o, 1, C, H, W, read_image, &im, mean, sd, 3),
                     UNET_OK);
    for (int64_t c = 0; c < C; c++) {
        image one = {img + c * n, 1, H, W, -1, 0};
        ck_assert_int_eq(unet_predict_stats(m1, o, 1, 1, H, W, read_image, &one, &m1mean,
                                            &m1sd, 1), UNET_OK);
        ck_assert(mean[c] == m1mean && sd[c] == m1sd);
    }
    ck_assert_double_ne(mean[0], mean[1]);
    unet_predict_opts_free(o);
    unet_model_free(m3);
    unet_model_free(m1);
    free(img);
}
END_TEST

typedef struct progress_log {
    double last;
    int calls, cancel_after;
} progress_log;

static int on_progress(void *user, double fraction, const char *stage)
{
    progress_log *l = user;
    (void)stage;
    ck_assert_double_ge(fraction, l->last);
    l->last = fraction;
    return ++l->calls >= l->cancel_after;
}

START_TEST(stats_progress_cancel_and_errors)
{
    rng r = {6};
    const int64_t H = 50, W = 40, n = H * W;
    float *img = random_image(n, &r);
    unet_model_t *m = small_model(1, 1, "sigmoid");
    unet_predict_opts_t *o = opts_with("{\"normalize\": \"percentile\"}");
    image im = {img, 1, H, W, -1, 0};
    double mean = 5, sd = 5;
    progress_log log = {0, 0, 1000};
    ck_assert_int_eq(unet_predict_opts_set_progress(o, on_progress, &log), UNET_OK);
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    ck_assert_double_eq(log.last, 1.0);
    /* A progress callback that asks to stop, and a cancel request. */
    log = (progress_log){0, 0, 1};
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_E_CANCELLED);
    ck_assert(mean == 0 && sd == 0);
    ck_assert_int_eq(unet_predict_opts_set_progress(o, NULL, NULL), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_cancel(o), UNET_OK);
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_E_CANCELLED);
    ck_assert_int_eq(unet_predict_opts_reset_cancel(o), UNET_OK);
    /* A failing reader, a NaN. */
    im.fail_at = 30;
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_E_IO);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "callback returned 7"));
    im.fail_at = -1;
    img[77] = NAN;
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "non-finite"));
    img[77] = 1;
    /* Arguments. */
    ck_assert_int_eq(unet_predict_stats(NULL, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, NULL, &im, &mean, &sd, 1),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, NULL, &sd, 1),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 2),
                     UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "need 1"));
    ck_assert_int_eq(unet_predict_stats(m, o, 1, 2, H, W, read_image, &im, &mean, &sd, 2),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_predict_stats(m, o, 0, 1, H, W, read_image, &im, &mean, &sd, 0),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_predict_opts_set(o, "norm_low", "60"), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set(o, "norm_high", "40"), UNET_OK);
    ck_assert_int_ne(unet_predict_stats(m, o, 1, 1, H, W, read_image, &im, &mean, &sd, 1),
                     UNET_OK);
    unet_predict_opts_free(o);
    unet_model_free(m);
    free(img);
}
END_TEST

/* ---- unet_segment_probabilities ---- */

static unet_segment_opts_t *segment_opts(const char *json)
{
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_msg(unet_segment_opts_set_json(o, json) == UNET_OK, "%s", unet_last_error());
    return o;
}

/* unet_segment on `img` against unet_predict + unet_segment_probabilities. */
static uint32_t assert_probabilities_segment(unet_model_t *m, unet_segment_opts_t *o,
                                             const uint16_t *img, int64_t H, int64_t W, int C)
{
    int64_t shape[2] = {H, W}, n = H * W, pshape[3] = {C, H, W};
    uint32_t *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4), nwant, ngot;
    float *probs = malloc((size_t)(C * n) * 4);
    uint8_t *fg = malloc((size_t)n);
    ck_assert_msg(unet_segment(m, o, img, UNET_U16, 2, shape, want, (size_t)n, &nwant) ==
                      UNET_OK, "%s", unet_last_error());
    ck_assert_int_eq(unet_predict(m, NULL, img, UNET_U16, 2, shape, probs, (size_t)(C * n)),
                     UNET_OK);
    memset(got, 0xff, (size_t)n * 4);
    ck_assert_msg(unet_segment_probabilities(m, o, probs, 3, pshape, got, (size_t)n, fg,
                                             &ngot) == UNET_OK, "%s", unet_last_error());
    ck_assert_uint_eq(ngot, nwant);
    ck_assert_msg(memcmp(got, want, (size_t)n * 4) == 0, "labels differ from unet_segment");
    int64_t on = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert(got[i] == 0 || fg[i] == 1);
        on += fg[i];
    }
    ck_assert_int_gt(on, 0);
    ck_assert_int_lt(on, n);
    free(want);
    free(got);
    free(probs);
    free(fg);
    return ngot;
}

START_TEST(probabilities_equal_segment)
{
    const int64_t H = 200, W = 168, n = H * W, shape[3] = {1, H, W};
    uint16_t *img = malloc((size_t)n * 2);
    unet_sample_opts_t *so;
    ck_assert_int_eq(unet_sample_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(so, H, W, img, NULL, NULL), UNET_OK);
    unet_sample_opts_free(so);
    unet_model_t *m = small_model(1, 1, "sigmoid");
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"foreground\"}"),
                     UNET_OK);
    /* A threshold at the median probability gives objects whatever the random weights. */
    float *probs = malloc((size_t)n * 4);
    ck_assert_int_eq(unet_predict(m, NULL, img, UNET_U16, 2, shape + 1, probs, (size_t)n),
                     UNET_OK);
    qsort(probs, (size_t)n, 4, cmp_float);
    char json[128];
    snprintf(json, sizeof json, "{\"threshold\": %.9g, \"min_size\": 4}", probs[n / 2]);
    unet_segment_opts_t *o = segment_opts(json);
    ck_assert_uint_gt(assert_probabilities_segment(m, o, img, H, W, 1), 3);
    ck_assert_int_eq(unet_segment_opts_set(o, "split", "false"), UNET_OK);
    ck_assert_uint_gt(assert_probabilities_segment(m, o, img, H, W, 1), 3);
    ck_assert_int_eq(unet_segment_opts_set_json(o, "{\"split\": true, \"strip_rows\": 40, "
                                               "\"strip_overlap\": 30}"), UNET_OK);
    ck_assert_uint_gt(assert_probabilities_segment(m, o, img, H, W, 1), 3);
    /* (H, W) probabilities for a one-channel model; foreground may be NULL. */
    uint32_t *labels = malloc((size_t)n * 4), count;
    ck_assert_int_eq(unet_predict(m, NULL, img, UNET_U16, 2, shape + 1, probs, (size_t)n),
                     UNET_OK);
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 2, shape + 1, labels, (size_t)n,
                                                NULL, &count), UNET_OK);
    ck_assert_uint_gt(count, 3);
    /* Errors: scale, shapes, NaN, NULLs. */
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 2), UNET_OK);
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 2, shape + 1, labels, (size_t)n,
                                                NULL, &count), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "scale must be 1"));
    ck_assert_int_eq(unet_segment_opts_set(o, "scale", "auto"), UNET_OK);
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 2, shape + 1, labels, (size_t)n - 1,
                                                NULL, &count), UNET_E_SHAPE);
    const int64_t two[3] = {2, H, W};
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 3, two, labels, (size_t)n, NULL,
                                                &count), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "the model outputs 1"));
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 1, shape + 2, labels, (size_t)n,
                                                NULL, &count), UNET_E_SHAPE);
    ck_assert_int_eq(unet_segment_probabilities(m, o, NULL, 2, shape + 1, labels, (size_t)n,
                                                NULL, &count), UNET_E_INVALID_ARG);
    probs[n / 3] = NAN;
    count = 9;
    ck_assert_int_eq(unet_segment_probabilities(m, o, probs, 2, shape + 1, labels, (size_t)n,
                                                NULL, &count), UNET_E_INVALID_ARG);
    ck_assert_uint_eq(count, 0);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "NaN"));
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(img);
    free(probs);
    free(labels);
}
END_TEST

START_TEST(probabilities_3class)
{
    const int64_t H = 160, W = 144, n = H * W;
    uint16_t *img = malloc((size_t)n * 2);
    unet_sample_opts_t *so;
    ck_assert_int_eq(unet_sample_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set_seed(so, 4), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(so, H, W, img, NULL, NULL), UNET_OK);
    unet_sample_opts_free(so);
    unet_model_t *m = small_model(1, 3, "softmax");
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"3class\"}"), UNET_OK);
    unet_segment_opts_t *o = segment_opts("{\"min_size\": 0}");
    ck_assert_uint_gt(assert_probabilities_segment(m, o, img, H, W, 3), 0);
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(img);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pieces");
    TCase *tc = tcase_create("pieces");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, stats_percentile_exact);
    tcase_add_test(tc, stats_percentile_exact_with_ties);
    tcase_add_test(tc, stats_percentile_exact_background_peak);
    tcase_add_test(tc, stats_percentile_exact_huge_peak);
    tcase_add_test(tc, stats_zmuv_fixed_none_and_model);
    tcase_add_test(tc, stats_channels);
    tcase_add_test(tc, stats_progress_cancel_and_errors);
    tcase_add_test(tc, probabilities_equal_segment);
    tcase_add_test(tc, probabilities_3class);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
