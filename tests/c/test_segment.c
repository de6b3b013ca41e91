/* Segmentation in strips: the strip segmenter equals a whole-image pass (watershed and 3-class,
 * objects across strip borders, many strip/overlap/chunk sizes), its memory does not grow with
 * the image height, tall foreground keeps one label per object across seams, and unet_segment
 * end to end (through a model whose output is known) equals predict + post-processing, with
 * the scale option, progress, cancel and argument checks. */
#include <check.h>
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unet.h"
#include "segment/segment.h"

#include "api_calls.h"
#include "run_suite.h"

typedef struct rng {
    uint64_t s;
} rng;

static double uniform(rng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(uint32_t)(r->s >> 33) / 2147483648.0;
}

/* Objects on a jittered grid of cells (so clusters stay shorter than `cell`): a single disc, or
 * two or three touching discs. truth: object ids (later discs overwrite). */
static uint32_t *make_objects(int64_t H, int64_t W, int cell, rng *r, int *count)
{
    uint32_t *t = calloc((size_t)(H * W), sizeof *t);
    int id = 0;
    for (int64_t cy = 0; cy + cell <= H; cy += cell)
        for (int64_t cx = 0; cx + cell <= W; cx += cell) {
            int parts = 1 + (int)(uniform(r) * 3);
            double rad = 5 + uniform(r) * (cell / 4.0 - 6);
            double y0 = cy + cell / 2.0 + (uniform(r) - 0.5) * 4, x0 = cx + cell / 2.0;
            double ang = uniform(r) * 3.14159;
            for (int k = 0; k < parts; k++) {
                double off = (k - (parts - 1) / 2.0) * 1.6 * rad;
                double ey = y0 + off * sin(ang), ex = x0 + off * cos(ang);
                id++;
                for (int64_t y = cy + 1; y < cy + cell - 1; y++) /* cells never touch */
                    for (int64_t x = cx + 1; x < cx + cell - 1; x++)
                        if ((y - ey) * (y - ey) + (x - ex) * (x - ex) <= rad * rad)
                            t[y * W + x] = (uint32_t)id;
            }
        }
    *count = id;
    return t;
}

static float *prob_from(const uint32_t *t, int64_t n, rng *r)
{
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(t[i] ? 0.6 + 0.39 * uniform(r) : 0.4 * uniform(r));
    return p;
}

/* Interior where all 4 neighbours share the label, boundary on object edges. */
static float *three_from(const uint32_t *t, int64_t H, int64_t W, rng *r)
{
    int64_t n = H * W;
    float *p = malloc((size_t)(3 * n) * sizeof *p);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            int64_t i = y * W + x;
            int cls = 0;
            if (t[i]) {
                cls = 1;
                const int dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
                for (int k = 0; k < 4; k++) {
                    int64_t yy = y + dy[k], xx = x + dx[k];
                    if (yy >= 0 && yy < H && xx >= 0 && xx < W && t[yy * W + xx] != t[i])
                        cls = 2;
                }
            }
            for (int c = 0; c < 3; c++)
                p[c * n + i] = (float)(c == cls ? 0.5 + 0.4 * uniform(r) : 0.3 * uniform(r));
        }
    return p;
}

typedef struct collect {
    uint32_t *labels;
    int64_t width, next;
} collect;

static int collect_rows(void *user, int64_t y, int64_t h, const uint32_t *labels)
{
    collect *c = user;
    ck_assert_int_eq(y, c->next);
    memcpy(c->labels + y * c->width, labels, (size_t)(h * c->width) * sizeof *labels);
    c->next = y + h;
    return 0;
}

/* Stream a (C, H, W) map through the strip segmenter in chunks of `chunk` rows. */
static int run_strips(const unet__seg_params *p, const float *map, int C, int64_t H, int64_t W,
                      int64_t chunk, uint32_t *labels, uint32_t *count, unet__seg_stats *st)
{
    collect c = {labels, W, 0};
    unet__seg *s;
    int rc = unet__seg_create(p, H, W, collect_rows, &c, &s);
    if (rc != UNET_OK)
        return rc;
    float *rows = malloc((size_t)(C * chunk * W) * sizeof *rows);
    for (int64_t y = 0; y < H && rc == UNET_OK; y += chunk) {
        int64_t h = y + chunk <= H ? chunk : H - y;
        for (int ch = 0; ch < C; ch++)
            memcpy(rows + ch * h * W, map + (ch * H + y) * W, (size_t)(h * W) * sizeof *rows);
        rc = unet__seg_push(s, y, h, rows);
    }
    free(rows);
    ck_assert_int_eq(c.next, H);
    *count = unet__seg_count(s);
    if (st)
        *st = *unet__seg_get_stats(s);
    unet__seg_free(s);
    return rc;
}

static unet__seg_params params(unet__seg_kind kind, int64_t strip, int64_t overlap)
{
    unet__seg_params p = {.kind = kind, .logits = false, .threshold = 0.5f, .min_distance = 4,
                          .min_size = 16, .split = true, .rank = 1, .threads = 2,
                          .strip = strip, .overlap = overlap};
    return p;
}

