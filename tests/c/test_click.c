/* Click-to-segment: every clicked object equals the object of a whole-image unet_predict plus
 * the same post-processing (watershed, components, 3-class; every border mode; same and valid
 * padding; objects cut by cell borders, at the image edge, larger than the first window; stacks),
 * the cache runs no network for a second click nearby, background gives an empty result, bad
 * input is refused, and outlines enclose exactly the mask's area.
 *
 * The test models are random U-Nets with one path made the identity: the output is
 * sigmoid(k (x - 0.5) + small non-local terms), so objects are the image's bright discs while
 * a wrong halo, alignment or normalisation still changes the numbers. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "click/click.h"
#include "unet.h"

#include "api_calls.h"
#include "run_suite.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t next_u32(rng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);
}

static double uniform(rng *r)
{
    return next_u32(r) / 2147483648.0;
}

/* ---- test models ---- */

static float *get(unet_model_t *m, const char *name, size_t *count)
{
    int n = model_int(unet_model_tensor_count, m);
    for (int i = 0; i < n; i++) {
        const char *tn;
        int nd;
        int64_t shape[4];
        ck_assert_int_eq(unet_model_tensor_info(m, i, &tn, &nd, shape), UNET_OK);
        if (strcmp(tn, name) != 0)
            continue;
        size_t c = 1;
        for (int d = 0; d < nd; d++)
            c *= (size_t)shape[d];
        float *v = malloc(c * sizeof *v);
        ck_assert_int_eq(unet_model_get_tensor(m, name, v, c), UNET_OK);
        *count = c;
        return v;
    }
    ck_abort_msg("no tensor %s", name);
    return NULL;
}

static void put(unet_model_t *m, const char *name, float *v, size_t c)
{
    ck_assert_int_eq(unet_model_set_tensor(m, name, v, c), UNET_OK);
    free(v);
}

/* Output channel o of a 3x3 conv: `scale` x the random weights, plus `centre` from input
 * channel i (i < 0: none), bias b. */
static void conv_row(unet_model_t *m, const char *layer, int o, float scale, int i,
                     float centre, float b)
{
    char name[64];
    size_t wc, bc;
    snprintf(name, sizeof name, "%s.weight", layer);
    float *w = get(m, name, &wc);
    snprintf(name, sizeof name, "%s.bias", layer);
    float *bias = get(m, name, &bc);
    size_t per = wc / bc, k = per == 1 ? 1 : 9, cin = per / k;
    for (size_t j = 0; j < per; j++)
        w[o * per + j] *= scale;
    if (i >= 0)
        w[o * per + (size_t)i * k + k / 2] = centre;
    (void)cin;
    bias[o] = b;
    snprintf(name, sizeof name, "%s.weight", layer);
    put(m, name, w, wc);
    snprintf(name, sizeof name, "%s.bias", layer);
    put(m, name, bias, bc);
}

#define PERCENTILE "{\"normalize\": \"percentile\", \"low\": 1, \"high\": 99.8}"

/* A foreground model: out = sigmoid(20 (x - 0.5) + eps * non-local terms). */
static unet_model_t *fg_model(const char *padding, int depth, uint64_t seed)
{
    char cfg[256];
    snprintf(cfg, sizeof cfg, "{\"depth\": %d, \"base_features\": 8, \"padding\": \"%s\", "
                              "\"final_activation\": \"sigmoid\"}", depth, padding);
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create(cfg, seed, &m), UNET_OK);
    conv_row(m, "down0.conv0", 0, 0.0f, 0, 1.0f, 0.0f);
    conv_row(m, "down0.conv1", 0, 0.0f, 0, 1.0f, 0.0f);
    conv_row(m, "up0.conv0", 0, 0.02f, 0, 1.0f, 0.0f); /* the non-local part enters here */
    conv_row(m, "up0.conv1", 0, 0.0f, 0, 1.0f, 0.0f);
    size_t wc, bc;
    float *w = get(m, "out.weight", &wc), *b = get(m, "out.bias", &bc);
    memset(w, 0, wc * sizeof *w);
    w[0] = 20.0f;
    b[0] = -10.0f;
    put(m, "out.weight", w, wc);
    put(m, "out.bias", b, bc);
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing", PERCENTILE), UNET_OK);
    return m;
}

/* A 3-class model: with c0 = relu(x - 0.5), c1 = relu(0.5 - x), logits background 20 c1,
 * interior 20 c0, boundary 3 - 20 (c0 + c1): 0.1 is background, 0.5 boundary, 0.9 interior. */
static unet_model_t *threeclass_model(uint64_t seed)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create("{\"depth\": 3, \"base_features\": 8, \"out_channels\": 3, "
                                       "\"final_activation\": \"softmax\"}", seed, &m), UNET_OK);
    conv_row(m, "down0.conv0", 0, 0.0f, 0, 1.0f, -0.5f);
    conv_row(m, "down0.conv0", 1, 0.0f, 0, -1.0f, 0.5f);
    for (int c = 0; c < 2; c++) {
        conv_row(m, "down0.conv1", c, 0.0f, c, 1.0f, 0.0f);
        conv_row(m, "up0.conv0", c, 0.01f, c, 1.0f, 0.0f);
        conv_row(m, "up0.conv1", c, 0.0f, c, 1.0f, 0.0f);
    }
    size_t wc, bc;
    float *w = get(m, "out.weight", &wc), *b = get(m, "out.bias", &bc);
    size_t per = wc / 3;
    memset(w, 0, wc * sizeof *w);
    w[0 * per + 1] = 20.0f;
    w[1 * per + 0] = 20.0f;
    w[2 * per + 0] = -20.0f;
    w[2 * per + 1] = -20.0f;
    b[0] = 0.0f;
    b[1] = 0.0f;
    b[2] = 3.0f;
    put(m, "out.weight", w, wc);
    put(m, "out.bias", b, bc);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"3class\"}"), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing", PERCENTILE), UNET_OK);
    return m;
}

/* ---- test images: discs (some touching, some cut by the edge), a ring, a big blob ---- */

typedef struct disc {
    double y, x, r;
} disc;

/* uint16 image: background ~6000, discs ~58000 (three-level for 3-class: rim 0.5). */
static uint16_t *disc_image(int64_t h, int64_t w, disc *d, int nd, bool rims, uint64_t seed)
{
    rng r = {seed};
    uint16_t *img = malloc((size_t)(h * w) * sizeof *img);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double v = 0.1;
            for (int k = 0; k < nd; k++) {
                double dist = hypot(y - d[k].y, x - d[k].x);
                if (dist <= d[k].r)
                    v = rims && dist > d[k].r - 2 ? (v > 0.5 ? v : 0.5) : 0.9;
            }
            v += 0.03 * (uniform(&r) - 0.5);
            img[y * w + x] = (uint16_t)(v * 65535.0);
        }
    return img;
}

