/* Tiled prediction: exactness against an independent whole-image oracle for every border
 * mode, negative controls, blending weights, streaming, progress, cancellation and threads. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "predict/predict.h"
#include "unet.h"

#include "api_calls.h"
#include "run_suite.h"

#define SAME_CFG "{\"depth\": 3, \"base_features\": 4, \"block\": \"crcr\"}"
#define VALID_CFG "{\"depth\": 2, \"base_features\": 4, \"padding\": \"valid\"}"

static unet_model_t *create(const char *json)
{
    unet_model_t *m;
    ck_assert_msg(unet_model_create(json, 11, &m) == UNET_OK, "%s", unet_last_error());
    return m;
}

static float *random_image(int64_t n, unsigned seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    return x;
}

static int64_t reflect(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    int64_t p = 2 * (n - 1);
    i %= p;
    if (i < 0)
        i += p;
    return i < n ? i : p - i;
}

static int64_t round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

/* The oracle, written from DESIGN section 6 without the engine: build the canvas, run the
 * raw network once with unet_model_forward, crop. Single channel, no normalisation. */
static void whole_image(const unet_model_t *m, const float *img, int64_t h, int64_t w,
                        int border, float *out)
{
    int64_t B = model_int(unet_model_block_multiple, m), halo = model_int(unet_model_halo, m);
    int64_t before, ch, cw, crop;
    if (model_int(unet_model_is_same_padding, m)) {
        if (border == UNET_BORDER_NETWORK) {
            before = 0;
            ch = round_up(h, B);
            cw = round_up(w, B);
        } else {
            before = round_up(halo, B);
            ch = round_up(before + h + halo, B);
            cw = round_up(before + w + halo, B);
        }
        crop = before;
    } else {
        before = halo;
        int64_t o;
        ck_assert_int_eq(unet_model_fit_size(m, h + 2 * halo, &ch, &o), UNET_OK);
        ck_assert_int_eq(unet_model_fit_size(m, w + 2 * halo, &cw, &o), UNET_OK);
        crop = 0;
    }
    float *canvas = malloc((size_t)(ch * cw) * sizeof *canvas);
    for (int64_t y = 0; y < ch; y++)
        for (int64_t x = 0; x < cw; x++) {
            int64_t sy = y - before, sx = x - before;
            bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
            canvas[y * cw + x] = border == UNET_BORDER_ZERO && !inside
                                     ? 0.0f
                                     : img[reflect(sy, h) * w + reflect(sx, w)];
        }
    int64_t shape[4] = {1, 1, ch, cw}, oshape[4];
    ck_assert_int_eq(unet_model_output_shape(m, 4, shape, oshape), UNET_OK);
    float *net = malloc((size_t)(oshape[2] * oshape[3]) * sizeof *net);
    ck_assert_int_eq(forward_threads(m, canvas, 4, shape, net, (size_t)(oshape[2] * oshape[3]), 0),
                     UNET_OK);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            out[y * w + x] = net[(y + crop) * oshape[3] + x + crop];
    free(canvas);
    free(net);
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static unet_predict_opts_t *opts_for(int border, int64_t tile, int batch, int threads)
{
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, border), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(o, tile), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_batch(o, batch), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_threads(o, threads), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_NONE, 0, 0), UNET_OK);
    return o;
}

/* Tiled == whole image for one model over sizes x tiles x border modes x batch x threads. */
static void exactness_matrix(const char *cfg, const int *borders, int nborders)
{
    unet_model_t *m = create(cfg);
    int64_t B = model_int(unet_model_block_multiple, m);
    int64_t mid = 4 * B;
    int64_t sizes[][2] = {{1, 1}, {7, 13}, {B - 1, B + 1}, {B + 1, 2 * B - 1},
                          {mid - 1, mid + 1}, {3 * mid + 1, 2 * mid - 1}, {61, 97}};
    int64_t tiles[] = {B, mid, 1024};
    double worst = 0;
    int runs = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int64_t h = sizes[si][0], w = sizes[si][1];
        if (h < 1 || w < 1)
            continue;
        float *img = random_image(h * w, (unsigned)(h * 131 + w)), *ref = malloc((size_t)(h * w) * 4),
              *out = malloc((size_t)(h * w) * 4);
        for (int bi = 0; bi < nborders; bi++) {
            whole_image(m, img, h, w, borders[bi], ref);
            for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
                /* The smallest tile on big images costs thousands of tiles: keep it small. */
                if (tiles[ti] == B && h * w > 4000)
                    continue;
                int batch = 1 + (int)((si + ti) % 4), threads = 1 + (int)((si + bi + ti) % 2);
                unet_predict_opts_t *o = opts_for(borders[bi], tiles[ti], batch, threads);
                int64_t shape[2] = {h, w};
                int rc = unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)(h * w));
                ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
                double d = max_abs_diff(out, ref, h * w);
                ck_assert_msg(d <= 1e-5, "size %lldx%lld tile %lld border %d batch %d threads %d: "
                                         "max diff %g", (long long)h, (long long)w,
                              (long long)tiles[ti], borders[bi], batch, threads, d);
                worst = fmax(worst, d);
                runs++;
                unet_predict_opts_free(o);
            }
        }
        free(img);
        free(ref);
        free(out);
    }
    printf("exactness %s: %d runs, worst max|tiled - whole| = %.3g\n", cfg, runs, worst);
    unet_model_free(m);
}

