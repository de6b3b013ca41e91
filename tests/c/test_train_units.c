/*
 * Unit tests of the training building blocks: losses (finite differences and hand-computed
 * values), distance transform and border weights (brute force), targets, connected
 * components, metrics, the matrix product (against naive loops), schedules (values computed
 * by PyTorch), options validation, and patch sampling. Run with CK_FORK=no.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"
#include "api_calls.h"

#include "core/rng.h"
#include "kernels/train_gemm.h"
#include "post/post.h"
#include "train/data.h"
#include "train/labels.h"
#include "train/loss.h"
#include "train/metrics.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/train_opts.h"

static float *rand_floats(unet__rng *r, int64_t n, double scale)
{
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(scale * unet__rng_normal(r));
    return v;
}

/* ---------------------------------------------------------------- losses */

/* Central differences of the loss with respect to each logit (float inputs, double loss). */
static void check_loss_gradient(unet__loss *l, int64_t n, int64_t c, int64_t hw, bool weights,
                                bool sparse)
{
    unet__rng r;
    unet__rng_seed(&r, 17 + (uint64_t)l->kind);
    float *z = rand_floats(&r, n * c * hw, 2.0);
    const bool cls = unet__loss_class_targets(l);
    const int64_t tc = cls ? 1 : c;
    float *t = malloc((size_t)(n * tc * hw) * sizeof *t), *w = NULL;
    for (int64_t i = 0; i < n * tc * hw; i++)
        t[i] = cls ? (float)(unet__rng_next(&r) % (uint64_t)c)
               : l->kind == UNET__LOSS_MSE || l->kind == UNET__LOSS_L1
                   ? (float)unet__rng_uniform(&r)
                   : (float)(unet__rng_uniform(&r) > 0.6);
    if (weights) {
        w = malloc((size_t)(n * hw) * sizeof *w);
        for (int64_t i = 0; i < n * hw; i++)
            w[i] = (float)(0.5 + 2 * unet__rng_uniform(&r));
    }
    uint8_t *valid = malloc((size_t)(n * hw));
    for (int64_t i = 0; i < n * hw; i++)
        valid[i] = !sparse || unet__rng_uniform(&r) > 0.3;
    float *g = malloc((size_t)(n * c * hw) * sizeof *g);
    double v, vp, vm;
    ck_assert_int_eq(unet__loss_eval(l, z, n, c, hw, t, w, sparse ? valid : NULL, &v, g),
                     UNET_OK);
    double gmax = 0;
    for (int64_t i = 0; i < n * c * hw; i++)
        gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
    for (int64_t i = 0; i < n * c * hw; i += 3) {
        const float keep = z[i];
        const float eps = 1e-2f;
        z[i] = keep + eps;
        unet__loss_eval(l, z, n, c, hw, t, w, sparse ? valid : NULL, &vp, NULL);
        z[i] = keep - eps;
        unet__loss_eval(l, z, n, c, hw, t, w, sparse ? valid : NULL, &vm, NULL);
        z[i] = keep;
        const double num = (vp - vm) / (2.0 * (double)eps); /* exact step: z +- eps in float */
        if (l->kind == UNET__LOSS_L1 && fabs((double)z[i] - t[i]) < 2 * eps)
            continue; /* the kink of |x| */
        ck_assert_msg(fabs(num - g[i]) <= 1e-3 * gmax + 1e-4 * fabs(num),
                      "%s: d/dz[%lld] = %.7g, finite differences %.7g",
                      unet__loss_name(l->kind), (long long)i, g[i], num);
    }
    free(z);
    free(t);
    free(w);
    free(valid);
    free(g);
}