static int standard_discs(disc *d, int64_t h, int64_t w)
{
    int n = 0;
    d[n++] = (disc){40, 40, 12};
    d[n++] = (disc){40, 62, 12};      /* touches the first: the watershed splits them */
    d[n++] = (disc){5, 120, 15};      /* cut by the top edge */
    d[n++] = (disc){(double)h - 3, (double)w - 10, 18}; /* bottom-right corner */
    d[n++] = (disc){130, 64, 20};     /* crosses cell borders (cells of 64) */
    d[n++] = (disc){100, 200, 9};
    d[n++] = (disc){200, 150, 60};    /* larger than the first window */
    d[n++] = (disc){160, 20, 2};      /* below min_size */
    return n;
}

/* ---- the reference: whole-image prediction and the same post-processing ---- */

typedef struct reference {
    float *prob;
    uint32_t *labels;
} reference;

static reference whole_image(const unet_model_t *m, const unet_predict_opts_t *o,
                             const void *img, int dtype, int ndim, const int64_t *shape,
                             int64_t plane, int min_distance, int64_t min_size, float threshold)
{
    int64_t P = ndim == 4 ? shape[0] : 1, h = shape[ndim - 2], w = shape[ndim - 1];
    int C = model_int(unet_model_out_channels, m);
    size_t n = (size_t)(P * C * h * w);
    float *all = malloc(n * sizeof *all);
    int rc = unet_predict(m, o, img, dtype, ndim, shape, all, n);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    reference ref = {malloc((size_t)(C * h * w) * sizeof(float)),
                     malloc((size_t)(h * w) * sizeof(uint32_t))};
    memcpy(ref.prob, all + plane * C * h * w, (size_t)(C * h * w) * sizeof(float));
    free(all);
    int64_t sh[2] = {h, w};
    uint32_t count;
    if (C == 3) {
        ck_assert_int_eq(labels_from_3class_p(ref.prob, 2, sh, 4, ref.labels, &count, 1),
                         UNET_OK);
    } else {
        uint8_t *mask = malloc((size_t)(h * w));
        for (int64_t i = 0; i < h * w; i++)
            mask[i] = ref.prob[i] > threshold;
        if (min_distance > 0)
            ck_assert_int_eq(watershed_p(mask, 2, sh, NULL, min_distance, 4, ref.labels,
                                            &count, 1), UNET_OK);
        else
            ck_assert_int_eq(label_components_p(mask, 2, sh, 4, ref.labels, &count, 1),
                             UNET_OK);
        free(mask);
    }
    ck_assert_int_eq(filter_sizes_p(ref.labels, 2, sh, min_size, 0, &count), UNET_OK);
    return ref;
}

static void reference_free(reference *r)
{
    free(r->prob);
    free(r->labels);
}

static double shoelace(const int64_t *xy, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = (i + 1) % n;
        s += (double)xy[2 * i] * (double)xy[2 * j + 1] - (double)xy[2 * j] * (double)xy[2 * i + 1];
    }
    return s / 2;
}

/* The outline's rings enclose exactly the mask: signed areas add up, ring 0 is positive,
 * every vertex is a corner and every edge axis-parallel. */
static void check_rings(const unet_click_result_t *res, int64_t area, bool expect_holes)
{
    int64_t nr = result_ring_count(res);
    ck_assert_int_ge(nr, area > 0 ? 1 : 0);
    double sum = 0;
    for (int64_t k = 0; k < nr; k++) {
        int64_t nv;
        const int64_t *xy = result_ring(res, k, &nv);
        ck_assert_ptr_nonnull(xy);
        ck_assert_int_ge(nv, 4);
        double a = shoelace(xy, nv);
        if (k == 0)
            ck_assert_double_gt(a, 0);
        else
            ck_assert_double_lt(a, 0);
        sum += a;
        for (int64_t i = 0; i < nv; i++) {
            int64_t j = (i + 1) % nv;
            ck_assert(xy[2 * i] == xy[2 * j] || xy[2 * i + 1] == xy[2 * j + 1]);
        }
    }
    ck_assert_double_eq(sum, (double)area);
    if (!expect_holes && nr > 0) {
        int64_t nv;
        const int64_t *xy = result_ring(res, 0, &nv);
        ck_assert_double_eq(shoelace(xy, nv), (double)area);
    }
}

/* The clicked object equals the reference's object under (x, y), pixel for pixel. */
static void check_click(unet_click_session_t *s, const reference *ref, int64_t h, int64_t w,
                        int64_t x, int64_t y, int64_t plane)
{
    unet_click_result_t *res;
    int rc = unet_click(s, x, y, plane, &res);
    ck_assert_msg(rc == UNET_OK, "click (%lld, %lld): %s", (long long)x, (long long)y,
                  unet_last_error());
    uint32_t id = ref->labels[y * w + x];
    int64_t area = 0, bx0 = w, by0 = h, bx1 = -1, by1 = -1;
    for (int64_t i = 0; i < h * w; i++)
        if (id && ref->labels[i] == id) {
            area++;
            int64_t yy = i / w, xx = i % w;
            bx0 = xx < bx0 ? xx : bx0;
            by0 = yy < by0 ? yy : by0;
            bx1 = xx > bx1 ? xx : bx1;
            by1 = yy > by1 ? yy : by1;
        }
    ck_assert_int_eq(result_complete(res), 1);
    ck_assert_msg(result_area(res) == area, "click (%lld, %lld): area %lld, whole "
                  "image %lld", (long long)x, (long long)y,
                  (long long)result_area(res), (long long)area);
    int64_t bb[4];
    ck_assert_int_eq(unet_click_result_bbox(res, bb), UNET_OK);
    if (area == 0) {
        ck_assert_ptr_null(result_mask(res));
        ck_assert_int_eq(result_ring_count(res), 0);
        ck_assert(bb[0] == 0 && bb[1] == 0 && bb[2] == 0 && bb[3] == 0);
    } else {
        ck_assert(bb[0] == bx0 && bb[1] == by0 && bb[2] == bx1 - bx0 + 1 &&
                  bb[3] == by1 - by0 + 1);
        const uint8_t *mask = result_mask(res);
        for (int64_t yy = 0; yy < bb[3]; yy++)
            for (int64_t xx = 0; xx < bb[2]; xx++)
                ck_assert_int_eq(mask[yy * bb[2] + xx],
                                 ref->labels[(yy + by0) * w + xx + bx0] == id);
    }
    check_rings(res, area, true);
    unet_click_result_free(res);
}