START_TEST(test_exact_same_padding)
{
    int borders[] = {UNET_BORDER_NETWORK, UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    exactness_matrix(SAME_CFG, borders, 3);
}
END_TEST

START_TEST(test_exact_valid_padding)
{
    int borders[] = {UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    exactness_matrix(VALID_CFG, borders, 2);
}
END_TEST

/* 509 x 1021 (primes) with 64-px tiles, batch 3, two threads, every border mode, for a same-
 * and a valid-padding model. */
static void prime_size(const char *cfg, const int *borders, int nborders)
{
    unet_model_t *m = create(cfg);
    int64_t h = 509, w = 1021;
    float *img = random_image(h * w, 5), *ref = malloc((size_t)(h * w) * 4),
          *out = malloc((size_t)(h * w) * 4);
    for (int b = 0; b < nborders; b++) {
        whole_image(m, img, h, w, borders[b], ref);
        unet_predict_opts_t *o = opts_for(borders[b], 64, 3, 2);
        int64_t shape[2] = {h, w};
        ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)(h * w)),
                         UNET_OK);
        double d = max_abs_diff(out, ref, h * w);
        printf("exactness 509x1021 %s border %d, tile 64: max diff %.3g\n", cfg, borders[b], d);
        ck_assert_double_le(d, 1e-5);
        unet_predict_opts_free(o);
    }
    free(img);
    free(ref);
    free(out);
    unet_model_free(m);
}

START_TEST(test_exact_prime_size)
{
    int same[] = {UNET_BORDER_NETWORK, UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    int valid[] = {UNET_BORDER_REFLECT, UNET_BORDER_ZERO};
    prime_size(SAME_CFG, same, 3);
    prime_size(VALID_CFG, valid, 2);
}
END_TEST

/* A model wide enough for Winograd (3x3 layers with >= 32 channels in and out). Tiles pass
 * their canvas origins so the 4x4 blocks sit where they sit in the whole image; tile 5B makes
 * batched windows disagree modulo 4B (the adapter splits such batches), 4B keeps them together.
 * Winograd's transforms mix each block's whole 6x6 patch, so context beyond the receptive
 * field (which differs between a tile and the whole image) enters through float rounding only:
 * the bound is 1e-5 relative to the output's magnitude (this random model's outputs reach
 * about 4). With `precise` (direct convolutions) tiles equal the whole image to 1e-5 absolute. */
START_TEST(test_exact_winograd_model)
{
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 32}");
    int64_t B = model_int(unet_model_block_multiple, m), h = 61, w = 97, n = h * w;
    float *img = random_image(n, 17), *ref = malloc((size_t)n * 4), *out = malloc((size_t)n * 4),
          *precise_whole = malloc((size_t)n * 4);
    int borders[] = {UNET_BORDER_NETWORK, UNET_BORDER_REFLECT};
    int64_t tiles[] = {4 * B, 5 * B, 16 * B};
    int64_t shape[2] = {h, w};
    double worst = 0, worst_precise = 0, peak = 0, wino_vs_direct = 0;
    for (int bi = 0; bi < 2; bi++) {
        whole_image(m, img, h, w, borders[bi], ref);
        for (int64_t i = 0; i < n; i++)
            peak = fmax(peak, fabs(ref[i]));
        unet_predict_opts_t *o = opts_for(borders[bi], UNET_TILE_WHOLE, 1, 2);
        ck_assert_int_eq(unet_predict_opts_set_precise(o, 1), UNET_OK);
        ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, precise_whole, (size_t)n),
                         UNET_OK);
        unet_predict_opts_free(o);
        wino_vs_direct = fmax(wino_vs_direct, max_abs_diff(precise_whole, ref, n));
        for (int ti = 0; ti < 3; ti++) {
            o = opts_for(borders[bi], tiles[ti], 1 + ti, 1 + (bi + ti) % 2);
            ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
            double d = max_abs_diff(out, ref, n);
            ck_assert_msg(d <= 1e-5 * fmax(1.0, peak), "winograd model, tile %lld border %d: max "
                          "diff %g (max|whole| %g)", (long long)tiles[ti], borders[bi], d, peak);
            worst = fmax(worst, d);
            /* With the context Winograd's patches reach (a raised halo), bit for bit equal to
             * the whole canvas of that halo: proves the blocks sit where the whole image has
             * them. */
            int64_t halo = model_int(unet_model_halo, m) + unet__fast_winograd_margin(&m->fast);
            ck_assert_int_eq(unet_predict_opts_set_halo(o, halo, 0), UNET_OK);
            ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
            unet_predict_opts_t *whole = opts_for(borders[bi], UNET_TILE_WHOLE, 1, 1);
            ck_assert_int_eq(unet_predict_opts_set_halo(whole, halo, 0), UNET_OK);
            float *wide = malloc((size_t)n * 4);
            ck_assert_int_eq(unet_predict(m, whole, img, UNET_F32, 2, shape, wide, (size_t)n),
                             UNET_OK);
            ck_assert_msg(max_abs_diff(out, wide, n) == 0, "halo %lld, tile %lld border %d: "
                          "max diff %g", (long long)halo, (long long)tiles[ti], borders[bi],
                          max_abs_diff(out, wide, n));
            free(wide);
            unet_predict_opts_free(whole);
            ck_assert_int_eq(unet_predict_opts_set_halo(o, -1, 0), UNET_OK);
            ck_assert_int_eq(unet_predict_opts_set_precise(o, 1), UNET_OK);
            ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
            d = max_abs_diff(out, precise_whole, n);
            ck_assert_msg(d <= 1e-5, "precise, tile %lld border %d: max diff %g",
                          (long long)tiles[ti], borders[bi], d);
            worst_precise = fmax(worst_precise, d);
            unet_predict_opts_free(o);
        }
    }
    /* Winograd is really on by default: it differs from direct convolution, slightly. */
    ck_assert_msg(wino_vs_direct > 0 && wino_vs_direct <= 1e-4 * peak,
                  "Winograd vs direct: max diff %g", wino_vs_direct);
    printf("exactness winograd model (base 32, max|whole| %.3g): worst max|tiled - whole| = "
           "%.3g with Winograd, %.3g precise; Winograd vs direct %.3g\n",
           peak, worst, worst_precise, wino_vs_direct);
    free(img);
    free(ref);
    free(out);
    free(precise_whole);
    unet_model_free(m);
}
END_TEST