START_TEST(loss_gradients)
{
    unet__loss l;
    memset(&l, 0, sizeof l);
    l.pos_weight = 1;
    l.smooth = 1;
    for (int k = 0; k < 6; k++) {
        l.kind = (unet__loss_kind)k;
        l.final_act = k == UNET__LOSS_CE ? UNET__FINAL_SOFTMAX : UNET__FINAL_SIGMOID;
        l.pos_weight = k == UNET__LOSS_BCE ? 2.5 : 1;
        check_loss_gradient(&l, 2, k == UNET__LOSS_CE ? 3 : 2, 12, true, true);
        check_loss_gradient(&l, 1, k == UNET__LOSS_CE ? 4 : 1, 20, false, false);
    }
    l.kind = UNET__LOSS_DICE; /* softmax dice: class targets */
    l.final_act = UNET__FINAL_SOFTMAX;
    check_loss_gradient(&l, 2, 3, 15, false, true);
    l.kind = UNET__LOSS_CE; /* class weights */
    l.nclass_weights = 3;
    l.class_weights[0] = 0.2;
    l.class_weights[1] = 1;
    l.class_weights[2] = 5;
    check_loss_gradient(&l, 2, 3, 10, true, true);
}
END_TEST

START_TEST(loss_values)
{
    unet__loss l;
    memset(&l, 0, sizeof l);
    l.pos_weight = 1;
    l.smooth = 1;
    double v;
    /* bce of logit 0 is log 2 whatever the target; pos_weight 3 triples positives. */
    float z[2] = {0, 0}, t[2] = {1, 0};
    l.kind = UNET__LOSS_BCE;
    ck_assert_int_eq(unet__loss_eval(&l, z, 1, 1, 2, t, NULL, NULL, &v, NULL), UNET_OK);
    ck_assert_double_eq_tol(v, log(2.0), 1e-12);
    l.pos_weight = 3;
    unet__loss_eval(&l, z, 1, 1, 2, t, NULL, NULL, &v, NULL);
    ck_assert_double_eq_tol(v, 2 * log(2.0), 1e-12); /* (3 log2 + log2) / 2 */
    /* Large logits stay finite (softplus). */
    float big[2] = {200, -200};
    l.pos_weight = 1;
    unet__loss_eval(&l, big, 1, 1, 2, t, NULL, NULL, &v, NULL);
    ck_assert(isfinite(v) && v < 1e-30);
    /* ce: two equal logits give log 2; an ignored pixel counts nowhere. */
    float zc[4] = {1, 5, 1, 5}, tc[2] = {0, 1};
    uint8_t valid[2] = {1, 0};
    l.kind = UNET__LOSS_CE;
    l.final_act = UNET__FINAL_SOFTMAX;
    /* layout [n=1][c=2][hw=2]: pixel 0 has logits (1, 1), pixel 1 (5, 5) */
    ck_assert_int_eq(unet__loss_eval(&l, zc, 1, 2, 2, tc, NULL, valid, &v, NULL), UNET_OK);
    ck_assert_double_eq_tol(v, log(2.0), 1e-12);
    /* Out-of-range classes are refused with a message. */
    float bad[2] = {0, 2};
    ck_assert_int_eq(unet__loss_eval(&l, zc, 1, 2, 2, bad, NULL, NULL, &v, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "target class 2"));
    /* dice of a perfect, confident prediction is ~0 */
    l.kind = UNET__LOSS_DICE;
    l.final_act = UNET__FINAL_SIGMOID;
    float zd[4] = {30, -30, 30, -30}, td[4] = {1, 0, 1, 0};
    unet__loss_eval(&l, zd, 1, 1, 4, td, NULL, NULL, &v, NULL);
    ck_assert_double_eq_tol(v, 0.0, 1e-9);
    /* mse and l1 with weights: mean of w * l */
    float zm[2] = {1, 3}, tm[2] = {0, 1}, w[2] = {2, 0.5f};
    l.kind = UNET__LOSS_MSE;
    unet__loss_eval(&l, zm, 1, 1, 2, tm, w, NULL, &v, NULL);
    ck_assert_double_eq_tol(v, (2 * 1 + 0.5 * 4) / 2.0, 1e-12);
    l.kind = UNET__LOSS_L1;
    unet__loss_eval(&l, zm, 1, 1, 2, tm, w, NULL, &v, NULL);
    ck_assert_double_eq_tol(v, (2 * 1 + 0.5 * 2) / 2.0, 1e-12);
}
END_TEST