static void assert_same(const uint32_t *a, const uint32_t *b, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i])
            ck_abort_msg("%s: pixel %lld has label %u, whole image %u", what, (long long)i,
                         a[i], b[i]);
}

START_TEST(strips_equal_whole_watershed)
{
    rng r = {42};
    const int64_t H = 301, W = 150, shape[2] = {H, W};
    int nobj;
    uint32_t *t = make_objects(H, W, 50, &r, &nobj);
    float *prob = prob_from(t, H * W, &r);
    uint8_t *mask = malloc((size_t)(H * W));
    uint32_t *ref = malloc((size_t)(H * W) * 4), *got = malloc((size_t)(H * W) * 4), nref, n;
    ck_assert_int_eq(threshold_p(prob, 2, shape, 0.5, mask, 2), UNET_OK);
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 4, 4, ref, &nref, 2), UNET_OK);
    ck_assert_int_eq(filter_sizes_p(ref, 2, shape, 16, 0, &nref), UNET_OK);
    ck_assert_uint_gt(nref, 10);
    const int64_t cases[][3] = {{16, 52, 13}, {7, 60, 1}, {37, 52, 64}, {100, 52, 301},
                                {301, 1, 50}, {1, 55, 7}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        unet__seg_params p = params(UNET__SEG_PROB, cases[k][0], cases[k][1]);
        ck_assert_int_eq(run_strips(&p, prob, 1, H, W, cases[k][2], got, &n, NULL), UNET_OK);
        char what[64];
        snprintf(what, sizeof what, "strip %lld overlap %lld", (long long)cases[k][0],
                 (long long)cases[k][1]);
        ck_assert_uint_eq(n, nref);
        assert_same(got, ref, H * W, what);
    }
    free(t);
    free(prob);
    free(mask);
    free(ref);
    free(got);
}
END_TEST

START_TEST(strips_equal_whole_3class)
{
    rng r = {7};
    const int64_t H = 260, W = 120, shape[2] = {H, W};
    int nobj;
    uint32_t *t = make_objects(H, W, 40, &r, &nobj);
    float *probs = three_from(t, H, W, &r);
    uint32_t *ref = malloc((size_t)(H * W) * 4), *got = malloc((size_t)(H * W) * 4), nref, n;
    ck_assert_int_eq(labels_from_3class_p(probs, 2, shape, 4, ref, &nref, 2), UNET_OK);
    ck_assert_int_eq(filter_sizes_p(ref, 2, shape, 16, 0, &nref), UNET_OK);
    ck_assert_uint_gt(nref, 10);
    const int64_t cases[][3] = {{16, 42, 13}, {5, 45, 3}, {33, 41, 260}, {260, 1, 17}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        unet__seg_params p = params(UNET__SEG_3CLASS, cases[k][0], cases[k][1]);
        ck_assert_int_eq(run_strips(&p, probs, 3, H, W, cases[k][2], got, &n, NULL), UNET_OK);
        ck_assert_uint_eq(n, nref);
        assert_same(got, ref, H * W, "3-class strips");
    }
    free(t);
    free(probs);
    free(ref);
    free(got);
}
END_TEST

/* Foreground taller than the overlap: one 3-class object keeps one label through every seam;
 * every watershed foreground pixel is labelled and the numbering is compact. */
START_TEST(giant_objects_continue)
{
    const int64_t H = 400, W = 40, n = H * W;
    uint32_t *t = calloc((size_t)n, 4), *got = malloc((size_t)n * 4), count;
    for (int64_t y = 10; y < 390; y++)
        for (int64_t x = 12; x < 28; x++)
            t[y * W + x] = 1;
    rng r = {3};
    float *probs = three_from(t, H, W, &r);
    unet__seg_params p = params(UNET__SEG_3CLASS, 24, 16);
    unet__seg_stats st;
    ck_assert_int_eq(run_strips(&p, probs, 3, H, W, 11, got, &count, &st), UNET_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_gt(st.giant_objects, 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], t[i] ? 1 : 0);
    float *prob = prob_from(t, n, &r);
    p = params(UNET__SEG_PROB, 24, 16);
    ck_assert_int_eq(run_strips(&p, prob, 1, H, W, 11, got, &count, &st), UNET_OK);
    uint32_t maxl = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert_int_eq(got[i] != 0, t[i] != 0);
        maxl = got[i] > maxl ? got[i] : maxl;
    }
    ck_assert_uint_eq(maxl, count);
    ck_assert_uint_ge(count, 1);
    free(t);
    free(got);
    free(probs);
    free(prob);
}
END_TEST