/* Negative controls: the comparison above can fail. */
START_TEST(test_negative_controls)
{
    unet_model_t *m = create(SAME_CFG);
    int64_t h = 96, w = 96, n = h * w, B = model_int(unet_model_block_multiple, m);
    float *img = random_image(n, 9), *ref = malloc((size_t)n * 4), *out = malloc((size_t)n * 4);
    whole_image(m, img, h, w, UNET_BORDER_NETWORK, ref);

    /* 1. A halo below the receptive-field margin is refused unless asked for explicitly... */
    unet_predict_opts_t *o = opts_for(UNET_BORDER_NETWORK, 16, 1, 1);
    ck_assert_int_eq(unet_predict_opts_set_halo(o, 2, 0), UNET_OK);
    int64_t shape[2] = {h, w};
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "receptive-field"));
    /* ...and then visibly differs from the whole image. */
    ck_assert_int_eq(unet_predict_opts_set_halo(o, 2, 1), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
    double d_halo = max_abs_diff(out, ref, n);
    printf("negative control, halo 2 < margin %d: max diff %.3g\n", model_int(unet_model_halo, m), d_halo);
    ck_assert_double_gt(d_halo, 1e-3);
    /* A raised halo is fine. */
    ck_assert_int_eq(unet_predict_opts_set_halo(o, model_int(unet_model_halo, m) + 9, 0), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
    ck_assert_double_le(max_abs_diff(out, ref, n), 1e-5);
    unet_predict_opts_free(o);

    /* 2. A tile window whose origin is off the block grid (by B/2) gives a different core than
     * the whole image, though its halo is ample: alignment matters. */
    int64_t win = 64, origin = B / 2 + 8, core0 = origin + 24, core = 16;
    int64_t wshape[4] = {1, 1, win, win};
    float *window = malloc((size_t)(win * win) * 4), *wout = malloc((size_t)(win * win) * 4);
    for (int64_t y = 0; y < win; y++)
        for (int64_t x = 0; x < win; x++)
            window[y * win + x] = img[(origin + y) * w + origin + x];
    ck_assert_int_eq(forward_threads(m, window, 4, wshape, wout, (size_t)(win * win), 1), UNET_OK);
    double d_align = 0;
    for (int64_t y = 0; y < core; y++)
        for (int64_t x = 0; x < core; x++)
            d_align = fmax(d_align, fabs(wout[(core0 - origin + y) * win + core0 - origin + x] -
                                         ref[(core0 + y) * w + core0 + x]));
    printf("negative control, window origin %lld (block %lld): max diff %.3g\n",
           (long long)origin, (long long)B, d_align);
    ck_assert_double_gt(d_align, 1e-3);
    /* The same window on the grid agrees (so the difference is the alignment's doing). */
    origin = 8;
    core0 = origin + 24;
    for (int64_t y = 0; y < win; y++)
        for (int64_t x = 0; x < win; x++)
            window[y * win + x] = img[(origin + y) * w + origin + x];
    ck_assert_int_eq(forward_threads(m, window, 4, wshape, wout, (size_t)(win * win), 1), UNET_OK);
    double d_grid = 0;
    for (int64_t y = 0; y < core; y++)
        for (int64_t x = 0; x < core; x++)
            d_grid = fmax(d_grid, fabs(wout[(core0 - origin + y) * win + core0 - origin + x] -
                                       ref[(core0 + y) * w + core0 + x]));
    ck_assert_double_le(d_grid, 1e-5);
    free(window);
    free(wout);
    free(img);
    free(ref);
    free(out);
    unet_model_free(m);
}
END_TEST

START_TEST(test_blend_weights_sum_to_one)
{
    for (int64_t width = 1; width <= 40; width++)
        for (int64_t i = 0; i < 2 * width; i++) {
            double l, r;
            unet__blend_pair(i, width, &l, &r);
            ck_assert(l + r == 1.0);
            ck_assert(l > 0 && r > 0);
            if (i > 0) { /* the right weight rises monotonically across the seam */
                double l0, r0;
                unet__blend_pair(i - 1, width, &l0, &r0);
                ck_assert(r > r0);
            }
        }
    /* Along an axis, the weights of all tiles sum to exactly 1 at every pixel. */
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 2}");
    unet__net net = {0};
    net.same_padding = true;
    net.block_multiple = 2;
    int64_t sizes[] = {5, 33, 100, 257};
    int64_t blends[] = {1, 3, 8};
    for (size_t si = 0; si < 4; si++)
        for (size_t bi = 0; bi < 3; bi++) {
            unet__axis ax;
            ck_assert_int_eq(unet__axis_plan(&net, UNET_BORDER_REFLECT, sizes[si], 16, 6,
                                             blends[bi], &ax), UNET_OK);
            for (int64_t x = 0; x < sizes[si]; x++) {
                double sum = 0;
                for (int64_t k = 0; k < ax.count; k++) {
                    unet__span sp;
                    unet__axis_span(&net, &ax, k, &sp);
                    sum += unet__blend_weight(&ax, &sp, k, x);
                }
                ck_assert_msg(sum == 1.0, "size %lld blend %lld x %lld: sum %.17g",
                              (long long)sizes[si], (long long)blends[bi], (long long)x, sum);
            }
        }
    unet__axis ax;
    ck_assert_int_eq(unet__axis_plan(&net, UNET_BORDER_REFLECT, 100, 16, 6, 9, &ax),
                     UNET_E_INVALID_ARG); /* wider than half a tile */
    unet_model_free(m);
}
END_TEST