START_TEST(loss_checks)
{
    unet__loss l;
    memset(&l, 0, sizeof l);
    l.kind = UNET__LOSS_BCE;
    l.final_act = UNET__FINAL_SOFTMAX;
    ck_assert_int_eq(unet__loss_check(&l, 2), UNET_E_INVALID_ARG);
    l.kind = UNET__LOSS_CE;
    l.final_act = UNET__FINAL_NONE;
    ck_assert_int_eq(unet__loss_check(&l, 1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet__loss_check(&l, 2), UNET_OK);
    ck_assert_int_eq(unet__loss_parse("bce+dice"), UNET__LOSS_BCE_DICE);
    ck_assert_int_eq(unet__loss_parse("huber"), -1);
}
END_TEST

/* ---------------------------------------------------------------- labels */

/* The border weights' distance transform (post/distance.c): squared distances are exact
 * integers in float, so each distance is exactly the float nearest the true one. */
START_TEST(distance_transform_is_exact)
{
    unet__rng r;
    unet__rng_seed(&r, 3);
    const int64_t h = 23, w = 31;
    const unet__grid grid = {1, h, w, h * w};
    const double unit[3] = {1, 1, 1};
    uint8_t f[23 * 31], outside[23 * 31];
    float d[23 * 31];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < h * w; i++) {
            f[i] = unet__rng_uniform(&r) < (round == 0 ? 0.005 : 0.05 * round);
            outside[i] = !f[i];
        }
        ck_assert_int_eq(unet__distance_transform(outside, &grid, unit, d, 1), UNET_OK);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                double best = INFINITY;
                for (int64_t yy = 0; yy < h; yy++)
                    for (int64_t xx = 0; xx < w; xx++)
                        if (f[yy * w + xx]) {
                            double v = (double)((y - yy) * (y - yy) + (x - xx) * (x - xx));
                            best = v < best ? v : best;
                        }
                ck_assert_msg(d[y * w + x] == (float)sqrt(best), "(%lld,%lld): %g vs %g",
                              (long long)y, (long long)x, (double)d[y * w + x], sqrt(best));
            }
    }
    memset(outside, 1, sizeof outside);
    unet__distance_transform(outside, &grid, unit, d, 1);
    ck_assert(isinf(d[0]) && isinf(d[h * w - 1]));
}
END_TEST

START_TEST(border_weights_match_definition)
{
    const int64_t h = 40, w = 50;
    int32_t lab[40 * 50] = {0};
    /* three discs, two close together */
    const int cy[3] = {12, 12, 30}, cx[3] = {12, 24, 30}, rad[3] = {5, 5, 7};
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                if ((y - cy[k]) * (y - cy[k]) + (x - cx[k]) * (x - cx[k]) <= rad[k] * rad[k])
                    lab[y * w + x] = 7 * (k + 1); /* ids need not be consecutive */
    float wt[40 * 50];
    ck_assert_int_eq(unet__border_weights(lab, h, w, 10, 5, wt), UNET_OK);
    double maxdiff = 0;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double want = 1;
            if (lab[y * w + x] == 0) {
                double dk[3];
                for (int k = 0; k < 3; k++) {
                    dk[k] = INFINITY;
                    for (int64_t i = 0; i < h * w; i++)
                        if (lab[i] == 7 * (k + 1)) {
                            double dy = (double)(y - i / w), dx = (double)(x - i % w);
                            double v = sqrt(dy * dy + dx * dx);
                            dk[k] = v < dk[k] ? v : dk[k];
                        }
                }
                /* two smallest */
                for (int a = 0; a < 2; a++)
                    for (int b = a + 1; b < 3; b++)
                        if (dk[b] < dk[a]) {
                            double t = dk[a];
                            dk[a] = dk[b];
                            dk[b] = t;
                        }
                want += 10 * exp(-(dk[0] + dk[1]) * (dk[0] + dk[1]) / 50.0);
            }
            double diff = fabs(wt[y * w + x] - want);
            maxdiff = diff > maxdiff ? diff : maxdiff;
        }
    ck_assert_msg(maxdiff < 1e-5, "border weights differ by %g", maxdiff);
    /* between the two close discs the weight is high */
    ck_assert(wt[12 * w + 18] > 5);
}
END_TEST

