/*
 * The training path's float convolutions (kernels/train_conv.c: im2col + GEMM, and
 * kernels/train_winograd.c: Winograd F(4x4, 3x3) in all three passes) against the double
 * reference loops (kernels/ref_backward.h), for every kernel set the CPU has, plus the
 * promise that results do not depend on the thread count.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "core/rng.h"
#include "kernels/ref_backward.h"
#include "kernels/train_gemm.h"
#include "kernels/train_winograd.h"

typedef struct shape {
    int64_t n, cin, cout, h, w;
    int k, pad;
} shape;

static double *rand_doubles(unet__rng *r, int64_t n)
{
    double *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (double)(float)unet__rng_normal(r); /* float-representable */
    return v;
}

static float *to_float(const double *v, int64_t n)
{
    float *f = malloc((size_t)n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)v[i];
    return f;
}

/* max |got - want| / max |want| */
static double rel_err(const float *got, const double *want, int64_t n)
{
    double err = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(got[i]), "non-finite value at %lld", (long long)i);
        err = fmax(err, fabs(got[i] - want[i]));
        mag = fmax(mag, fabs(want[i]));
    }
    return err / (mag > 0 ? mag : 1);
}

/* Forward, input gradient (added to a non-zero dx) and parameter gradients of one shape. */
static void check_shape(shape s, bool winograd, int threads, double tol)
{
    unet__rng r;
    unet__rng_seed(&r, (uint64_t)(s.n * 131 + s.cin * 17 + s.h * 3 + s.pad));
    const int64_t oh = s.h + 2 * s.pad - s.k + 1, ow = s.w + 2 * s.pad - s.k + 1;
    const int64_t nx = s.n * s.cin * s.h * s.w, ny = s.n * s.cout * oh * ow;
    const int64_t nw = s.cout * s.cin * s.k * s.k;
    double *x = rand_doubles(&r, nx), *wt = rand_doubles(&r, nw), *b = rand_doubles(&r, s.cout);
    double *dy = rand_doubles(&r, ny), *dx = rand_doubles(&r, nx);
    double *y = calloc((size_t)ny, sizeof *y), *dw = calloc((size_t)nw, sizeof *dw);
    double *db = calloc((size_t)s.cout, sizeof *db);
    float *xf = to_float(x, nx), *wf = to_float(wt, nw), *bf = to_float(b, s.cout);
    float *dyf = to_float(dy, ny), *dxf = to_float(dx, nx);
    float *yf = malloc((size_t)ny * sizeof *yf), *dwf = malloc((size_t)nw * sizeof *dwf);
    float *dbf = malloc((size_t)s.cout * sizeof *dbf);
    ck_assert(y && dw && db && yf && dwf && dbf);

    unet__rt_conv_fwd_f64(x, s.n, s.cin, s.h, s.w, wt, b, s.cout, s.k, s.pad, y, 1);
    unet__rt_conv_bwd_data_f64(dy, s.n, s.cin, s.h, s.w, wt, s.cout, s.k, s.pad, dx, 1);
    unet__rt_conv_bwd_param_f64(x, dy, s.n, s.cin, s.h, s.w, s.cout, s.k, s.pad, dw, db, 1);

    unet__scratch sc = {0};
    ck_assert_int_eq(unet__tc_conv_fwd(xf, s.n, s.cin, s.h, s.w, wf, bf, s.cout, s.k, s.pad, yf,
                                       winograd, &sc, threads),
                     UNET_OK);
    ck_assert_int_eq(unet__tc_conv_bwd(xf, dyf, s.n, s.cin, s.h, s.w, wf, s.cout, s.k, s.pad,
                                       dxf, dwf, dbf, winograd, &sc, threads),
                     UNET_OK);
    unet__scratch_free(&sc);
    const double ey = rel_err(yf, y, ny), edx = rel_err(dxf, dx, nx);
    const double edw = rel_err(dwf, dw, nw), edb = rel_err(dbf, db, s.cout);
    ck_assert_msg(ey <= tol && edx <= tol && edw <= tol && edb <= tol,
                  "n%lld %lld->%lld %lldx%lld k%d pad%d threads %d: relative errors y %.3g "
                  "dx %.3g dw %.3g db %.3g (limit %.3g)",
                  (long long)s.n, (long long)s.cin, (long long)s.cout, (long long)s.h,
                  (long long)s.w, s.k, s.pad, threads, ey, edx, edw, edb, tol);

    free(x), free(wt), free(b), free(dy), free(dx), free(y), free(dw), free(db);
    free(xf), free(wf), free(bf), free(dyf), free(dxf), free(yf), free(dwf), free(dbf);
}

/* Shapes Winograd takes: odd sizes (partial tiles), valid and same padding, the smallest
 * image, and a batch large enough to be cut into chunks with a boundary inside an image. */