/* Bounded memory: the segmenter's buffers depend on width, strip and overlap, not height. */
START_TEST(memory_bounded_by_strip)
{
    const int64_t W = 64;
    size_t bytes[2];
    int64_t heights[2] = {300, 3020}; /* both end on half a disc */
    for (int k = 0; k < 2; k++) {
        int64_t H = heights[k];
        float *prob = calloc((size_t)(H * W), sizeof *prob);
        for (int64_t y = 0; y < H; y++) /* a disc every 40 rows */
            for (int64_t x = 0; x < W; x++) {
                double dy = (double)(y % 40) - 20, dx = (double)x - 32;
                prob[y * W + x] = dy * dy + dx * dx < 100 ? 0.9f : 0.1f;
            }
        uint32_t *got = malloc((size_t)(H * W) * 4), n;
        unet__seg_stats st;
        unet__seg_params p = params(UNET__SEG_PROB, 32, 24);
        ck_assert_int_eq(run_strips(&p, prob, 1, H, W, 50, got, &n, &st), UNET_OK);
        ck_assert_uint_eq(n, (uint32_t)(H / 40 + 1)); /* and a disc cut by the bottom */
        ck_assert_int_le(st.window_rows, 32 + 2 * 24);
        ck_assert_uint_le(st.scratch_bytes, (size_t)(32 + 2 * 24) * W * 24);
        bytes[k] = st.scratch_bytes;
        free(prob);
        free(got);
    }
    ck_assert_uint_eq(bytes[0], bytes[1]);
}
END_TEST

/* ---- end to end through a model with a known output ---- */

/* A 1x1 network: feature = image, outputs = w * image + b, then the final activation (softmax
 * for 3 channels, else sigmoid). */
static unet_model_t *linear_model(int out_channels, const float *w, const float *b,
                                  const char *output_json)
{
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"depth\": 1, \"base_features\": 1, \"kernel_size\": 1, \"block\": \"c\", "
             "\"out_channels\": %d, \"final_activation\": \"%s\"}",
             out_channels, out_channels == 3 ? "softmax" : "sigmoid");
    unet_model_t *m;
    ck_assert_msg(unet_model_create(cfg, 1, &m) == UNET_OK, "%s", unet_last_error());
    const float one = 1, zero = 0;
    ck_assert_int_eq(unet_model_set_tensor(m, "down0.conv0.weight", &one, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "down0.conv0.bias", &zero, 1), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "out.weight", w, (size_t)out_channels), UNET_OK);
    ck_assert_int_eq(unet_model_set_tensor(m, "out.bias", b, (size_t)out_channels), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing", "{\"normalize\": \"none\"}"),
                     UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", output_json), UNET_OK);
    return m;
}

static unet_model_t *prob_model(const char *output_json)
{
    const float w = 10, b = -5; /* sigmoid(10 x - 5): > 0.5 where the image is > 0.5 */
    return linear_model(1, &w, &b, output_json);
}

static float *disc_image(const uint32_t *t, int64_t n, rng *r)
{
    float *im = malloc((size_t)n * sizeof *im);
    for (int64_t i = 0; i < n; i++)
        im[i] = (float)(t[i] ? 0.55 + 0.45 * uniform(r) : 0.45 * uniform(r));
    return im;
}

START_TEST(segment_equals_predict_then_post)
{
    rng r = {11};
    const int64_t H = 230, W = 140, shape[2] = {H, W}, n = H * W;
    int nobj;
    uint32_t *t = make_objects(H, W, 45, &r, &nobj);
    float *im = disc_image(t, n, &r), *prob = malloc((size_t)n * 4);
    unet_model_t *m = prob_model("{\"target\": \"foreground\", \"threshold\": 0.5}");
    uint32_t *ref = malloc((size_t)n * 4), *got = malloc((size_t)n * 4), nref, count;
    uint8_t *mask = malloc((size_t)n);
    ck_assert_int_eq(unet_predict(m, NULL, im, UNET_F32, 2, shape, prob, (size_t)n), UNET_OK);
    ck_assert_int_eq(threshold_p(prob, 2, shape, 0.5, mask, 0), UNET_OK);
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 4, 4, ref, &nref, 0), UNET_OK);
    ck_assert_int_eq(filter_sizes_p(ref, 2, shape, 16, 0, &nref), UNET_OK);
    unet_segment_opts_t *o;
    unet_predict_opts_t *po;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_create(&po), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(po, 64), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_predict_opts(o, po), UNET_OK);
    /* Default strips (the whole image), then small strips. */
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_OK);
    ck_assert_uint_eq(count, nref);
    assert_same(got, ref, n, "unet_segment, one strip");
    ck_assert_int_eq(segment_set_strip(o, 20, 50), UNET_OK);
    memset(got, 0xff, (size_t)n * 4);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_OK);
    ck_assert_uint_eq(count, nref);
    assert_same(got, ref, n, "unet_segment, strips of 20");
    /* min_size removes objects; threshold 1 leaves nothing. */
    ck_assert_int_eq(unet_segment_opts_set_min_size(o, 100000), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_OK);
    ck_assert_uint_eq(count, 0);
    unet_segment_opts_free(o);
    unet_predict_opts_free(po);
    unet_model_free(m);
    free(t);
    free(im);
    free(prob);
    free(ref);
    free(got);
    free(mask);
}
END_TEST