START_TEST(targets_and_components)
{
    /* Two touching instances 1 | 2 in a 4 x 6 image. */
    const int32_t lab[24] = {0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0,
                             0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0};
    float t[24], f[24];
    unet__target_foreground(lab, 24, f);
    unet__target_3class(lab, 4, 6, t);
    for (int i = 0; i < 24; i++)
        ck_assert_float_eq(f[i], lab[i] > 0);
    /* Every instance pixel here touches another label or background: all boundary, except
     * the image border rule (outside is not a neighbour): (0,1)'s up neighbour is outside,
     * but its left is background, so it is boundary too. */
    const float want[24] = {0, 2, 2, 2, 2, 0, 0, 2, 2, 2, 2, 0,
                            0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 24; i++)
        ck_assert_msg(t[i] == want[i], "pixel %d: %g", i, t[i]);
    /* A 5 x 5 square has a 3 x 3 interior. */
    int32_t sq[49] = {0};
    for (int y = 1; y < 6; y++)
        for (int x = 1; x < 6; x++)
            sq[y * 7 + x] = 3;
    float t3[49];
    unet__target_3class(sq, 7, 7, t3);
    int interior = 0, boundary = 0;
    for (int i = 0; i < 49; i++) {
        interior += t3[i] == 1;
        boundary += t3[i] == 2;
    }
    ck_assert_int_eq(interior, 9);
    ck_assert_int_eq(boundary, 16);
    /* Components: diagonal neighbours join with 8-connectivity only. */
    const uint8_t m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    int32_t cc[12];
    ck_assert_int_eq(unet__train_components(m, 3, 3, 0, cc), 3);
    ck_assert_int_eq(unet__train_components(m, 3, 3, 1, cc), 1);
    const uint8_t u[12] = {1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0}; /* a U: one component */
    ck_assert_int_eq(unet__train_components(u, 4, 3, 0, cc), 1);
    ck_assert_int_eq(cc[0], 1);
}
END_TEST

/* The distance target: an isolated 7 x 7 square peaks at 1 in its centre and falls to 1/4 on
 * its rim (distances 1..4 to the background); two 9 x 5 rectangles side by side touch along a
 * seam that gets 0, so each keeps its own peak; a 3 x 3 square peaks at 1 as the large one
 * does (normalised per instance). */
START_TEST(distance_target)
{
    enum { H = 13, W = 24 };
    int32_t lab[H * W] = {0};
    for (int y = 1; y < 8; y++)
        for (int x = 1; x < 8; x++)
            lab[y * W + x] = 4;
    for (int y = 2; y < 7; y++)
        for (int x = 10; x < 19; x++)
            lab[y * W + x] = x < 14 ? 7 : 9; /* 4 + 5 columns, touching at x = 13 | 14 */
    for (int y = 9; y < 12; y++)
        for (int x = 20; x < 23; x++)
            lab[y * W + x] = 2;
    float t[2 * H * W];
    ck_assert_int_eq(unet__target_distance(lab, H, W, t), UNET_OK);
    const float *fg = t, *d = t + H * W;
    for (int i = 0; i < H * W; i++) {
        ck_assert_float_eq(fg[i], lab[i] > 0);
        ck_assert(d[i] >= 0 && d[i] <= 1);
        if (!lab[i])
            ck_assert_float_eq(d[i], 0);
    }
    ck_assert_float_eq_tol(d[4 * W + 4], 1, 1e-6);   /* centre of the square */
    ck_assert_float_eq_tol(d[1 * W + 4], 0.25, 1e-6); /* its rim */
    ck_assert_float_eq_tol(d[4 * W + 1], 0.25, 1e-6);
    for (int y = 2; y < 7; y++) { /* the seam */
        ck_assert_float_eq(d[y * W + 13], 0);
        ck_assert_float_eq(d[y * W + 14], 0);
    }
    float left = 0, right = 0;
    for (int y = 2; y < 7; y++)
        for (int x = 10; x < 19; x++) {
            float *m = x < 14 ? &left : &right;
            *m = d[y * W + x] > *m ? d[y * W + x] : *m;
        }
    ck_assert_float_eq_tol(left, 1, 1e-6);
    ck_assert_float_eq_tol(right, 1, 1e-6);
    ck_assert_float_eq_tol(d[4 * W + 11], 1, 1e-6); /* 2 px from background and seam alike */
    ck_assert_float_eq_tol(d[10 * W + 21], 1, 1e-6); /* the small square's centre */
    ck_assert_float_eq_tol(d[9 * W + 20], 0.5, 1e-6);
}
END_TEST