static const shape winograd_shapes[] = {
    {2, 16, 32, 13, 10, 3, 1}, {1, 32, 16, 9, 17, 3, 0},  {3, 16, 16, 4, 4, 3, 1},
    {1, 16, 16, 3, 3, 3, 0},   {2, 16, 16, 1, 2, 3, 1},   {1, 48, 32, 8, 8, 3, 2},
    {2, 16, 16, 180, 180, 3, 1},
};

START_TEST(winograd_matches_reference)
{
    const shape s = winograd_shapes[_i];
    ck_assert(unet__tw_applies(s.cin, s.cout, s.k, s.pad, s.h, s.w));
    /* F(4x4, 3x3) in float: transform rounding on top of the sums'. Measured: <= 5e-6, except
     * 3.2e-5 for the weight gradient of the 180 x 180 pair (sums over 64800 pixels). */
    check_shape(s, true, 2, 1e-4);
}
END_TEST

/* The same shapes with Winograd turned off (the trainer's `precise` option). */
START_TEST(direct_path_on_winograd_shapes)
{
    check_shape(winograd_shapes[_i], false, 2, 1e-5);
}
END_TEST

/* What Winograd does not take goes through im2col + GEMM, held to the same standard. */
static const shape gemm_shapes[] = {
    {2, 1, 16, 12, 9, 3, 1}, {1, 16, 8, 7, 7, 3, 1}, {2, 24, 16, 6, 5, 3, 0},
    {1, 16, 16, 9, 9, 1, 0}, {3, 4, 5, 8, 8, 5, 2},
};

START_TEST(gemm_path_matches_reference)
{
    const shape s = gemm_shapes[_i];
    check_shape(s, true, 2, 1e-5);
}
END_TEST

/* Bit-identical results with 1 and 3 threads (Winograd splits the 36 products among threads;
 * the chunk order and every sum's order stay fixed). */
START_TEST(winograd_independent_of_threads)
{
    const shape s = {3, 16, 32, 37, 29, 3, 1};
    unet__rng r;
    unet__rng_seed(&r, 99);
    const int64_t nx = s.n * s.cin * s.h * s.w, ny = s.n * s.cout * s.h * s.w;
    const int64_t nw = s.cout * s.cin * 9;
    double *xd = rand_doubles(&r, nx), *wd = rand_doubles(&r, nw), *dyd = rand_doubles(&r, ny);
    float *x = to_float(xd, nx), *wt = to_float(wd, nw), *dy = to_float(dyd, ny);
    float *out[2], *dx[2], *dw[2];
    for (int run = 0; run < 2; run++) {
        const int threads = run ? 3 : 1;
        out[run] = malloc((size_t)ny * sizeof(float));
        dx[run] = calloc((size_t)nx, sizeof(float));
        dw[run] = malloc((size_t)nw * sizeof(float));
        unet__scratch sc = {0};
        ck_assert_int_eq(unet__tw_conv_fwd(x, s.n, s.cin, s.h, s.w, wt, NULL, s.cout, s.pad,
                                           out[run], &sc, threads),
                         UNET_OK);
        ck_assert_int_eq(unet__tw_conv_bwd(x, dy, s.n, s.cin, s.h, s.w, wt, s.cout, s.pad,
                                           dx[run], dw[run], &sc, threads),
                         UNET_OK);
        unet__scratch_free(&sc);
    }
    ck_assert(memcmp(out[0], out[1], (size_t)ny * sizeof(float)) == 0);
    ck_assert(memcmp(dx[0], dx[1], (size_t)nx * sizeof(float)) == 0);
    ck_assert(memcmp(dw[0], dw[1], (size_t)nw * sizeof(float)) == 0);
    for (int run = 0; run < 2; run++)
        free(out[run]), free(dx[run]), free(dw[run]);
    free(xd), free(wd), free(dyd), free(x), free(wt), free(dy);
}
END_TEST

START_TEST(winograd_declines_other_shapes)
{
    ck_assert(!unet__tw_applies(8, 16, 3, 1, 32, 32));  /* channels not in blocks of 16 */
    ck_assert(!unet__tw_applies(16, 24, 3, 1, 32, 32));
    ck_assert(!unet__tw_applies(16, 16, 1, 0, 32, 32)); /* not 3x3 */
    ck_assert(!unet__tw_applies(16, 16, 3, 0, 2, 32));  /* no output row */
    ck_assert(!unet__tw_applies(16, 16, 3, 3, 8, 8));   /* more padding than the kernel */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_conv");
    TCase *tc = tcase_create("train_conv");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, winograd_matches_reference, 0,
                        (int)(sizeof winograd_shapes / sizeof winograd_shapes[0]));
    tcase_add_loop_test(tc, direct_path_on_winograd_shapes, 0,
                        (int)(sizeof winograd_shapes / sizeof winograd_shapes[0]));
    tcase_add_loop_test(tc, gemm_path_matches_reference, 0,
                        (int)(sizeof gemm_shapes / sizeof gemm_shapes[0]));
    tcase_add_test(tc, winograd_independent_of_threads);
    tcase_add_test(tc, winograd_declines_other_shapes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