/* Click options: the predict options `po` copied in (NULL: defaults), then the keys of the
 * JSON object `keys` (NULL: none); NULL with the failing status in *rc. */
static unet_click_opts_t *click_opts(const unet_predict_opts_t *po, const char *keys, int *rc)
{
    unet_click_opts_t *co;
    *rc = unet_click_opts_create(&co);
    if (*rc == UNET_OK && po)
        *rc = unet_click_opts_set_predict_opts(co, po);
    if (*rc == UNET_OK && keys)
        *rc = unet_click_opts_set_json(co, keys);
    if (*rc != UNET_OK) {
        unet_click_opts_free(co);
        return NULL;
    }
    return co;
}

/* A session with those click options. */
static int session_with(const unet_model_t *m, const unet_predict_opts_t *po, const char *keys,
                        const void *image, unet_dtype_t dtype, int ndim, const int64_t *shape,
                        unet_click_session_t **s)
{
    int rc;
    unet_click_opts_t *co = click_opts(po, keys, &rc);
    if (co)
        rc = unet_click_session_create(m, co, image, dtype, ndim, shape, s);
    unet_click_opts_free(co);
    return rc;
}

/* Replace a session's options by those click options. */
static int session_set(unet_click_session_t *s, const unet_predict_opts_t *po, const char *keys)
{
    int rc;
    unet_click_opts_t *co = click_opts(po, keys, &rc);
    if (co)
        rc = unet_click_session_set_opts(s, co);
    unet_click_opts_free(co);
    return rc;
}

static unet_predict_opts_t *opts_with(int border, int threads)
{
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, border), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_threads(o, threads), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, 1, 99.8),
                     UNET_OK);
    return o;
}

/* Click the centre and an off-centre pixel of every disc, and a background pixel. */
static void click_all(const unet_model_t *m, int border, int min_distance, int threads)
{
    int64_t h = 301, w = 277, shape[2] = {h, w};
    disc d[16];
    int nd = standard_discs(d, h, w);
    uint16_t *img = disc_image(h, w, d, nd, false, 7);
    unet_predict_opts_t *o = opts_with(border, threads);
    reference ref = whole_image(m, o, img, UNET_U16, 2, shape, 0, min_distance, 16, 0.5f);
    unet_click_session_t *s;
    char keys[64];
    snprintf(keys, sizeof keys, min_distance ? "{\"min_distance\": %d}" : "{\"split\": false}",
             min_distance);
    int rc = session_with(m, o, keys, img, UNET_U16, 2, shape, &s);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    for (int k = 0; k < nd; k++) {
        int64_t y = (int64_t)d[k].y, x = (int64_t)d[k].x;
        y = y < 0 ? 0 : y >= h ? h - 1 : y;
        x = x < 0 ? 0 : x >= w ? w - 1 : x;
        check_click(s, &ref, h, w, x, y, 0);
        int64_t y2 = y + (int64_t)(d[k].r / 2), x2 = x - (int64_t)(d[k].r / 3);
        if (y2 >= 0 && y2 < h && x2 >= 0 && x2 < w)
            check_click(s, &ref, h, w, x2, y2, 0);
    }
    check_click(s, &ref, h, w, 270, 5, 0);
    check_click(s, &ref, h, w, 0, 0, 0);
    unet_click_session_free(s);
    unet_predict_opts_free(o);
    reference_free(&ref);
    free(img);
}

START_TEST(test_same_padding_borders)
{
    unet_model_t *m = fg_model("same", 3, 11);
    int borders[] = {UNET_BORDER_NETWORK, UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    for (int b = 0; b < 3; b++)
        click_all(m, borders[b], 4, 1 + b % 2);
    unet_model_free(m);
}
END_TEST

START_TEST(test_components_and_deep_model)
{
    unet_model_t *m = fg_model("same", 4, 12);
    click_all(m, UNET_BORDER_NETWORK, 0, 2);
    unet_model_free(m);
}
END_TEST

START_TEST(test_valid_padding)
{
    unet_model_t *m = fg_model("valid", 3, 13);
    click_all(m, UNET_BORDER_REFLECT, 4, 2);
    click_all(m, UNET_BORDER_ZERO, 0, 1);
    unet_model_free(m);
}
END_TEST

/* The cached probabilities are the whole image's: threshold 0 makes the whole image one
 * component, so one click predicts every cell; compare them all. */
START_TEST(test_probabilities_exact)
{
    int64_t h = 301, w = 277, shape[2] = {h, w};
    disc d[16];
    int nd = standard_discs(d, h, w);
    uint16_t *img = disc_image(h, w, d, nd, false, 8);
    const char *pads[] = {"same", "same", "valid"};
    int borders[] = {UNET_BORDER_NETWORK, UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    for (int k = 0; k < 3; k++) {
        unet_model_t *m = fg_model(pads[k], 3, 14);
        unet_predict_opts_t *o = opts_with(borders[k], 2);
        ck_assert_int_eq(unet_predict_opts_set_tile(o, UNET_TILE_WHOLE), UNET_OK);
        reference ref = whole_image(m, o, img, UNET_U16, 2, shape, 0, 4, 16, 0.5f);
        unet_click_session_t *s;
        ck_assert_int_eq(session_with(m, o, "{\"threshold\": 0, \"split\": false}", img,
                                      UNET_U16, 2, shape, &s), UNET_OK);
        unet_click_result_t *res;
        ck_assert_int_eq(unet_click(s, 150, 150, 0, &res), UNET_OK);
        ck_assert_int_eq(result_area(res), h * w);
        check_rings(res, h * w, false);
        unet_click_result_free(res);
        int64_t cached;
        ck_assert_int_eq(unet_click_session_stats(s, NULL, NULL, &cached), UNET_OK);
        ck_assert_int_eq(cached, h * w);
        float *got = malloc((size_t)(h * w) * sizeof *got);
        unet__click_gather(s, 0, 0, h, 0, w, got);
        double worst = 0;
        for (int64_t i = 0; i < h * w; i++)
            worst = fmax(worst, fabs((double)got[i] - ref.prob[i]));
        printf("click cache vs whole image (%s, border %d): max |diff| = %.3g\n", pads[k],
               borders[k], worst);
        ck_assert_double_le(worst, 1e-6);
        free(got);
        unet_click_session_free(s);
        unet_predict_opts_free(o);
        reference_free(&ref);
        unet_model_free(m);
    }
    free(img);
}
END_TEST

/* Several input and output channels, 8-bit input, zmuv: every cell of the cache (filled through
 * the internal calls) equals the whole-image prediction. */
START_TEST(test_probabilities_multichannel)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create("{\"depth\": 3, \"base_features\": 8, \"in_channels\": 2, "
                                       "\"out_channels\": 3, \"final_activation\": \"softmax\"}",
                                       30, &m), UNET_OK);
    int64_t h = 150, w = 211, shape[3] = {2, h, w};
    uint8_t *img = malloc((size_t)(2 * h * w));
    rng r = {31};
    for (int64_t i = 0; i < 2 * h * w; i++)
        img[i] = (uint8_t)(100 + 60 * sin((double)(i % w) / 9.0 + (double)(i / w) / 13.0) +
                           20 * uniform(&r));
    int borders[] = {UNET_BORDER_REFLECT, UNET_BORDER_NETWORK};
    for (int b = 0; b < 2; b++) {
        unet_predict_opts_t *o;
        ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
        ck_assert_int_eq(unet_predict_opts_set_border(o, borders[b]), UNET_OK);
        ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_ZMUV, 0, 0), UNET_OK);
        float *ref = malloc((size_t)(3 * h * w) * sizeof *ref);
        float *got = malloc((size_t)(3 * h * w) * sizeof *got);
        ck_assert_int_eq(unet_predict(m, o, img, UNET_U8, 3, shape, ref, (size_t)(3 * h * w)),
                         UNET_OK);
        unet_click_session_t *s;
        ck_assert_int_eq(session_with(m, o, NULL, img, UNET_U8, 3, shape, &s), UNET_OK);
        ck_assert_int_eq(unet__click_prepare_plane(s, 0), UNET_OK);
        ck_assert_int_eq(unet__click_ensure(s, 0, 0, s->ay.cells, 0, s->ax.cells), UNET_OK);
        unet__click_gather(s, 0, 0, h, 0, w, got);
        double worst = 0;
        for (int64_t i = 0; i < 3 * h * w; i++)
            worst = fmax(worst, fabs((double)got[i] - ref[i]));
        printf("click cache vs whole image (2 -> 3 channels, u8, zmuv, border %d): max |diff| = "
               "%.3g\n", borders[b], worst);
        ck_assert_double_le(worst, 1e-6);
        /* A click works on it (3-class post-processing of a random model: any object). */
        unet_click_result_t *res;
        ck_assert_int_eq(unet_click(s, 100, 70, 0, &res), UNET_OK);
        check_rings(res, result_area(res), true);
        unet_click_result_free(res);
        unet_click_session_free(s);
        unet_predict_opts_free(o);
        free(ref);
        free(got);
    }
    free(img);
    unet_model_free(m);
}
END_TEST