/* ---------------------------------------------------------------- metrics */

START_TEST(metrics)
{
    /* gt: two objects; pred: one matches (IoU 3/4), one misses (IoU 1/3), one extra. */
    const int32_t gt[12] = {1, 1, 1, 0, 2, 2, 2, 0, 0, 0, 0, 0};
    const int32_t pr[12] = {5, 5, 5, 5, 0, 9, 0, 0, 0, 0, 4, 4};
    int64_t tp, np, ng;
    ck_assert_int_eq(unet__metric_instance_match(pr, gt, 12, 0.5, &tp, &np, &ng), UNET_OK);
    ck_assert_int_eq(tp, 1);
    ck_assert_int_eq(np, 3);
    ck_assert_int_eq(ng, 2);
    uint8_t p[4] = {1, 1, 0, 0}, g[4] = {1, 0, 1, 0};
    int64_t inter, a, b;
    unet__overlap_counts(p, g, NULL, 4, &inter, &a, &b);
    ck_assert_int_eq(inter, 1);
    ck_assert_int_eq(a, 2);
    ck_assert_int_eq(b, 2);
    float x[4] = {0, 1, 2, 3}, ref[4] = {0, 1, 2, 4};
    ck_assert_double_eq_tol(unet__psnr(x, ref, 4, 4.0), 10 * log10(16 / 0.25), 1e-9);
    /* SSIM of an image with itself is 1; of a shifted copy below 1. */
    float img[32 * 32], img2[32 * 32];
    for (int i = 0; i < 32 * 32; i++) {
        img[i] = (float)sin(0.3 * (i % 32)) * (float)cos(0.2 * (i / 32));
        img2[i] = img[i] + 0.3f * (float)sin(1.7 * i);
    }
    double s;
    ck_assert_int_eq(unet__ssim(img, img, 32, 32, 2.0, &s), UNET_OK);
    ck_assert_double_eq_tol(s, 1.0, 1e-12);
    unet__ssim(img2, img, 32, 32, 2.0, &s);
    ck_assert(s < 0.9 && s > 0);
}
END_TEST

/* ---------------------------------------------------------------- the matrix product */

START_TEST(gemm_matches_naive)
{
    unet__rng r;
    unet__rng_seed(&r, 5);
    const int64_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {6, 16, 256}, {97, 530, 300},
                                 {16, 37, 2000}, {130, 17, 9}, {3, 1100, 4}, {200, 48, 64}};
    float *packs = malloc(unet__sgemm_pack_floats(1) * sizeof *packs);
    ck_assert_ptr_nonnull(packs);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = rand_floats(&r, m * k, 1), *b = rand_floats(&r, k * n, 1);
        float *c = rand_floats(&r, m * n, 1), *c2 = malloc((size_t)(m * n) * sizeof *c2);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++)
                    for (int th = 0; th <= 3; th += th ? 2 : 1) { /* 0: serial */
                        memcpy(c2, c, (size_t)(m * n) * sizeof *c);
                        if (th == 0)
                            unet__sgemm_serial(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n,
                                               beta, c2, n, packs);
                        else
                            ck_assert_int_eq(unet__sgemm(ta, tb, m, n, k, a, ta ? m : k, b,
                                                         tb ? k : n, beta, c2, n, NULL, th),
                                             UNET_OK);
                        for (int64_t i = 0; i < m; i++)
                            for (int64_t j = 0; j < n; j++) {
                                double want = beta ? c[i * n + j] : 0, mag = 0;
                                for (int64_t q = 0; q < k; q++) {
                                    double av = ta ? a[q * m + i] : a[i * k + q];
                                    double bv = tb ? b[j * k + q] : b[q * n + j];
                                    want += av * bv;
                                    mag += fabs(av * bv);
                                }
                                ck_assert_msg(fabs(c2[i * n + j] - want) <= 1e-5 * (mag + 1),
                                              "%lldx%lldx%lld ta%d tb%d: (%lld,%lld) %g vs %g",
                                              (long long)m, (long long)n, (long long)k, ta, tb,
                                              (long long)i, (long long)j, c2[i * n + j], want);
                            }
                    }
        free(a);
        free(b);
        free(c);
        free(c2);
    }
    free(packs);
}
END_TEST