START_TEST(segment_3class_model)
{
    rng r = {5};
    const int64_t H = 200, W = 120, shape[2] = {H, W}, n = H * W;
    int nobj;
    uint32_t *t = make_objects(H, W, 40, &r, &nobj);
    float *cls = three_from(t, H, W, &r), *im = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) /* image value = class: 0 background, 1 boundary, 2 in */
        im[i] = cls[n + i] >= 0.5f ? 2.0f : cls[2 * n + i] >= 0.5f ? 1.0f : 0.0f;
    const float w[3] = {0, 8, 4}, b[3] = {0, -8, -2};
    unet_model_t *m = linear_model(3, w, b, "{\"target\": \"3class\"}");
    float *probs = malloc((size_t)(3 * n) * 4);
    uint32_t *ref = malloc((size_t)n * 4), *got = malloc((size_t)n * 4), nref, count;
    ck_assert_int_eq(unet_predict(m, NULL, im, UNET_F32, 2, shape, probs, (size_t)(3 * n)),
                     UNET_OK);
    ck_assert_int_eq(labels_from_3class_p(probs, 2, shape, 4, ref, &nref, 0), UNET_OK);
    ck_assert_int_eq(filter_sizes_p(ref, 2, shape, 16, 0, &nref), UNET_OK);
    ck_assert_uint_gt(nref, 5);
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_int_eq(segment_set_strip(o, 13, 42), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_OK);
    ck_assert_uint_eq(count, nref);
    assert_same(got, ref, n, "3-class model, strips of 13");
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(t);
    free(cls);
    free(im);
    free(probs);
    free(ref);
    free(got);
}
END_TEST

/* Each object's distance to the nearest pixel of another label (or background) over its
 * largest: what a model with target "distance" learns (brute force within `reach`). */
static float *distance_from(const uint32_t *t, int64_t H, int64_t W, int reach)
{
    float *d = calloc((size_t)(H * W), sizeof *d), *peak = calloc(1 << 16, sizeof *peak);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            uint32_t l = t[y * W + x];
            if (!l)
                continue;
            double best = reach;
            for (int64_t yy = y - reach; yy <= y + reach; yy++)
                for (int64_t xx = x - reach; xx <= x + reach; xx++) {
                    bool other = yy < 0 || xx < 0 || yy >= H || xx >= W || t[yy * W + xx] != l;
                    double e = hypot((double)(yy - y), (double)(xx - x));
                    if (other && e < best)
                        best = e;
                }
            d[y * W + x] = (float)best;
            peak[l] = peak[l] > best ? peak[l] : (float)best;
        }
    for (int64_t i = 0; i < H * W; i++)
        if (t[i])
            d[i] /= peak[t[i]];
    free(peak);
    return d;
}

/* A distance model (foreground and normalised distance, sigmoids): image 0 on background,
 * 0.2 + 0.8 d on objects, so every object pixel is foreground (touching objects form one
 * component) and cores are where d > 0.625. unet_segment finds every object, in strips as
 * whole, and a click gives the segmented object pixel for pixel. */