/* The one-pass integer percentiles equal predict/stats.c's exactly. */
typedef struct raw_image {
    const void *data;
    int dtype;
    int64_t n;
} raw_image;

static int read_raw(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                    float *dst)
{
    const raw_image *im = user;
    (void)plane;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            int64_t k = (y + i) * 97 + x + j;
            dst[i * w + j] = im->dtype == UNET_U8    ? ((const uint8_t *)im->data)[k]
                             : im->dtype == UNET_U16 ? ((const uint16_t *)im->data)[k]
                                                     : ((const int16_t *)im->data)[k];
        }
    return 0;
}

START_TEST(test_integer_percentiles)
{
    unet_model_t *m = fg_model("same", 2, 27);
    int64_t h = 83, w = 97, shape[2] = {h, w};
    int dtypes[] = {UNET_U8, UNET_U16, UNET_I16};
    double qs[][2] = {{1, 99.8}, {0, 100}, {25, 75}, {3.3, 97.1}};
    rng r = {28};
    for (int d = 0; d < 3; d++) {
        uint16_t *img = malloc((size_t)(h * w) * sizeof *img);
        for (int64_t i = 0; i < h * w; i++) {
            uint32_t v = next_u32(&r);
            img[i] = (uint16_t)(dtypes[d] == UNET_U8 ? v % 7 * 30 : v % 3 ? v % 5000 : v);
        }
        uint8_t *img8 = malloc((size_t)(h * w));
        for (int64_t i = 0; i < h * w; i++)
            img8[i] = (uint8_t)img[i];
        const void *data = dtypes[d] == UNET_U8 ? (const void *)img8 : (const void *)img;
        for (int q = 0; q < 4; q++) {
            unet_predict_opts_t *o;
            ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
            ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE,
                                                             qs[q][0], qs[q][1]), UNET_OK);
            unet_click_session_t *s;
            ck_assert_int_eq(session_with(m, o, NULL, data, dtypes[d], 2, shape, &s),
                             UNET_OK);
            raw_image im = {data, dtypes[d], h * w};
            unet__source src = {1, 1, h, w, read_raw, &im};
            unet__affine fast, slow;
            ck_assert_int_eq(unet__click_plane_stats(s, 0, &src, &fast), UNET_OK);
            unet__progress prog = {o, -1.0, 0.0};
            ck_assert_int_eq(unet__plane_normalization(&src, 0, &s->norm, &slow, &prog, 0, 0),
                             UNET_OK);
            ck_assert_msg(fast.shift == slow.shift && fast.scale == slow.scale,
                          "dtype %d q %g %g: %.17g %.17g vs %.17g %.17g", dtypes[d], qs[q][0],
                          qs[q][1], fast.shift, fast.scale, slow.shift, slow.scale);
            unet_click_session_free(s);
            unet_predict_opts_free(o);
        }
        free(img);
        free(img8);
    }
    unet_model_free(m);
}
END_TEST

START_TEST(test_cache_second_click)
{
    unet_model_t *m = fg_model("same", 4, 15);
    int64_t h = 512, w = 512, shape[2] = {h, w};
    disc d[] = {{200, 200, 12}, {200, 232, 10}, {230, 210, 8}, {400, 400, 10}};
    uint16_t *img = disc_image(h, w, d, 4, false, 9);
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
    int64_t runs0, px0, cached0, runs, px, cached;
    unet_click_result_t *res;
    ck_assert_int_eq(unet_click(s, 200, 200, 0, &res), UNET_OK);
    ck_assert_int_gt(result_area(res), 300);
    unet_click_result_free(res);
    ck_assert_int_eq(unet_click_session_stats(s, &runs0, &px0, &cached0), UNET_OK);
    ck_assert_int_ge(runs0, 1);
    ck_assert_int_lt(cached0, h * w / 3); /* only a window was predicted */
    /* Nearby: the other discs, another pixel of the first, background between them. */
    int64_t clicks[][2] = {{232, 200}, {210, 230}, {195, 205}, {220, 180}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(unet_click(s, clicks[i][0], clicks[i][1], 0, &res), UNET_OK);
        unet_click_result_free(res);
    }
    ck_assert_int_eq(unet_click_session_stats(s, &runs, &px, &cached), UNET_OK);
    ck_assert_int_eq(runs, runs0);
    ck_assert_int_eq(px, px0);
    ck_assert_int_eq(cached, cached0);
    /* Far away: one more run. */
    ck_assert_int_eq(unet_click(s, 400, 400, 0, &res), UNET_OK);
    unet_click_result_free(res);
    ck_assert_int_eq(unet_click_session_stats(s, &runs, NULL, NULL), UNET_OK);
    ck_assert_int_gt(runs, runs0);
    unet_click_session_free(s);
    free(img);
    unet_model_free(m);
}
END_TEST