/* A fake network whose run needs 1000 bytes per window pixel per image. */
static int fake_workspace(const void *ctx, int64_t n, int64_t h, int64_t w, int threads,
                          size_t *bytes)
{
    (void)ctx;
    (void)threads;
    *bytes = (size_t)(n * h * w) * 1000;
    return UNET_OK;
}

START_TEST(test_auto_tile_fits_the_memory_budget)
{
    unet__net net = {0};
    net.same_padding = true;
    net.block_multiple = 8;
    /* Unknown workspace: equal cores of up to 768 px (1.5 x 512); a small image: whole. A
     * 4000-px side: six cores of 672 (not seven of 512 and one of 416); a 1248-px side (2048^2
     * at the built-in model's usual scale): two of 624, not 512 + 512 + 224. */
    ck_assert_int_eq(unet__auto_tile(&net, 4000, 3000, 20, 1, 1), 672);
    ck_assert_int_eq(unet__auto_tile(&net, 1248, 1248, 51, 1, 1), 624);
    /* A side one core of 768 would cover keeps 512 (see unet__auto_tile). */
    ck_assert_int_eq(unet__auto_tile(&net, 700, 700, 20, 1, 1), 512);
    ck_assert_int_eq(unet__auto_tile(&net, 300, 500, 20, 1, 1), UNET_TILE_WHOLE);
    /* 712^2 x 1000 B = 507 MB > 256 MiB: halved to 336 (376^2 x 1000 B = 141 MB). */
    net.workspace = fake_workspace;
    ck_assert_int_eq(unet__auto_tile(&net, 4000, 3000, 20, 1, 1), 336);
    /* Four windows per batch: 4 x 141 MB > 256 MiB, so 168 (4 x 208^2 x 1000 B = 173 MB). */
    ck_assert_int_eq(unet__auto_tile(&net, 4000, 3000, 20, 4, 1), 168);
    /* A large halo: cores of at least four halos (600; ten equal cores of 904 on 9000 px,
     * window 1208^2 = 1.46 GB), then halved: 448 (752^2 = 566 MB), 224 (528^2 = 279 MB > 256
     * MiB), 112 (416^2 = 173 MB). */
    ck_assert_int_eq(unet__auto_tile(&net, 9000, 9000, 150, 1, 1), 112);
}
END_TEST