START_TEST(segment_distance_model)
{
    rng r = {9};
    const int64_t H = 200, W = 160, shape[2] = {H, W}, n = H * W;
    int nobj;
    uint32_t *t = make_objects(H, W, 40, &r, &nobj);
    float *d = distance_from(t, H, W, 20), *im = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++)
        im[i] = t[i] ? 0.2f + 0.8f * d[i] : 0.0f;
    const float w[2] = {20, 10}, b[2] = {-2, -7};
    unet_model_t *m = linear_model(2, w, b, "{\"target\": \"distance\", \"threshold\": 0.5, "
                                            "\"seed_level\": 0.5, \"min_size\": 16}");
    uint32_t *whole = malloc((size_t)n * 4), *got = malloc((size_t)n * 4), nwhole, count;
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_msg(unet_segment(m, o, im, UNET_F32, 2, shape, whole, (size_t)n, &nwhole) ==
                      UNET_OK, "%s", unet_last_error());
    /* Every true object of 16 pixels or more is one segmented object (IoU >= 0.8; only the
     * seam pixels between touching objects can go either way). */
    uint32_t *area = calloc((size_t)nobj + 1, 4), *inter = calloc((size_t)nobj + 1, 4);
    uint32_t *pred_area = calloc((size_t)nwhole + 1, 4), *match = calloc((size_t)nobj + 1, 4);
    int expected = 0;
    for (int64_t i = 0; i < n; i++) {
        area[t[i]]++;
        pred_area[whole[i]]++;
    }
    for (int k = 1; k <= nobj; k++)
        expected += area[k] >= 16;
    for (int64_t i = 0; i < n; i++)
        if (t[i] && whole[i]) {
            if (!match[t[i]])
                match[t[i]] = whole[i];
            if (match[t[i]] == whole[i])
                inter[t[i]]++;
        }
    ck_assert_int_gt(expected, 10);
    ck_assert_uint_eq(nwhole, (uint32_t)expected);
    for (int k = 1; k <= nobj; k++) {
        if (area[k] < 16)
            continue;
        double iou = inter[k] / (double)(area[k] + pred_area[match[k]] - inter[k]);
        ck_assert_msg(iou >= 0.8, "object %d: IoU %.3f", k, iou);
    }
    /* Strips equal the whole image. */
    ck_assert_int_eq(segment_set_strip(o, 13, 41), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_OK);
    ck_assert_uint_eq(count, nwhole);
    assert_same(got, whole, n, "distance model, strips of 13");
    /* A click at each object's centre gives the segmented object. */
    unet_click_session_t *s;
    ck_assert_msg(unet_click_session_create(m, NULL, im, UNET_F32, 2, shape, &s) == UNET_OK,
                  "%s", unet_last_error());
    for (int k = 1; k <= nobj; k++) {
        int64_t at = -1;
        for (int64_t i = 0; i < n; i++)
            if (t[i] == (uint32_t)k && (at < 0 || d[i] > d[at]))
                at = i;
        if (at < 0 || area[k] < 16)
            continue;
        unet_click_result_t *res;
        ck_assert_msg(unet_click(s, at % W, at / W, 0, &res) == UNET_OK, "%s",
                      unet_last_error());
        int64_t a, bb[4];
        ck_assert_int_eq(unet_click_result_area(res, &a), UNET_OK);
        ck_assert_int_eq(a, pred_area[whole[at]]);
        ck_assert_int_eq(unet_click_result_bbox(res, bb), UNET_OK);
        const uint8_t *mask;
        ck_assert_int_eq(unet_click_result_mask(res, &mask), UNET_OK);
        for (int64_t yy = 0; yy < bb[3]; yy++)
            for (int64_t xx = 0; xx < bb[2]; xx++)
                ck_assert_int_eq(mask[yy * bb[2] + xx],
                                 whole[(yy + bb[1]) * W + xx + bb[0]] == whole[at]);
        unet_click_result_free(res);
    }
    unet_click_session_free(s);
    /* A seed level in the metadata outside [0, 1] is refused. */
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"distance\", "
                                                          "\"seed_level\": 1.5}"), UNET_OK);
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, got, (size_t)n, &count),
                     UNET_E_FORMAT);
    ck_assert(strstr(unet_last_error(), "seed_level") != NULL);
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(t);
    free(d);
    free(im);
    free(whole);
    free(got);
    free(area);
    free(inter);
    free(pred_area);
    free(match);
}
END_TEST

/* Scale: objects found on a resized image, labels back on the original grid. */
START_TEST(segment_scale)
{
    const int64_t H = 160, W = 200, shape[2] = {H, W}, n = H * W;
    uint32_t *truth = calloc((size_t)n, 4);
    float *im = calloc((size_t)n, 4);
    uint32_t id = 0;
    for (int64_t cy = 20; cy < H; cy += 40)
        for (int64_t cx = 20; cx < W; cx += 40) {
            id++;
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++)
                    if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= 100) {
                        truth[y * W + x] = id;
                        im[y * W + x] = 1;
                    }
        }
    unet_model_t *m = prob_model("{\"target\": \"foreground\", \"pixel_size\": 1.0}");
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    uint32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), count;
    ck_assert_int_eq(unet_segment_opts_set_min_distance(o, 6), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0.5), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, a, (size_t)n, &count), UNET_OK);
    ck_assert_uint_eq(count, id);
    double f1;
    ck_assert_int_eq(unet_instance_f1(a, truth, 2, shape, 0.7, &f1, NULL, NULL, NULL), UNET_OK);
    ck_assert_double_eq_tol(f1, 1.0, 1e-12);
    /* The same through pixel sizes: image pixels of 0.5 against the model's 1.0. */
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_pixel_size(o, 0.5), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, b, (size_t)n, &count), UNET_OK);
    assert_same(b, a, n, "pixel-size scale");
    /* At scale 0.25 the discs (radius 10 -> 2.5 px, ~20 px) fall under min_size 30. */
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0.25), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_min_size(o, 30), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, b, (size_t)n, &count), UNET_OK);
    ck_assert_uint_eq(count, 0);
    /* Upscaling keeps every object too. */
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 1.5), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, b, (size_t)n, &count), UNET_OK);
    ck_assert_uint_eq(count, id);
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(truth);
    free(im);
    free(a);
    free(b);
}
END_TEST

typedef struct progress_log {
    int calls, cancel_at;
    double last;
} progress_log;

static int on_progress(void *user, double f, const char *stage)
{
    progress_log *p = user;
    (void)stage;
    ck_assert(f >= p->last);
    p->last = f;
    return ++p->calls == p->cancel_at;
}