START_TEST(test_background_empty)
{
    unet_model_t *m = fg_model("same", 3, 16);
    int64_t h = 128, w = 128, shape[2] = {h, w};
    disc d[] = {{64, 64, 10}};
    uint16_t *img = disc_image(h, w, d, 1, false, 10);
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
    unet_click_result_t *res;
    ck_assert_int_eq(unet_click(s, 5, 100, 0, &res), UNET_OK);
    ck_assert_int_eq(result_area(res), 0);
    ck_assert_int_eq(result_ring_count(res), 0);
    ck_assert_ptr_null(result_mask(res));
    ck_assert_int_eq(result_complete(res), 1);
    int64_t nv = 5;
    ck_assert_ptr_null(result_ring(res, 0, &nv));
    ck_assert_int_eq(nv, 0);
    unet_click_result_free(res);
    unet_click_session_free(s);
    free(img);
    unet_model_free(m);
}
END_TEST

START_TEST(test_invalid_input)
{
    unet_model_t *m = fg_model("same", 3, 17);
    int64_t shape[2] = {64, 64}, bad[2] = {64, 0}, shape3[3] = {2, 64, 64};
    float *img = calloc(64 * 64 * 2, sizeof *img);
    unet_click_session_t *s = (void *)1;
    ck_assert_int_eq(session_with(NULL, NULL, NULL, img, UNET_F32, 2, shape, &s),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(session_with(m, NULL, NULL, NULL, UNET_F32, 2, shape, &s),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 2, NULL, &s),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 2, shape, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, 0, 2, shape, &s),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, 7, 2, shape, &s),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 1, shape, &s),
                     UNET_E_SHAPE);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 5, shape, &s),
                     UNET_E_SHAPE);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 2, bad, &s),
                     UNET_E_SHAPE);
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 3, shape3, &s),
                     UNET_E_SHAPE); /* 2 channels, the model takes 1 */
    ck_assert_ptr_null(s);
    ck_assert_str_ne(unet_last_error(), "");
    /* Border "network" needs same padding. */
    unet_model_t *valid = fg_model("valid", 2, 18);
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_NETWORK), UNET_OK);
    ck_assert_int_eq(session_with(valid, o, NULL, img, UNET_F32, 2, shape, &s),
                     UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    unet_model_free(valid);
    /* Models that cannot give objects. */
    unet_model_t *two, *rest;
    ck_assert_int_eq(unet_model_create("{\"depth\": 2, \"base_features\": 4, \"out_channels\": 2}",
                                       1, &two), UNET_OK);
    ck_assert_int_eq(session_with(two, NULL, NULL, img, UNET_F32, 2, shape, &s),
                     UNET_E_UNSUPPORTED);
    ck_assert_int_eq(unet_model_create("{\"depth\": 2, \"base_features\": 4}", 1, &rest), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(rest, "output", "{\"task\": \"restoration\"}"),
                     UNET_OK);
    ck_assert_int_eq(session_with(rest, NULL, NULL, img, UNET_F32, 2, shape, &s),
                     UNET_E_UNSUPPORTED);
    unet_model_free(two);
    unet_model_free(rest);

    /* A session: bad clicks and settings. */
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_F32, 2, shape, &s), UNET_OK);
    unet_click_result_t *res = (void *)1;
    ck_assert_int_eq(unet_click(s, -1, 0, 0, &res), UNET_E_INVALID_ARG);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(unet_click(s, 64, 0, 0, &res), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click(s, 0, 64, 0, &res), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click(s, 0, 0, 1, &res), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click(s, 0, 0, -1, &res), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click(s, 0, 0, 0, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click(NULL, 0, 0, 0, &res), UNET_E_INVALID_ARG);
    unet_click_opts_t *co;
    ck_assert_int_eq(unet_click_opts_create(&co), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set_threshold(co, -0.1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set_threshold(co, NAN), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set_threshold(NULL, 0.5), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set_min_distance(co, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set_min_distance(co, 1001), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set_min_size(co, -1), UNET_E_INVALID_ARG);
    /* max_extent below the model's cell size: refused by the session, which stays as it was */
    ck_assert_int_eq(unet_click_opts_set_max_extent(co, 8), UNET_OK);
    ck_assert_int_eq(unet_click_session_set_opts(s, co), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "max_extent = 8"));
    ck_assert_int_eq(unet_click_session_set_opts(s, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_set_opts(NULL, co), UNET_E_INVALID_ARG);
    unet_click_opts_free(co);
    ck_assert_int_eq(unet_click_session_stats(NULL, NULL, NULL, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(result_area(NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(result_ring_count(NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_result_bbox(NULL, NULL), UNET_E_INVALID_ARG);
    ck_assert_ptr_null(result_mask(NULL));
    unet_click_result_free(NULL);
    unet_click_session_free(NULL);
    /* A NaN pixel is found when the plane is first clicked. */
    img[64 * 30 + 7] = NAN;
    ck_assert_int_eq(unet_click(s, 3, 3, 0, &res), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "y 30, x 7"));
    unet_click_session_free(s);
    free(img);
    unet_model_free(m);
}
END_TEST

/* Stacks: plane p's objects are those of plane p in a whole-stack prediction. */
START_TEST(test_stack_planes)
{
    unet_model_t *m = fg_model("same", 3, 19);
    int64_t P = 3, h = 160, w = 140, shape[4] = {P, 1, h, w};
    uint16_t *stack = malloc((size_t)(P * h * w) * sizeof *stack);
    disc d[3][2] = {{{40, 40, 10}, {100, 90, 15}},
                    {{60, 50, 20}, {120, 30, 8}},
                    {{80, 70, 30}, {20, 120, 9}}};
    for (int p = 0; p < P; p++) {
        uint16_t *img = disc_image(h, w, d[p], 2, false, 20 + (uint64_t)p);
        memcpy(stack + p * h * w, img, (size_t)(h * w) * sizeof *img);
        free(img);
    }
    unet_predict_opts_t *o = opts_with(UNET_BORDER_DEFAULT, 2);
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, o, NULL, stack, UNET_U16, 4, shape, &s), UNET_OK);
    for (int p = P - 1; p >= 0; p--) {
        reference ref = whole_image(m, o, stack, UNET_U16, 4, shape, p, 4, 16, 0.5f);
        for (int k = 0; k < 2; k++)
            check_click(s, &ref, h, w, (int64_t)d[p][k].x, (int64_t)d[p][k].y, p);
        check_click(s, &ref, h, w, (int64_t)d[(p + 1) % 3][0].x, (int64_t)d[(p + 1) % 3][0].y,
                    p);
        reference_free(&ref);
    }
    unet_click_session_free(s);
    unet_predict_opts_free(o);
    free(stack);
    unet_model_free(m);
}
END_TEST

START_TEST(test_threeclass)
{
    unet_model_t *m = threeclass_model(21);
    int64_t h = 200, w = 190, shape[2] = {h, w};
    disc d[] = {{50, 50, 14}, {50, 76, 13}, {120, 100, 30}, {190, 10, 12}, {150, 170, 5}};
    uint16_t *img = disc_image(h, w, d, 5, true, 22);
    unet_predict_opts_t *o = opts_with(UNET_BORDER_NETWORK, 2);
    reference ref = whole_image(m, o, img, UNET_U16, 2, shape, 0, 0, 16, 0.5f);
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, o, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
    int objects = 0;
    for (int k = 0; k < 5; k++) {
        int64_t x = (int64_t)d[k].x, y = (int64_t)d[k].y;
        objects += ref.labels[y * w + x] != 0;
        check_click(s, &ref, h, w, x, y, 0);
        check_click(s, &ref, h, w, x + (int64_t)d[k].r - 1, y, 0); /* on the rim */
    }
    ck_assert_int_ge(objects, 3);
    check_click(s, &ref, h, w, 100, 5, 0);
    unet_click_session_free(s);
    unet_predict_opts_free(o);
    reference_free(&ref);
    free(img);
    unet_model_free(m);
}
END_TEST

/* An object wider than max_extent is returned cut, and marked incomplete. */
START_TEST(test_max_extent)
{
    unet_model_t *m = fg_model("same", 3, 23);
    int64_t h = 400, w = 400, shape[2] = {h, w};
    disc d[] = {{200, 200, 150}};
    uint16_t *img = disc_image(h, w, d, 1, false, 24);
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, NULL, "{\"split\": false, \"max_extent\": 128}", img,
                                  UNET_U16, 2, shape, &s), UNET_OK);
    unet_click_result_t *res;
    ck_assert_int_eq(unet_click(s, 200, 200, 0, &res), UNET_OK);
    ck_assert_int_eq(result_complete(res), 0);
    int64_t bb[4];
    ck_assert_int_eq(unet_click_result_bbox(res, bb), UNET_OK);
    ck_assert_int_le(bb[2], 128);
    ck_assert_int_le(bb[3], 128);
    check_rings(res, result_area(res), true);
    unet_click_result_free(res);
    ck_assert_int_eq(session_set(s, NULL, "{\"split\": false, \"max_extent\": 1024}"),
                     UNET_OK);
    ck_assert_int_eq(unet_click(s, 200, 200, 0, &res), UNET_OK);
    ck_assert_int_eq(result_complete(res), 1);
    ck_assert_int_gt(result_area(res), 60000);
    unet_click_result_free(res);
    unet_click_session_free(s);
    free(img);
    unet_model_free(m);
}
END_TEST

/* Outlines of awkward shapes: a ring (hole), diagonal pinches, random blobs, one pixel. */
START_TEST(test_outline_shapes)
{
    unet_model_t *m = fg_model("same", 2, 25);
    int64_t h = 96, w = 96, shape[2] = {h, w};
    rng r = {26};
    for (int trial = 0; trial < 40; trial++) {
        float *img = malloc((size_t)(h * w) * sizeof *img);
        for (int64_t i = 0; i < h * w; i++)
            img[i] = 0.1f;
        if (trial == 0) { /* an annulus: one hole */
            for (int64_t y = 0; y < h; y++)
                for (int64_t x = 0; x < w; x++) {
                    double dd = hypot(y - 48.0, x - 48.0);
                    img[y * w + x] = dd < 20 && dd > 8 ? 0.9f : 0.1f;
                }
        } else if (trial == 1) { /* a single pixel */
            img[48 * w + 48] = 0.9f;
        } else { /* random pixels near the centre: pinches, holes, odd shapes */
            for (int64_t y = 30; y < 66; y++)
                for (int64_t x = 30; x < 66; x++)
                    img[y * w + x] = uniform(&r) < 0.62 ? 0.9f : 0.1f;
            img[48 * w + 48] = 0.9f;
        }
        unet_predict_opts_t *o;
        ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
        ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_NONE, 0, 0), UNET_OK);
        reference ref = whole_image(m, o, img, UNET_F32, 2, shape, 0, 0, 0, 0.5f);
        unet_click_session_t *s;
        ck_assert_int_eq(session_with(m, o, "{\"split\": false, \"min_size\": 0}", img,
                                      UNET_F32, 2, shape, &s), UNET_OK);
        int64_t cx = trial == 0 ? 48 + 14 : 48;
        check_click(s, &ref, h, w, cx, 48, 0);
        if (trial == 0) {
            unet_click_result_t *res;
            ck_assert_int_eq(unet_click(s, cx, 48, 0, &res), UNET_OK);
            ck_assert_int_eq(result_ring_count(res), 2);
            unet_click_result_free(res);
        }
        if (trial == 1) {
            unet_click_result_t *res;
            ck_assert_int_eq(unet_click(s, 48, 48, 0, &res), UNET_OK);
            int64_t nv;
            const int64_t *xy = result_ring(res, 0, &nv);
            int64_t want[8] = {48, 48, 49, 48, 49, 49, 48, 49};
            ck_assert_int_eq(nv, 4);
            for (int i = 0; i < 8; i++)
                ck_assert_int_eq(xy[i], want[i]);
            unet_click_result_free(res);
        }
        unet_click_session_free(s);
        unet_predict_opts_free(o);
        reference_free(&ref);
        free(img);
    }
    unet_model_free(m);
}
END_TEST