/* ---------------------------------------------------------------- schedules, optimizers */

START_TEST(schedules)
{
    unet__sched s;
    memset(&s, 0, sizeof s);
    s.kind = UNET__SCHED_COSINE;
    s.base_lr = 0.1;
    s.min_lr = 0.001;
    s.warmup = 4;
    s.total = 20;
    unet__sched_reset(&s);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 0), 0.025, 1e-15);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 3), 0.1, 1e-15);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 4), 0.1, 1e-15);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 12), 0.001 + 0.099 * 0.5, 1e-15);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 20), 0.001, 1e-15);
    ck_assert_double_eq_tol(unet__sched_lr(&s, 99), 0.001, 1e-15);
    /* Plateau against torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=2,
     * threshold=0.1, cooldown=1, min_lr=0.02), lr 0.1, fed the losses below; the learning
     * rates after each step, printed by PyTorch 1.13:
     *   [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02] */
    const double losses[13] = {1.0, 0.95, 0.93, 0.92, 0.91, 0.5, 0.49, 0.48, 0.47, 0.46,
                               0.46, 0.46, 0.46};
    const double want[13] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025,
                             0.025, 0.025, 0.02};
    memset(&s, 0, sizeof s);
    s.kind = UNET__SCHED_PLATEAU;
    s.base_lr = 0.1;
    s.min_lr = 0.02;
    s.factor = 0.5;
    s.patience = 2;
    s.threshold = 0.1;
    s.cooldown = 1;
    unet__sched_reset(&s);
    for (int i = 0; i < 13; i++) {
        unet__sched_observe(&s, losses[i]);
        ck_assert_msg(fabs(unet__sched_lr(&s, 100) - want[i]) < 1e-12, "step %d: lr %g vs %g",
                      i, unet__sched_lr(&s, 100), want[i]);
    }
}
END_TEST

START_TEST(gradient_clipping)
{
    float g0[3] = {3, 0, 0}, g1[2] = {0, 4};
    float *g[2] = {g0, g1};
    int64_t numel[2] = {3, 2};
    double norm = unet__clip_grad_norm(g, numel, 2, 1.0);
    ck_assert_double_eq_tol(norm, 5.0, 1e-12);
    ck_assert_double_eq_tol(g0[0], 3 / (5 + 1e-6), 1e-6);
    ck_assert_double_eq_tol(g1[1], 4 / (5 + 1e-6), 1e-6);
    norm = unet__clip_grad_norm(g, numel, 2, 10.0); /* below the limit: unchanged */
    ck_assert_double_eq_tol(g0[0], 3 / (5 + 1e-6), 1e-6);
}
END_TEST

/* ---------------------------------------------------------------- options */