START_TEST(test_blending)
{
    /* A pixel-wise model (1x1 convs only): a constant image stays constant with blending. */
    unet_model_t *local = create("{\"depth\": 1, \"kernel_size\": 1, \"block\": \"cr\", "
                                 "\"base_features\": 3}");
    int64_t h = 70, w = 90, n = h * w, shape[2] = {h, w};
    float *img = malloc((size_t)n * 4), *out = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++)
        img[i] = 0.7f;
    unet_predict_opts_t *o = opts_for(UNET_BORDER_REFLECT, 16, 2, 1);
    ck_assert_int_eq(unet_predict_opts_set_blend(o, 6), UNET_OK);
    ck_assert_int_eq(unet_predict(local, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
    for (int64_t i = 1; i < n; i++)
        ck_assert_float_eq_tol(out[i], out[0], 1e-6f);
    unet_predict_opts_free(o);
    unet_model_free(local);
    free(img);
    free(out);

    /* Blending a model whose halo covers its receptive field still equals the whole image. */
    unet_model_t *m = create(SAME_CFG);
    h = 77;
    w = 101;
    n = h * w;
    img = random_image(n, 21);
    float *ref = malloc((size_t)n * 4);
    out = malloc((size_t)n * 4);
    whole_image(m, img, h, w, UNET_BORDER_ZERO, ref);
    o = opts_for(UNET_BORDER_ZERO, 32, 2, 2);
    ck_assert_int_eq(unet_predict_opts_set_blend(o, 8), UNET_OK);
    int64_t shape2[2] = {h, w};
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape2, out, (size_t)n), UNET_OK);
    double d = max_abs_diff(out, ref, n);
    printf("blend 8 on tile 32: max diff to whole image %.3g\n", d);
    ck_assert_double_le(d, 1e-5);
    ck_assert_int_eq(unet_predict_opts_set_blend(o, 17), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape2, out, (size_t)n),
                     UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    free(img);
    free(ref);
    free(out);
    unet_model_free(m);
}
END_TEST

/* ---- streaming ---- */

typedef struct stream_state {
    const float *img;
    float *out;
    int64_t planes, h, w;
    int *writes; /* per output pixel */
    int bad_region;
    int fail_read_at; /* read call number that fails, or -1 */
    int reads;
} stream_state;

static int stream_read(void *user, int64_t p, int64_t y, int64_t x, int64_t h, int64_t w,
                       float *dst)
{
    stream_state *s = user;
    if (s->fail_read_at >= 0 && s->reads++ == s->fail_read_at)
        return 5;
    if (p < 0 || p >= s->planes || y < 0 || x < 0 || y + h > s->h || x + w > s->w || h < 1 || w < 1)
        s->bad_region = 1;
    for (int64_t i = 0; i < h; i++)
        memcpy(dst + i * w, s->img + (p * s->h + y + i) * s->w + x, (size_t)w * 4);
    return 0;
}

static int stream_write(void *user, int64_t p, int64_t y, int64_t x, int64_t h, int64_t w,
                        const float *src)
{
    stream_state *s = user;
    if (p < 0 || p >= s->planes || y < 0 || x < 0 || y + h > s->h || x + w > s->w)
        s->bad_region = 1;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            int64_t k = (p * s->h + y + i) * s->w + x + j;
            s->out[k] = src[i * w + j];
            s->writes[k]++;
        }
    return 0;
}