/* The tracer on its own: the 4- or 8-connected component of a random mask (joined at
 * diagonal contacts for 8) has exactly one positive ring, and all rings add up to its area. */
static int64_t component_of(uint8_t *m, int64_t h, int64_t w, int64_t start, bool diag)
{
    uint8_t *keep = calloc((size_t)(h * w), 1);
    int64_t *stack = malloc((size_t)(h * w) * sizeof *stack), top = 0, area = 0;
    stack[top++] = start;
    keep[start] = 1;
    while (top > 0) {
        int64_t i = stack[--top], y = i / w, x = i % w;
        area++;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int64_t yy = y + dy, xx = x + dx, j = yy * w + xx;
                if ((!dy && !dx) || (!diag && dy && dx) || yy < 0 || yy >= h || xx < 0 ||
                    xx >= w || keep[j] || !m[j])
                    continue;
                keep[j] = 1;
                stack[top++] = j;
            }
    }
    memcpy(m, keep, (size_t)(h * w));
    free(keep);
    free(stack);
    return area;
}

/* ---- sessions at the segmentation scale ---- */

/* Every clicked disc of plane `plane` equals unet_segment's object at the same pixels, with
 * the session's options (threads 2) and the scale unet_segment uses. */
static void clicks_equal_segment(const unet_model_t *m, unet_click_session_t *s,
                                 const uint16_t *img, int64_t h, int64_t w, int64_t plane,
                                 const disc *d, int nd, const char *scale_json)
{
    unet_segment_opts_t *so;
    ck_assert_int_eq(unet_segment_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_threads(so, 2), UNET_OK);
    if (scale_json)
        ck_assert_int_eq(unet_segment_opts_set_json(so, scale_json), UNET_OK);
    const uint16_t *im = img + plane * h * w;
    int64_t shape[2] = {h, w};
    uint32_t *labels = malloc((size_t)(h * w) * sizeof *labels), n = 0;
    double want = 0, got = 0;
    ck_assert_int_eq(unet_segment_scale(m, so, im, UNET_U16, 2, shape, &want, NULL), UNET_OK);
    int rc = unet_segment(m, so, im, UNET_U16, 2, shape, labels, (size_t)(h * w), &n);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    for (int k = 0; k < nd; k++) {
        int64_t x = (int64_t)d[k].x, y = (int64_t)d[k].y;
        uint32_t id = labels[y * w + x];
        unet_click_result_t *res;
        ck_assert_int_eq(unet_click(s, x, y, plane, &res), UNET_OK);
        if (k == 0) { /* the scale of this plane's segmentation (measured at the click) */
            ck_assert_int_eq(unet_click_session_scale(s, &got), UNET_OK);
            ck_assert_double_eq(got, want);
        }
        int64_t box[4], area = 0;
        ck_assert_int_eq(unet_click_result_bbox(res, box), UNET_OK);
        const uint8_t *mask = result_mask(res);
        for (int64_t i = 0; i < h * w; i++) {
            int64_t yy = i / w, xx = i % w;
            bool in = xx >= box[0] && xx < box[0] + box[2] && yy >= box[1] &&
                      yy < box[1] + box[3] && mask[(yy - box[1]) * box[2] + xx - box[0]];
            ck_assert_msg(in == (id != 0 && labels[i] == id), "scale %g, disc %d, pixel (%lld, "
                          "%lld)", got, k, (long long)xx, (long long)yy);
            area += in;
        }
        ck_assert_int_eq(result_area(res), area);
        check_rings(res, area, false);
        unet_click_result_free(res);
    }
    free(labels);
    unet_segment_opts_free(so);
}