START_TEST(segment_progress_cancel_and_errors)
{
    const int64_t shape[2] = {64, 64}, n = 64 * 64;
    float *im = calloc((size_t)n, 4);
    uint32_t *l = malloc((size_t)n * 4), count = 7;
    unet_model_t *m = prob_model("{\"target\": \"foreground\"}");
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    progress_log log = {0, -1, 0};
    ck_assert_int_eq(unet_segment_opts_set_progress(o, on_progress, &log), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, l, (size_t)n, &count), UNET_OK);
    ck_assert_uint_eq(count, 0);
    ck_assert_double_eq(log.last, 1.0);
    log = (progress_log){0, 1, 0};
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_CANCELLED);
    ck_assert_int_eq(unet_segment_opts_set_progress(o, NULL, NULL), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_cancel(o), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_CANCELLED);
    /* The request stays until reset; predict options copied in carry no cancel state. */
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_CANCELLED);
    unet_predict_opts_t *po;
    ck_assert_int_eq(unet_predict_opts_create(&po), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_cancel(po), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_reset_cancel(o), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_predict_opts(o, po), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, l, (size_t)n, &count), UNET_OK);
    /* Arguments. */
    ck_assert_int_eq(unet_segment(NULL, o, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment(m, NULL, im, 99, 2, shape, l, (size_t)n, &count),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, l, (size_t)n - 1, &count),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 4, shape, l, (size_t)n, &count),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_segment_opts_set_threshold(o, 1.5), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_opts_set_threshold(o, NAN), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_opts_set_min_distance(o, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_opts_set_min_size(o, -1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0.01), UNET_E_INVALID_ARG);
    ck_assert_int_eq(segment_set_strip(o, -1, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_opts_set_threshold(NULL, 0.5), UNET_E_INVALID_ARG);
    ck_assert(strstr(unet_last_error(), "NULL") != NULL);
    /* Models that do not give instances. */
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"task\": \"restoration\"}"),
                     UNET_OK);
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_UNSUPPORTED);
    ck_assert(strstr(unet_last_error(), "restoration") != NULL);
    const float w2[2] = {1, 1}, b2[2] = {0, 0};
    unet_model_t *m2 = linear_model(2, w2, b2, "{\"target\": \"classes\"}");
    ck_assert_int_eq(unet_segment(m2, NULL, im, UNET_F32, 2, shape, l, (size_t)n, &count),
                     UNET_E_UNSUPPORTED);
    ck_assert(strstr(unet_last_error(), "2 output channels") != NULL);
    unet_model_free(m2);
    unet_segment_opts_free(o);
    unet_predict_opts_free(po);
    unet_model_free(m);
    free(im);
    free(l);
}
END_TEST

typedef struct stream_io {
    const float *im;
    uint32_t *labels;
    int64_t W, rows_written;
} stream_io;

static int stream_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                       float *dst)
{
    const stream_io *s = user;
    ck_assert_int_eq(plane, 0);
    for (int64_t i = 0; i < h; i++)
        memcpy(dst + i * w, s->im + (y + i) * s->W + x, (size_t)w * 4);
    return 0;
}

static int stream_write(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *src)
{
    stream_io *s = user;
    ck_assert_int_eq(y, s->rows_written);
    ck_assert_int_eq(w, s->W);
    memcpy(s->labels + y * w, src, (size_t)(h * w) * 4);
    s->rows_written += h;
    return 0;
}

static int failing_write(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *src)
{
    (void)user, (void)y, (void)h, (void)w, (void)src;
    return 3;
}

START_TEST(segment_stream_equals_memory)
{
    rng r = {19};
    const int64_t H = 180, W = 100, shape[2] = {H, W}, n = H * W;
    int nobj;
    uint32_t *t = make_objects(H, W, 45, &r, &nobj);
    float *im = disc_image(t, n, &r);
    unet_model_t *m = prob_model("{\"target\": \"foreground\"}");
    uint32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), ca, cb;
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, a, (size_t)n, &ca), UNET_OK);
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_int_eq(segment_set_strip(o, 30, 48), UNET_OK);
    stream_io io = {im, b, W, 0};
    ck_assert_int_eq(unet_segment_stream(m, o, 1, H, W, stream_read, &io, stream_write, &io,
                                         &cb), UNET_OK);
    ck_assert_int_eq(io.rows_written, H);
    ck_assert_uint_eq(ca, cb);
    assert_same(b, a, n, "stream");
    ck_assert_int_eq(unet_segment_stream(m, o, 1, H, W, stream_read, &io, failing_write, NULL,
                                         &cb), UNET_E_IO);
    ck_assert_uint_eq(cb, 0);
    ck_assert_int_eq(unet_segment_stream(m, o, 2, H, W, stream_read, &io, stream_write, &io,
                                         &cb), UNET_E_SHAPE);
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(t);
    free(im);
    free(a);
    free(b);
}
END_TEST

/* TIFF to label TIFF, streamed: equal to unet_segment; uint32 past 65535 objects; a failure
 * leaves no file. */