START_TEST(options_validate)
{
    unet_train_opts_t *o;
    ck_assert_int_eq(unet_train_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_train_opts_set(o, "batch", "8"), UNET_OK);
    ck_assert_int_eq(unet_train_opts_set(o, "batch", "0"), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "[1, 1024]"));
    ck_assert_int_eq(unet_train_opts_set(o, "batch", "2.5"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_train_opts_set(o, "lr", "abc"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_train_opts_set(o, "loss", "huber"), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "bce+dice"));
    ck_assert_int_eq(unet_train_opts_set(o, "no_such_key", "1"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_train_opts_set(o, "nesterov", "maybe"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_train_opts_set(o, "nesterov", "true"), UNET_OK);
    ck_assert_int_eq(unet_train_opts_set(o, "lr", "nan"), UNET_E_INVALID_ARG);
    /* JSON: all or nothing */
    ck_assert_int_eq(unet_train_opts_set_json(o, "{\"lr\": 0.01, \"batch\": -1}"),
                     UNET_E_INVALID_ARG);
    const char *js = train_opts_json(o);
    ck_assert_ptr_nonnull(strstr(js, "\"batch\":8"));
    ck_assert_ptr_nonnull(strstr(js, "\"lr\":0.001"));
    ck_assert_int_eq(unet_train_opts_set_json(o, "{\"lr\": 0.01, \"loss\": \"ce\", "
                                                 "\"aug_flip\": false}"),
                     UNET_OK);
    js = train_opts_json(o);
    ck_assert_ptr_nonnull(strstr(js, "\"lr\":0.01"));
    ck_assert_ptr_nonnull(strstr(js, "\"aug_flip\":false"));
    ck_assert_int_eq(unet_train_opts_set_json(o, "[1]"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_train_opts_set(NULL, "lr", "1"), UNET_E_INVALID_ARG);
    unet_train_opts_free(o);
    unet_train_opts_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- patches */

START_TEST(patches)
{
    /* A sample whose pixel values encode their coordinates: without elastic deformation, a
     * patch is a flipped/rotated window, so every value appears and labels follow images. */
    unet__tsample s;
    memset(&s, 0, sizeof s);
    s.c = 1;
    s.h = 40;
    s.w = 50;
    s.tc = 1;
    s.image = malloc(40 * 50 * sizeof(float));
    s.target = malloc(40 * 50 * sizeof(float));
    for (int i = 0; i < 2000; i++) {
        s.image[i] = (float)i;
        s.target[i] = (float)(i % 3);
    }
    unet__patch_spec ps = {.P = 16, .Q = 12, .in_c = 1, .out_c = 3, .class_targets = true,
                           .flip = true, .rot90 = true, .elastic_grid = 3};
    float in[256], tg[144], wt[144], in2[256];
    unet__rng r;
    for (int trial = 0; trial < 20; trial++) {
        unet__rng_seed(&r, (uint64_t)trial);
        unet__sample_patch(&s, &ps, &r, in, tg, wt);
        for (int i = 0; i < 12; i++)
            for (int j = 0; j < 12; j++) {
                const int v = (int)in[(i + 2) * 16 + j + 2];
                ck_assert_float_eq(tg[i * 12 + j], (float)(v % 3));
                ck_assert_float_eq(wt[i * 12 + j], 1.0f);
            }
        /* neighbours in the patch are neighbours in the image */
        const int a = (int)in[0], b = (int)in[1];
        ck_assert(abs(a - b) == 1 || abs(a - b) == 50);
        /* same generator state, same patch */
        unet__rng_seed(&r, (uint64_t)trial);
        unet__sample_patch(&s, &ps, &r, in2, tg, wt);
        ck_assert_int_eq(memcmp(in, in2, sizeof in), 0);
    }
    /* Elastic deformation and intensity changes keep values finite and near the range. */
    ps.elastic = 1;
    ps.elastic_sigma = 10;
    ps.scale = 0.2;
    ps.shift = 0.1;
    ps.gamma = 0.5;
    ps.noise_gauss = 0.1;
    ps.noise_poisson = 50;
    for (int i = 0; i < 2000; i++)
        s.image[i] = (float)(i % 50) / 50.0f;
    unet__rng_seed(&r, 99);
    unet__sample_patch(&s, &ps, &r, in, tg, wt);
    for (int i = 0; i < 256; i++)
        ck_assert(isfinite(in[i]) && in[i] > -2 && in[i] < 3);
    free(s.image);
    free(s.target);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_units");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, loss_gradients);
    tcase_add_test(tc, loss_values);
    tcase_add_test(tc, loss_checks);
    tcase_add_test(tc, distance_transform_is_exact);
    tcase_add_test(tc, border_weights_match_definition);
    tcase_add_test(tc, distance_target);
    tcase_add_test(tc, targets_and_components);
    tcase_add_test(tc, metrics);
    tcase_add_test(tc, gemm_matches_naive);
    tcase_add_test(tc, schedules);
    tcase_add_test(tc, gradient_clipping);
    tcase_add_test(tc, options_validate);
    tcase_add_test(tc, patches);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