START_TEST(test_scaled_sessions)
{
    /* A model that records its training diameter (17 px) and 16 discs of 36-44 px across on
     * each of two planes: the automatic scale shrinks them, an explicit one wins. */
    unet_model_t *m = fg_model("same", 3, 21);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"foreground\", "
                                             "\"diameter\": 17}"), UNET_OK);
    const int64_t h = 300, w = 290, shape[4] = {2, 1, h, w};
    disc d[16];
    for (int k = 0; k < 16; k++)
        d[k] = (disc){45.0 + 70 * (k / 4), 45.0 + 68 * (k % 4), 18.0 + k % 5};
    uint16_t *img = malloc((size_t)(2 * h * w) * sizeof *img);
    for (int p = 0; p < 2; p++) {
        uint16_t *one = disc_image(h, w, d, 16, false, 30 + (uint64_t)p);
        memcpy(img + p * h * w, one, (size_t)(h * w) * sizeof *img);
        free(one);
    }
    unet_click_session_t *s;
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 4, shape, &s), UNET_OK);
    /* Measured on the first plane clicked (1), once. */
    clicks_equal_segment(m, s, img, h, w, 1, d, 16, NULL);
    double auto_scale;
    ck_assert_int_eq(unet_click_session_scale(s, &auto_scale), UNET_OK);
    ck_assert_double_gt(auto_scale, 0.35);
    ck_assert_double_lt(auto_scale, 0.5); /* 17 / about 40 */
    /* Explicit scales, down and up: another grid, the same objects as unet_segment's. */
    ck_assert_int_eq(unet_click_session_set_scale(s, 0.6), UNET_OK);
    int64_t cached;
    ck_assert_int_eq(unet_click_session_stats(s, NULL, NULL, &cached), UNET_OK);
    ck_assert_int_eq(cached, 0);
    clicks_equal_segment(m, s, img, h, w, 0, d, 16, "{\"scale\": 0.6}");
    ck_assert_int_eq(unet_click_session_set_scale(s, 1.3), UNET_OK);
    clicks_equal_segment(m, s, img, h, w, 1, d, 4, "{\"scale\": 1.3}");
    /* Back to automatic: measured again at the next click (on plane 0 now). */
    ck_assert_int_eq(unet_click_session_set_scale(s, 0), UNET_OK);
    clicks_equal_segment(m, s, img, h, w, 0, d, 4, NULL);
    /* Refused values leave the session as it was. */
    ck_assert_int_eq(unet_click_session_set_scale(s, 25), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_set_scale(s, -1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_scale(NULL, &auto_scale), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_scale(s, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_set_scale(NULL, 1), UNET_E_INVALID_ARG);
    unet_click_session_free(s);
    /* A diameter option: scale 17 / 34 = 0.5. */
    ck_assert_int_eq(session_with(m, NULL, "{\"diameter\": 34}", img, UNET_U16, 4, shape, &s),
                     UNET_OK);
    ck_assert_int_eq(unet_click_session_scale(s, &auto_scale), UNET_OK);
    ck_assert_double_eq(auto_scale, 0.5);
    clicks_equal_segment(m, s, img, h, w, 0, d, 4, "{\"diameter\": 34}");
    unet_click_session_free(s);
    free(img);
    unet_model_free(m);
}
END_TEST

/* ---- cancel ---- */

typedef struct delayed_cancel {
    unet_click_session_t *s;
    long micros;
} delayed_cancel;

static void *cancel_after(void *user)
{
    delayed_cancel *c = user;
    struct timespec t = {c->micros / 1000000, c->micros % 1000000 * 1000};
    nanosleep(&t, NULL);
    unet_click_session_cancel(c->s);
    return NULL;
}

/* The object under (x, y) as (area, x, y, width, height). */
static void click_box(unet_click_session_t *s, int64_t x, int64_t y, int64_t out[5])
{
    unet_click_result_t *res;
    ck_assert_int_eq(unet_click(s, x, y, 0, &res), UNET_OK);
    out[0] = result_area(res);
    ck_assert_int_eq(unet_click_result_bbox(res, out + 1), UNET_OK);
    unet_click_result_free(res);
}

START_TEST(test_cancel)
{
    /* A model that records a training diameter: a first click measures the scale too. */
    unet_model_t *m = fg_model("same", 4, 15);
    ck_assert_int_eq(unet_model_set_metadata(m, "output", "{\"target\": \"foreground\", "
                                             "\"diameter\": 17}"), UNET_OK);
    int64_t h = 1024, w = 1024, shape[2] = {h, w};
    disc d[] = {{300, 300, 12}, {700, 650, 10}, {500, 520, 9}};
    uint16_t *img = disc_image(h, w, d, 3, false, 41);
    unet_click_session_t *s;
    int64_t want[5], got[5], runs;
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
    click_box(s, 300, 300, want);
    ck_assert_int_gt(want[0], 200);
    unet_click_session_free(s);

    /* Cancelled before the click, and it stays so (also across new options) until reset. */
    ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
    ck_assert_int_eq(unet_click_session_cancel(s), UNET_OK);
    unet_click_result_t *res = (unet_click_result_t *)&res;
    ck_assert_int_eq(unet_click(s, 300, 300, 0, &res), UNET_E_CANCELLED);
    ck_assert_ptr_null(res);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "cancelled"));
    double scale = -1;
    ck_assert_int_eq(unet_click_session_scale(s, &scale), UNET_E_CANCELLED);
    ck_assert_int_eq(session_set(s, NULL, "{\"threshold\": 0.5}"), UNET_OK);
    ck_assert_int_eq(unet_click(s, 300, 300, 0, &res), UNET_E_CANCELLED);
    ck_assert_int_eq(unet_click_session_stats(s, &runs, NULL, NULL), UNET_OK);
    ck_assert_int_eq(runs, 0);
    ck_assert_int_eq(unet_click_session_reset_cancel(s), UNET_OK);
    click_box(s, 300, 300, got);
    ck_assert_mem_eq(got, want, sizeof want);
    unet_click_session_free(s);

    /* Cancelled from another thread at different moments of a first click (statistics, scale
     * estimate, network runs): either it finished first, or it stops with CANCELLED; after
     * the reset the click gives the same object as an uncancelled session. */
    int stopped = 0;
    for (long micros = 200; micros <= 51200; micros *= 4) {
        ck_assert_int_eq(session_with(m, NULL, NULL, img, UNET_U16, 2, shape, &s), UNET_OK);
        delayed_cancel c = {s, micros};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, cancel_after, &c), 0);
        int rc = unet_click(s, 300, 300, 0, &res);
        pthread_join(t, NULL);
        ck_assert_msg(rc == UNET_OK || rc == UNET_E_CANCELLED, "cancel after %ld us: rc %d",
                      micros, rc);
        unet_click_result_free(rc == UNET_OK ? res : NULL);
        stopped += rc == UNET_E_CANCELLED;
        ck_assert_int_eq(unet_click_session_reset_cancel(s), UNET_OK);
        click_box(s, 300, 300, got);
        ck_assert_mem_eq(got, want, sizeof want);
        unet_click_session_free(s);
    }
    ck_assert_int_gt(stopped, 0);
    ck_assert_int_eq(unet_click_session_cancel(NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_session_reset_cancel(NULL), UNET_E_INVALID_ARG);
    free(img);
    unet_model_free(m);
}
END_TEST