START_TEST(test_streaming_equals_memory)
{
    unet_model_t *m = create(SAME_CFG);
    int64_t P = 2, h = 75, w = 66, n = P * h * w;
    float *img = random_image(n, 31), *mem = malloc((size_t)n * 4), *str = malloc((size_t)n * 4);
    int *writes = calloc((size_t)n, sizeof *writes);
    unet_predict_opts_t *o = opts_for(UNET_BORDER_REFLECT, 16, 4, 2);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, 1, 99.8),
                     UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_blend(o, 4), UNET_OK);
    int64_t shape[4] = {P, 1, h, w};
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 4, shape, mem, (size_t)n), UNET_OK);
    stream_state s = {img, str, P, h, w, writes, 0, -1, 0};
    ck_assert_int_eq(unet_predict_stream(m, o, P, 1, h, w, stream_read, &s, stream_write, &s),
                     UNET_OK);
    ck_assert_int_eq(s.bad_region, 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_int_eq(writes[i], 1);
    ck_assert_mem_eq(mem, str, (size_t)n * 4);
    /* Planes are independent: plane 1 alone gives the same result. */
    float *one = malloc((size_t)(h * w) * 4);
    int64_t shape1[2] = {h, w};
    ck_assert_int_eq(unet_predict(m, o, img + h * w, UNET_F32, 2, shape1, one, (size_t)(h * w)),
                     UNET_OK);
    ck_assert_mem_eq(one, mem + h * w, (size_t)(h * w) * 4);
    /* A failing read stops the call with UNET_E_IO. */
    s.fail_read_at = 3;
    s.reads = 0;
    ck_assert_int_eq(unet_predict_stream(m, o, P, 1, h, w, stream_read, &s, stream_write, &s),
                     UNET_E_IO);
    ck_assert_int_eq(unet_predict_stream(m, o, P, 2, h, w, stream_read, &s, stream_write, &s),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_predict_stream(m, o, P, 1, 0, w, stream_read, &s, stream_write, &s),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_predict_stream(m, o, P, 1, h, w, NULL, &s, stream_write, &s),
                     UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    free(one);
    free(img);
    free(mem);
    free(str);
    free(writes);
    unet_model_free(m);
}
END_TEST

/* NumPy's percentile (linear) of sorted values. */
static int compare_floats(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double numpy_percentile(const float *sorted, int64_t n, double q)
{
    double pos = q / 100.0 * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double t = pos - (double)k;
    return t > 0 ? sorted[k] + t * ((double)sorted[k + 1] - sorted[k]) : sorted[k];
}

/* Percentile normalisation: the streamed statistics equal NumPy-style percentiles computed
 * by sorting (checked through a fixed normalisation with those values). */
START_TEST(test_percentile_statistics)
{
    unet_model_t *m = create(SAME_CFG);
    int64_t h = 123, w = 77, n = h * w;
    float *img = random_image(n, 41), *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i += 7)
        img[i] = 3.0f; /* many ties */
    float *sorted = malloc((size_t)n * 4);
    memcpy(sorted, img, (size_t)n * 4);
    for (int64_t i = 1; i < n; i++) { /* insertion sort: slow but obviously right */
        float v = sorted[i];
        int64_t j = i - 1;
        while (j >= 0 && sorted[j] > v) {
            sorted[j + 1] = sorted[j];
            j--;
        }
        sorted[j + 1] = v;
    }
    double lo = numpy_percentile(sorted, n, 2.0), hi = numpy_percentile(sorted, n, 99.8);
    unet_predict_opts_t *o = opts_for(UNET_BORDER_NETWORK, 32, 1, 1);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, 2, 99.8),
                     UNET_OK);
    int64_t shape[2] = {h, w};
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, a, (size_t)n), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_FIXED, lo,
                                                     (hi - lo + 1e-20)), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, b, (size_t)n), UNET_OK);
    ck_assert_double_le(max_abs_diff(a, b, n), 1e-6);
    unet_predict_opts_free(o);
    free(sorted);
    free(img);
    free(a);
    free(b);
    unet_model_free(m);
}
END_TEST

/* A plane generated on the fly (no image held): many ties (integers) and fractions, or only
 * integers (a 16-bit image's values). */
typedef struct made_plane {
    int64_t channels, height, width;
    int reads;
    bool integers;
} made_plane;

static float made_value(const made_plane *p, int64_t c, int64_t y, int64_t x)
{
    uint64_t v = (uint64_t)(c * 1000003 + y * 7919 + x) * 0x9E3779B97F4A7C15ull;
    v ^= v >> 29;
    if (p->integers)
        return (float)((v >> 8) % 65536);
    return (v & 3) ? (float)((v >> 8) % 4096) : (float)((v >> 8) % 100000) / 7.0f;
}

static int made_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                     float *dst)
{
    made_plane *p = user;
    (void)plane;
    p->reads++;
    for (int64_t c = 0; c < p->channels; c++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++)
                dst[(c * h + i) * w + j] = made_value(p, c, y + i, x + j);
    return 0;
}