START_TEST(segment_tiff_files)
{
    rng r = {23};
    const int64_t H = 150, W = 130, shape[2] = {H, W}, n = H * W;
    int nobj;
    uint32_t *t = make_objects(H, W, 45, &r, &nobj);
    float *im = disc_image(t, n, &r), *back;
    unet_model_t *m = prob_model("{\"target\": \"foreground\"}");
    uint32_t *want = malloc((size_t)n * 4), cw, cg;
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, want, (size_t)n, &cw),
                     UNET_OK);
    char in[64], out[64];
    snprintf(in, sizeof in, "/tmp/unet_seg_test_%d_in.tif", (int)getpid());
    snprintf(out, sizeof out, "/tmp/unet_seg_test_%d_out.tif", (int)getpid());
    ck_assert_int_eq(unet_tiff_write(in, im, UNET_F32, 2, shape, 0), UNET_OK);
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_int_eq(segment_set_strip(o, 16, 48), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, o, in, out, UNET_TIFF_DEFLATE, &cg), UNET_OK);
    ck_assert_uint_eq(cg, cw);
    int64_t planes, ch, h, w, bshape[3];
    unet_dtype_t dtype;
    ck_assert_int_eq(unet_tiff_info(out, &planes, &ch, &h, &w, &dtype), UNET_OK);
    ck_assert_int_eq(dtype, UNET_U16);
    ck_assert_int_eq(unet_tiff_read(out, &back, bshape), UNET_OK);
    ck_assert_int_eq(bshape[1] * bshape[2], n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_uint_eq((uint32_t)back[i], want[i]);
    unet_buffer_free(back);
    /* 70000 single-pixel objects: uint32 labels (the file is written again). */
    const int64_t H2 = 280, W2 = 1000, shape2[2] = {H2, W2};
    float *dots = calloc((size_t)(H2 * W2), 4);
    for (int64_t y = 0; y < H2; y += 2)
        for (int64_t x = 0; x < W2; x += 2)
            dots[y * W2 + x] = 1;
    ck_assert_int_eq(unet_tiff_write(in, dots, UNET_F32, 2, shape2, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_min_size(o, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, o, in, out, 0, &cg), UNET_OK);
    ck_assert_uint_eq(cg, 70000);
    ck_assert_int_eq(unet_tiff_info(out, &planes, &ch, &h, &w, &dtype), UNET_OK);
    ck_assert_int_eq(dtype, UNET_U32);
    /* Failures: a missing input, the input as output, a model that gives no instances. */
    ck_assert_int_eq(unet_segment_tiff(m, o, "/nonexistent/x.tif", out, 0, &cg), UNET_E_IO);
    ck_assert_int_eq(unet_segment_tiff(m, o, in, in, 0, &cg), UNET_E_INVALID_ARG);
    remove(out);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"task\": \"restoration\"}"),
                     UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, o, in, out, 0, &cg), UNET_E_UNSUPPORTED);
    ck_assert_uint_eq(cg, 0);
    ck_assert_int_ne(access(out, F_OK), 0);
    remove(in);
    unet_segment_opts_free(o);
    unet_model_free(m);
    free(t);
    free(im);
    free(want);
    free(dots);
}
END_TEST

/* Whether file `path` holds the bytes of `text`. */
static bool file_holds(const char *path, const char *text)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f), k = strlen(text);
    fclose(f);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(buf + i, text, k) == 0)
            return true;
    return false;
}

/* A model that records its training diameter (10 px) on discs of about 20 px: the automatic
 * scale is about 0.5, the same from memory, a stream or a file, and segmentation uses it. */