START_TEST(test_outline_tracer)
{
    rng r = {29};
    for (int trial = 0; trial < 400; trial++) {
        int64_t h = 1 + next_u32(&r) % 24, w = 1 + next_u32(&r) % 24;
        uint8_t *m = malloc((size_t)(h * w));
        double p = 0.3 + 0.5 * uniform(&r);
        for (int64_t i = 0; i < h * w; i++)
            m[i] = uniform(&r) < p;
        int64_t start = next_u32(&r) % (h * w);
        m[start] = 1;
        bool diag = trial % 2;
        int64_t area = component_of(m, h, w, start, diag);
        struct unet_click_result res;
        memset(&res, 0, sizeof res);
        ck_assert_int_eq(unet__click_outline(m, h, w, 5, -3, diag ? 3 : 1, &res), UNET_OK);
        double sum = 0;
        int positive = 0;
        for (int64_t k = 0; k < res.nrings; k++) {
            int64_t n = res.ring_start[k + 1] - res.ring_start[k];
            double a = shoelace(res.xy + 2 * res.ring_start[k], n);
            positive += a > 0;
            ck_assert(k == 0 ? a > 0 : a < 0);
            sum += a;
        }
        ck_assert_msg(sum == (double)area && positive == 1, "trial %d (%lld x %lld, %s): "
                      "rings %lld, sum %g, area %lld", trial, (long long)h, (long long)w,
                      diag ? "8" : "4", (long long)res.nrings, sum, (long long)area);
        free(res.ring_start);
        free(res.xy);
        free(m);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("click");
    TCase *t = tcase_create("click");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_background_empty);
    tcase_add_test(t, test_invalid_input);
    tcase_add_test(t, test_outline_shapes);
    tcase_add_test(t, test_outline_tracer);
    tcase_add_test(t, test_integer_percentiles);
    tcase_add_test(t, test_cache_second_click);
    tcase_add_test(t, test_probabilities_exact);
    tcase_add_test(t, test_probabilities_multichannel);
    tcase_add_test(t, test_same_padding_borders);
    tcase_add_test(t, test_components_and_deep_model);
    tcase_add_test(t, test_valid_padding);
    tcase_add_test(t, test_stack_planes);
    tcase_add_test(t, test_threeclass);
    tcase_add_test(t, test_max_extent);
    tcase_add_test(t, test_scaled_sessions);
    tcase_add_test(t, test_cancel);
    suite_add_tcase(s, t);
    return run_suite(s);
}