/* The plane statistics exactly (==) NumPy's percentiles, for a plane small enough to be read
 * once and kept for every pass (one read), and for one of more than 8M floats read in strips
 * on every pass; with fractions (the search) and with integers only (one histogram pass). */
START_TEST(test_percentiles_kept_and_in_strips)
{
    const int64_t sizes[4][3] = {{2, 700, 900}, {2, 2100, 2050}, {2, 700, 900}, {2, 2100, 2050}};
    for (int k = 0; k < 4; k++) {
        made_plane mp = {sizes[k][0], sizes[k][1], sizes[k][2], 0, k >= 2};
        int64_t n = mp.height * mp.width;
        unet__source src = {1, mp.channels, mp.height, mp.width, made_read, &mp};
        unet__norm norm = {UNET_NORMALIZE_PERCENTILE, 1.0, 99.8, 0};
        struct unet_predict_opts po;
        unet__predict_opts_defaults(&po);
        unet__progress prog = {&po, -1.0, 0.0};
        unet__norm_stats stats[2];
        ck_assert_int_eq(unet__plane_stats(&src, 0, &norm, stats, &prog, 0, 1), UNET_OK);
        if (k % 2 == 0)
            ck_assert_int_eq(mp.reads, 1);
        else if (k == 1)
            ck_assert_int_gt(mp.reads, 30); /* the search: several passes of 9 strips */
        else
            ck_assert_int_lt(mp.reads, 10); /* integers: one pass */
        float *v = malloc((size_t)n * sizeof *v);
        ck_assert_ptr_nonnull(v);
        for (int64_t c = 0; c < mp.channels; c++) {
            for (int64_t i = 0; i < n; i++)
                v[i] = made_value(&mp, c, i / mp.width, i % mp.width);
            qsort(v, (size_t)n, sizeof *v, compare_floats);
            double lo = numpy_percentile(v, n, 1.0), hi = numpy_percentile(v, n, 99.8);
            ck_assert_msg(stats[c].shift == lo, "plane %lld channel %lld: low %.9g, not %.9g",
                          (long long)k, (long long)c, stats[c].shift, lo);
            ck_assert_msg(stats[c].denominator == hi - lo + 1e-20,
                          "plane %lld channel %lld: range %.9g, not %.9g", (long long)k,
                          (long long)c, stats[c].denominator, hi - lo + 1e-20);
        }
        free(v);
    }
}
END_TEST

/* ---- progress, cancel, threads ---- */

typedef struct progress_log {
    double last;
    int calls, ones, cancel_after;
    int bad_order;
} progress_log;

static int on_progress(void *user, double f, const char *stage)
{
    progress_log *p = user;
    if (f < p->last || f < 0 || f > 1 || !stage)
        p->bad_order = 1;
    p->last = f;
    p->calls++;
    p->ones += f == 1.0;
    return p->cancel_after > 0 && p->calls >= p->cancel_after;
}

START_TEST(test_progress_and_cancel)
{
    unet_model_t *m = create(SAME_CFG);
    int64_t h = 200, w = 200, n = h * w, shape[2] = {h, w};
    float *img = random_image(n, 3), *out = malloc((size_t)n * 4);
    unet_predict_opts_t *o = opts_for(UNET_BORDER_NETWORK, 16, 1, 1);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_ZMUV, 0, 0), UNET_OK);
    progress_log log = {0};
    ck_assert_int_eq(unet_predict_opts_set_progress(o, on_progress, &log), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
    ck_assert_int_eq(log.bad_order, 0);
    ck_assert_int_ge(log.calls, 2);
    ck_assert_int_eq(log.ones, 1);
    ck_assert(log.last == 1.0);
    /* A callback returning non-zero cancels; 1.0 is never reported then. */
    progress_log stop = {0};
    stop.cancel_after = 1;
    ck_assert_int_eq(unet_predict_opts_set_progress(o, on_progress, &stop), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n),
                     UNET_E_CANCELLED);
    ck_assert_int_eq(stop.ones, 0);
    ck_assert_int_eq(stop.calls, 1);
    /* unet_predict_opts_cancel is sticky until reset. */
    ck_assert_int_eq(unet_predict_opts_set_progress(o, NULL, NULL), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_cancel(o), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n),
                     UNET_E_CANCELLED);
    ck_assert_int_eq(unet_predict_opts_reset_cancel(o), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n), UNET_OK);
    unet_predict_opts_free(o);
    free(img);
    free(out);
    unet_model_free(m);
}
END_TEST

typedef struct canceller {
    unet_predict_opts_t *opts;
    atomic_int *started;
} canceller;

static int note_start(void *user, double f, const char *stage)
{
    (void)f;
    (void)stage;
    atomic_store((atomic_int *)user, 1);
    return 0;
}