START_TEST(segment_auto_scale)
{
    const int64_t H = 300, W = 320, shape[2] = {H, W}, n = H * W;
    float *im = calloc((size_t)n, 4);
    for (int64_t cy = 20; cy + 15 < H; cy += 40)
        for (int64_t cx = 20; cx + 15 < W; cx += 40)
            for (int64_t y = cy - 10; y <= cy + 10; y++)
                for (int64_t x = cx - 10; x <= cx + 10; x++)
                    if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= 100)
                        im[y * W + x] = 1;
    unet_model_t *m = prob_model("{\"target\": \"foreground\", \"diameter\": 10}");
    double s_mem, s_stream, s_tiff, d_mem, d_stream, d_tiff;
    ck_assert_int_eq(unet_segment_scale(m, NULL, im, UNET_F32, 2, shape, &s_mem, &d_mem),
                     UNET_OK);
    ck_assert_double_eq_tol(d_mem, sqrt(4 * 317 / M_PI), 1.0); /* discs of 317 px */
    ck_assert_double_eq_tol(s_mem, 10 / d_mem, 1e-12);
    stream_io io = {im, NULL, W, 0};
    ck_assert_int_eq(unet_segment_scale_stream(m, NULL, 1, H, W, stream_read, &io, &s_stream,
                                               &d_stream), UNET_OK);
    char in[64], out[64];
    snprintf(in, sizeof in, "/tmp/unet_seg_auto_%d_in.tif", (int)getpid());
    snprintf(out, sizeof out, "/tmp/unet_seg_auto_%d_out.tif", (int)getpid());
    ck_assert_int_eq(unet_tiff_write(in, im, UNET_F32, 2, shape, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_scale_tiff(m, NULL, in, &s_tiff, &d_tiff), UNET_OK);
    ck_assert_double_eq(s_stream, s_mem);
    ck_assert_double_eq(s_tiff, s_mem);
    ck_assert_double_eq(d_tiff, d_mem);
    /* Segmentation at that scale: the labels of the explicit scale, and in the file's
     * ImageDescription. */
    uint32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), ca, cb;
    ck_assert_int_eq(unet_segment(m, NULL, im, UNET_F32, 2, shape, a, (size_t)n, &ca), UNET_OK);
    unet_segment_opts_t *o;
    ck_assert_int_eq(unet_segment_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_scale(o, s_mem), UNET_OK);
    ck_assert_int_eq(unet_segment(m, o, im, UNET_F32, 2, shape, b, (size_t)n, &cb), UNET_OK);
    ck_assert_uint_eq(ca, cb);
    ck_assert_uint_eq(ca, 56);
    assert_same(a, b, n, "automatic scale");
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_tiff(m, o, in, out, 0, &cb), UNET_OK);
    ck_assert_uint_eq(cb, ca);
    char want[128];
    snprintf(want, sizeof want, "{\"libunet\":{\"scale\":%.6g,\"diameter\":%.6g}}", s_mem,
             d_mem);
    ck_assert_msg(file_holds(out, want), "no %s in the label file", want);
    /* Explicit options win: scale, then diameter (10 / 40). */
    ck_assert_int_eq(unet_segment_opts_set(o, "diameter", "40"), UNET_OK);
    ck_assert_int_eq(unet_segment_scale(m, o, im, UNET_F32, 2, shape, &s_mem, &d_mem), UNET_OK);
    ck_assert_double_eq(s_mem, 0.25);
    ck_assert_double_eq(d_mem, 40);
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0.7), UNET_OK);
    ck_assert_int_eq(unet_segment_scale(m, o, im, UNET_F32, 2, shape, &s_mem, NULL), UNET_OK);
    ck_assert_double_eq(s_mem, 0.7);
    /* Probabilities have no image to measure: automatic is 1 there. */
    ck_assert_int_eq(unet_segment_opts_set_scale(o, 0), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set(o, "diameter", "auto"), UNET_OK);
    ck_assert_int_eq(unet_segment_probabilities(m, o, im, 2, shape, b, (size_t)n, NULL, &cb),
                     UNET_OK);
    /* Refusals: a diameter for a model without one, NULL arguments, an empty field keeps 1. */
    unet_model_t *plain = prob_model("{\"target\": \"foreground\"}");
    ck_assert_int_eq(unet_segment_scale(plain, NULL, im, UNET_F32, 2, shape, &s_mem, &d_mem),
                     UNET_OK);
    ck_assert_double_eq(s_mem, 1);
    ck_assert_double_eq(d_mem, 0);
    ck_assert_int_eq(unet_segment_opts_set(o, "diameter", "20"), UNET_OK);
    ck_assert_int_eq(unet_segment(plain, o, im, UNET_F32, 2, shape, b, (size_t)n, &cb),
                     UNET_E_INVALID_ARG);
    ck_assert_msg(strstr(unet_last_error(), "training diameter"), "%s", unet_last_error());
    ck_assert_int_eq(unet_segment_scale(m, NULL, NULL, UNET_F32, 2, shape, &s_mem, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_scale(m, NULL, im, UNET_F32, 2, shape, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_segment_scale_stream(m, NULL, 1, H, 0, stream_read, &io, &s_mem,
                                               NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet_segment_scale_tiff(m, NULL, "/nonexistent/x.tif", &s_mem, NULL),
                     UNET_E_IO);
    ck_assert_double_eq(s_mem, 0);
    float *empty = calloc((size_t)n, 4);
    ck_assert_int_eq(unet_segment_scale(m, NULL, empty, UNET_F32, 2, shape, &s_mem, &d_mem),
                     UNET_OK);
    ck_assert_double_eq(s_mem, 1);
    ck_assert_double_eq(d_mem, 0);
    remove(in);
    remove(out);
    unet_segment_opts_free(o);
    unet_model_free(plain);
    unet_model_free(m);
    free(empty);
    free(im);
    free(a);
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("segment");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, strips_equal_whole_watershed);
    tcase_add_test(tc, strips_equal_whole_3class);
    tcase_add_test(tc, giant_objects_continue);
    tcase_add_test(tc, memory_bounded_by_strip);
    tcase_add_test(tc, segment_equals_predict_then_post);
    tcase_add_test(tc, segment_3class_model);
    tcase_add_test(tc, segment_distance_model);
    tcase_add_test(tc, segment_scale);
    tcase_add_test(tc, segment_progress_cancel_and_errors);
    tcase_add_test(tc, segment_stream_equals_memory);
    tcase_add_test(tc, segment_tiff_files);
    tcase_add_test(tc, segment_auto_scale);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