static void *cancel_soon(void *arg)
{
    canceller *c = arg;
    while (!atomic_load(c->started))
        ;
    unet_predict_opts_cancel(c->opts);
    return NULL;
}

START_TEST(test_cancel_from_another_thread)
{
    unet_model_t *m = create(SAME_CFG);
    int64_t h = 512, w = 512, n = h * w, shape[2] = {h, w};
    float *img = random_image(n, 4), *out = malloc((size_t)n * 4);
    unet_predict_opts_t *o = opts_for(UNET_BORDER_NETWORK, 16, 1, 1);
    atomic_int started = 0;
    ck_assert_int_eq(unet_predict_opts_set_progress(o, note_start, &started), UNET_OK);
    canceller c = {o, &started};
    pthread_t t;
    pthread_create(&t, NULL, cancel_soon, &c);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, (size_t)n),
                     UNET_E_CANCELLED);
    pthread_join(t, NULL);
    unet_predict_opts_free(o);
    free(img);
    free(out);
    unet_model_free(m);
}
END_TEST

typedef struct job {
    const unet_model_t *m;
    const float *img;
    float *out;
    int64_t h, w;
    int rc;
} job;

static void *predict_job(void *arg)
{
    job *j = arg;
    unet_predict_opts_t *o;
    unet_predict_opts_create(&o);
    unet_predict_opts_set_tile(o, 32);
    unet_predict_opts_set_threads(o, 1);
    int64_t shape[2] = {j->h, j->w};
    j->rc = unet_predict(j->m, o, j->img, UNET_F32, 2, shape, j->out, (size_t)(j->h * j->w));
    unet_predict_opts_free(o);
    return NULL;
}

START_TEST(test_four_threads_share_a_model)
{
    unet_model_t *m = create(SAME_CFG);
    job jobs[4];
    float *seq[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        int64_t h = 60 + 13 * i, w = 90 - 7 * i;
        jobs[i] = (job){m, random_image(h * w, 100 + (unsigned)i), malloc((size_t)(h * w) * 4), h, w, -1};
        seq[i] = malloc((size_t)(h * w) * 4);
        job s = jobs[i];
        s.out = seq[i];
        predict_job(&s);
        ck_assert_int_eq(s.rc, UNET_OK);
    }
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, predict_job, &jobs[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(jobs[i].rc, UNET_OK);
        ck_assert_mem_eq(jobs[i].out, seq[i], (size_t)(jobs[i].h * jobs[i].w) * 4);
        free((void *)jobs[i].img);
        free(jobs[i].out);
        free(seq[i]);
    }
    unet_model_free(m);
}
END_TEST

START_TEST(test_option_validation)
{
    unet_model_t *m = create(SAME_CFG);
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(o, -5), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_batch(o, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_batch(o, 65), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_blend(o, -1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_halo(o, -2, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_tile(NULL, 8), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_cancel(NULL), UNET_E_INVALID_ARG);
    /* A tile that is not a multiple of the block multiple names both numbers. */
    ck_assert_int_eq(unet_predict_opts_set_tile(o, 10), UNET_OK);
    float img[64] = {0}, out[64];
    int64_t shape[2] = {8, 8};
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, 64), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "tile 10 is not a multiple of"));
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "4"));
    unet_predict_opts_free(o);
    unet_model_free(m);
    /* Valid-padding models refuse the network border and a changed halo. */
    m = create(VALID_CFG);
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_NETWORK), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, 64), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_REFLECT), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_halo(o, 100, 0), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img, UNET_F32, 2, shape, out, 64), UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tiling");
    /* "exact" also runs once per UNET_ISA (tests/meson.build: CK_RUN_CASE=exact). */
    TCase *te = tcase_create("exact");
    tcase_set_timeout(te, 600);
    tcase_add_test(te, test_exact_same_padding);
    tcase_add_test(te, test_exact_valid_padding);
    tcase_add_test(te, test_exact_prime_size);
    tcase_add_test(te, test_exact_winograd_model);
    tcase_add_test(te, test_negative_controls);
    suite_add_tcase(s, te);
    TCase *tc = tcase_create("tiling");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_blend_weights_sum_to_one);
    tcase_add_test(tc, test_auto_tile_fits_the_memory_budget);
    tcase_add_test(tc, test_blending);
    tcase_add_test(tc, test_streaming_equals_memory);
    tcase_add_test(tc, test_percentile_statistics);
    tcase_add_test(tc, test_percentiles_kept_and_in_strips);
    tcase_add_test(tc, test_progress_and_cancel);
    tcase_add_test(tc, test_cancel_from_another_thread);
    tcase_add_test(tc, test_four_threads_share_a_model);
    tcase_add_test(tc, test_option_validation);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
