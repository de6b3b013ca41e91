/*
 * Unit tests of the reference operators (lib/kernels/ref_ops.c).
 *
 * Hand-computed cases are written out literally, with the arithmetic in comments; a
 * randomized comparison against naive loops covers convolution shapes broadly. Run with
 * CK_FORK=no (libgomp is not fork safe): main() only builds the suite.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ref_ops.h"

#include "run_suite.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL (-12345.0f)

/* ---------------------------------------------------------------- helpers */

/* Fails at the first element with |got - expected| > tol (an expected NaN needs a NaN). */
static void expect_near_at(int line, const float *got, const float *expected, size_t count,
                           double tol)
{
    size_t bad = count;
    for (size_t i = 0; i < count && bad == count; i++) {
        if (isnan(expected[i])) {
            if (!isnan(got[i]))
                bad = i;
        } else if (!(fabs((double)got[i] - (double)expected[i]) <= tol)) {
            bad = i;
        }
    }
    ck_assert_msg(bad == count, "line %d: element %zu is %.9g, expected %.9g (tol %g)", line,
                  bad, bad < count ? (double)got[bad] : 0.0,
                  bad < count ? (double)expected[bad] : 0.0, tol);
}
#define EXPECT_NEAR(got, expected, count, tol) \
    expect_near_at(__LINE__, (got), (expected), (count), (tol))

/* Every element of buf[0..count) must still be SENTINEL (nothing written out of range). */
static void expect_untouched_at(int line, const float *buf, size_t count)
{
    size_t bad = count;
    for (size_t i = 0; i < count && bad == count; i++)
        if (buf[i] != SENTINEL)
            bad = i;
    ck_assert_msg(bad == count, "line %d: element %zu was overwritten", line, bad);
}
#define EXPECT_UNTOUCHED(buf, count) expect_untouched_at(__LINE__, (buf), (count))

static void fill(float *buf, size_t count, float v)
{
    for (size_t i = 0; i < count; i++)
        buf[i] = v;
}

/* xorshift64*: deterministic, platform-independent test data. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}
/* Uniform in [-1, 1). */
static float rng_float(uint64_t *s)
{
    return (float)((double)(rng_next(s) >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}
static int rng_int(uint64_t *s, int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}
static float *rand_buf(uint64_t *s, size_t count)
{
    float *b = malloc(count * sizeof(float));
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < count; i++)
        b[i] = rng_float(s);
    return b;
}

/* ---------------------------------------------------------------- conv2d */

/* Input used by several 3x3 tests:
 *   1 2 3
 *   4 5 6
 *   7 8 9 */
static const float in3x3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

START_TEST(test_conv_ones_same)
{
    /* All-ones 3x3 kernel, pad 1, bias 1: each output is 1 + the sum of the in-bounds
     * neighbourhood, e.g. (0,0) = 1+2+4+5 = 12, (1,1) = 45, (2,1) = 4+5+6+7+8+9 = 39. */
    float wt[9], bias[1] = {1.0f}, out[9 + 4];
    fill(wt, 9, 1.0f);
    fill(out, N_OF(out), SENTINEL);
    unet__ref_conv2d(in3x3, 1, 1, 3, 3, wt, bias, 1, 3, 1, out, 1);
    const float expected[9] = {13, 22, 17, 28, 46, 34, 25, 40, 29};
    EXPECT_NEAR(out, expected, 9, 0.0);
    EXPECT_UNTOUCHED(out + 9, 4);
}
END_TEST

START_TEST(test_conv_asymmetric_kernel)
{
    /* Kernel with taps (ky,kx) = (0,0) weight 1 and (2,2) weight 2, pad 1:
     * out[y][x] = in[y-1][x-1] + 2 in[y+1][x+1] (cross-correlation, no kernel flip),
     *   (0,0) = 0 + 2*5 = 10   (0,1) = 0 + 2*6 = 12   (0,2) = 0 + 0 = 0
     *   (1,0) = 0 + 2*8 = 16   (1,1) = 1 + 2*9 = 19   (1,2) = 2 + 0 = 2
     *   (2,0) = 0 + 0   = 0    (2,1) = 4 + 0   = 4    (2,2) = 5 + 0 = 5
     * First with bias NULL, then with bias 0.5. */
    const float wt[9] = {1, 0, 0, 0, 0, 0, 0, 0, 2};
    float out[9];
    unet__ref_conv2d(in3x3, 1, 1, 3, 3, wt, NULL, 1, 3, 1, out, 1);
    const float expected[9] = {10, 12, 0, 16, 19, 2, 0, 4, 5};
    EXPECT_NEAR(out, expected, 9, 0.0);

    const float bias[1] = {0.5f};
    unet__ref_conv2d(in3x3, 1, 1, 3, 3, wt, bias, 1, 3, 1, out, 1);
    const float expected_b[9] = {10.5f, 12.5f, 0.5f, 16.5f, 19.5f, 2.5f, 0.5f, 4.5f, 5.5f};
    EXPECT_NEAR(out, expected_b, 9, 0.0);

    /* Single tap (1,2): out[y][x] = in[y][x+1], a shift to the left. */
    const float shift[9] = {0, 0, 0, 0, 0, 1, 0, 0, 0};
    unet__ref_conv2d(in3x3, 1, 1, 3, 3, shift, NULL, 1, 3, 1, out, 1);
    const float expected_s[9] = {2, 3, 0, 5, 6, 0, 8, 9, 0};
    EXPECT_NEAR(out, expected_s, 9, 0.0);
}
END_TEST

START_TEST(test_conv_multichannel_batch)
{
    /* 1x1 convolution, n=2, cin=2, cout=2, 2x2 pixels. weight[co][ci]:
     *   co0 = 1*ch0 + 0.5*ch1,   co1 = -1*ch0 + 2*ch1 + 1 (bias [0, 1]).
     * sample 0: ch0 = [1 2 3 4], ch1 = [10 20 30 40]
     *   co0 = [6 12 18 24],  co1 = [-1+20+1, -2+40+1, -3+60+1, -4+80+1] = [20 39 58 77]
     * sample 1: ch0 = [0 1 0 1], ch1 = [2 2 2 2]
     *   co0 = [1 2 1 2],     co1 = [0+4+1, -1+4+1, ...] = [5 4 5 4] */
    const float in[16] = {1, 2, 3, 4, 10, 20, 30, 40, 0, 1, 0, 1, 2, 2, 2, 2};
    const float wt[4] = {1, 0.5f, -1, 2};
    const float bias[2] = {0, 1};
    float out[16 + 2];
    fill(out, N_OF(out), SENTINEL);
    unet__ref_conv2d(in, 2, 2, 2, 2, wt, bias, 2, 1, 0, out, 2);
    const float expected[16] = {6, 12, 18, 24, 20, 39, 58, 77, 1, 2, 1, 2, 5, 4, 5, 4};
    EXPECT_NEAR(out, expected, 16, 0.0);
    EXPECT_UNTOUCHED(out + 16, 2);
}
END_TEST

START_TEST(test_conv_3x3_two_in_channels)
{
    /* cin=2, cout=1, pad 1: kernel of ch0 is the centre tap 1, kernel of ch1 is the centre
     * tap 10, so out = ch0 + 10 ch1 pixel by pixel; checks the [cout][cin][k][k] stride. */
    float in[18], wt[18] = {0};
    for (int i = 0; i < 9; i++) {
        in[i] = in3x3[i];
        in[9 + i] = (float)(i % 2); /* 0 1 0 1 0 1 0 1 0 */
    }
    wt[4] = 1.0f;
    wt[9 + 4] = 10.0f;
    float out[9];
    unet__ref_conv2d(in, 1, 2, 3, 3, wt, NULL, 1, 3, 1, out, 1);
    const float expected[9] = {1, 12, 3, 14, 5, 16, 7, 18, 9};
    EXPECT_NEAR(out, expected, 9, 0.0);
}
END_TEST

START_TEST(test_conv_valid)
{
    /* 4x5 input in[y][x] = 5y + x, all-ones 3x3 kernel, pad 0 -> output 2x3. The input is
     * linear, so each window sum is 9 times its centre (5(y+1) + x+1):
     *   9*6 = 54, 9*7 = 63, 9*8 = 72 / 9*11 = 99, 9*12 = 108, 9*13 = 117. */
    float in[20], wt[9], out[6 + 6];
    for (int i = 0; i < 20; i++)
        in[i] = (float)i;
    fill(wt, 9, 1.0f);
    fill(out, N_OF(out), SENTINEL);
    unet__ref_conv2d(in, 1, 1, 4, 5, wt, NULL, 1, 3, 0, out, 1);
    const float expected[6] = {54, 63, 72, 99, 108, 117};
    EXPECT_NEAR(out, expected, 6, 0.0);
    EXPECT_UNTOUCHED(out + 6, 6);
}
END_TEST

START_TEST(test_conv_kernel5)
{
    /* All-ones 5x5 input and kernel, pad 2: out[y][x] counts the in-bounds taps,
     * cnt(y) * cnt(x) with cnt = [3 4 5 4 3]. */
    float in[25], wt[25], out[25];
    fill(in, 25, 1.0f);
    fill(wt, 25, 1.0f);
    unet__ref_conv2d(in, 1, 1, 5, 5, wt, NULL, 1, 5, 2, out, 1);
    const float expected[25] = {9,  12, 15, 12, 9,  12, 16, 20, 16, 12, 15, 20, 25,
                                20, 15, 12, 16, 20, 16, 12, 9,  12, 15, 12, 9};
    EXPECT_NEAR(out, expected, 25, 0.0);

    /* Valid 5x5 on a 5x5 input = 1x1 output. in = 1..25; all-ones kernel gives
     * 25*26/2 = 325; a single tap at (ky,kx) = (4,0) picks in[4][0] = 21. */
    for (int i = 0; i < 25; i++)
        in[i] = (float)(i + 1);
    float one[2] = {SENTINEL, SENTINEL};
    unet__ref_conv2d(in, 1, 1, 5, 5, wt, NULL, 1, 5, 0, one, 1);
    ck_assert_float_eq(one[0], 325.0f);
    ck_assert_float_eq(one[1], SENTINEL);
    float tap[25] = {0};
    tap[20] = 1.0f;
    unet__ref_conv2d(in, 1, 1, 5, 5, tap, NULL, 1, 5, 0, one, 1);
    ck_assert_float_eq(one[0], 21.0f);
}
END_TEST

/* Naive double-precision convolution: the definition, 7 nested loops, bounds tested per tap. */
static void naive_conv(const float *in, int n, int cin, int h, int w, const float *wt,
                       const float *bias, int cout, int k, int pad, double *out)
{
    const int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
    for (int b = 0; b < n; b++)
        for (int co = 0; co < cout; co++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                const int iy = oy + ky - pad, ix = ox + kx - pad;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                s += (double)in[((size_t)(b * cin + ci) * h + iy) * w + ix] *
                                     (double)wt[((size_t)(co * cin + ci) * k + ky) * k + kx];
                            }
                    out[((size_t)(b * cout + co) * oh + oy) * ow + ox] = s;
                }
}

/* Runs one random configuration through both and returns the max abs difference. */
static double conv_vs_naive(uint64_t *s, int n, int cin, int cout, int h, int w, int k,
                            int pad, int threads, int with_bias)
{
    const int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
    const size_t nin = (size_t)n * cin * h * w, nout = (size_t)n * cout * oh * ow;
    float *in = rand_buf(s, nin);
    float *wt = rand_buf(s, (size_t)cout * cin * k * k);
    float *bias = with_bias ? rand_buf(s, (size_t)cout) : NULL;
    float *out = malloc(nout * sizeof(float)); /* exact size: ASan catches overruns */
    double *ref = malloc(nout * sizeof(double));
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(ref);
    unet__ref_conv2d(in, n, cin, h, w, wt, bias, cout, k, pad, out, threads);
    naive_conv(in, n, cin, h, w, wt, bias, cout, k, pad, ref);
    double maxdiff = 0.0;
    for (size_t i = 0; i < nout; i++) {
        const double d = fabs((double)out[i] - ref[i]);
        if (isnan(d) || d > maxdiff)
            maxdiff = isnan(d) ? INFINITY : d; /* a NaN output must fail the check */
    }
    free(in);
    free(wt);
    free(bias);
    free(out);
    free(ref);
    return maxdiff;
}

START_TEST(test_conv_random_vs_naive)
{
    static const int sizes[] = {1, 2, 3, 5, 7, 11, 13, 17};
    static const int ks[] = {1, 3, 5};
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    int done = 0;
    for (int trial = 0; trial < 200 && done < 120; trial++) {
        const int k = ks[rng_int(&s, 0, 2)];
        const int pad = rng_int(&s, 0, 1) ? k / 2 : 0;
        const int h = sizes[rng_int(&s, 0, (int)N_OF(sizes) - 1)];
        const int w = sizes[rng_int(&s, 0, (int)N_OF(sizes) - 1)];
        if (h + 2 * pad - k + 1 < 1 || w + 2 * pad - k + 1 < 1)
            continue; /* invalid for valid padding; the header excludes it */
        const int n = rng_int(&s, 1, 2), cin = rng_int(&s, 1, 5), cout = rng_int(&s, 1, 5);
        const int threads = rng_int(&s, 1, 2), with_bias = rng_int(&s, 0, 1);
        const double d = conv_vs_naive(&s, n, cin, cout, h, w, k, pad, threads, with_bias);
        ck_assert_msg(d <= 1e-5,
                      "n=%d cin=%d cout=%d h=%d w=%d k=%d pad=%d: max abs diff %g", n, cin,
                      cout, h, w, k, pad, d);
        done++;
    }
    ck_assert_int_ge(done, 100);
}
END_TEST

START_TEST(test_conv_wide_rows_vs_naive)
{
    /* Rows longer than the implementation's scratch chunk (and chunk borders falling inside
     * the padded region), plus a pad larger than k/2. */
    static const int cfg[][8] = {
        /* n cin cout h w     k pad threads */
        {1, 2, 3, 3, 1031, 3, 1, 2},
        {1, 1, 2, 2, 2053, 5, 2, 1},
        {2, 1, 1, 5, 1029, 5, 0, 2}, /* ow = 1025: one column past a 1024 chunk */
        {1, 3, 1, 4, 1024, 3, 1, 1},
        {1, 2, 2, 4, 7, 3, 2, 2},    /* "full" padding: output 6x9 */
    };
    uint64_t s = 42;
    for (size_t i = 0; i < N_OF(cfg); i++) {
        const int *c = cfg[i];
        const double d = conv_vs_naive(&s, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], 1);
        ck_assert_msg(d <= 1e-5, "config %zu: max abs diff %g", i, d);
    }
}
END_TEST

/* ---------------------------------------------------------------- conv_transpose2d */

START_TEST(test_convT_2x2)
{
    /* in [[1,2],[3,4]], weight [[1,10],[100,1000]], bias 0.5, f=2:
     * out[y][x] = in[y/2][x/2] * w[y%2][x%2] + 0.5 */
    const float in[4] = {1, 2, 3, 4};
    const float wt[4] = {1, 10, 100, 1000};
    const float bias[1] = {0.5f};
    float out[16 + 3];
    fill(out, N_OF(out), SENTINEL);
    unet__ref_conv_transpose2d(in, 1, 1, 2, 2, wt, bias, 1, 2, out, 1);
    const float expected[16] = {1.5f,   10.5f,   2.5f,   20.5f,   100.5f, 1000.5f,
                                200.5f, 2000.5f, 3.5f,   30.5f,   4.5f,   40.5f,
                                300.5f, 3000.5f, 400.5f, 4000.5f};
    EXPECT_NEAR(out, expected, 16, 0.0);
    EXPECT_UNTOUCHED(out + 16, 3);
}
END_TEST

START_TEST(test_convT_multichannel_batch)
{
    /* n=2, cin=2, cout=3, 1x1 input, f=2, no bias. Weight layout [cin][cout][2][2] with
     *   w[0][co][d] = 4 co + d,   w[1][co][d] = 100 (co+1) + d   (d = 2 dy + dx).
     * sample 0, in = [1, 2]:     out[co][d] = (4co + d) + 2(100(co+1) + d) = 204co + 200 + 3d
     * sample 1, in = [-1, 0.5]:  out[co][d] = -(4co + d) + 0.5(100(co+1) + d)
     *                                       = 46co + 50 - 0.5d */
    const float in[4] = {1, 2, -1, 0.5f};
    float wt[24];
    for (int co = 0; co < 3; co++)
        for (int d = 0; d < 4; d++) {
            wt[co * 4 + d] = (float)(4 * co + d);
            wt[12 + co * 4 + d] = (float)(100 * (co + 1) + d);
        }
    float out[24];
    unet__ref_conv_transpose2d(in, 2, 2, 1, 1, wt, NULL, 3, 2, out, 2);
    const float expected[24] = {200, 203, 206, 209, 404, 407, 410, 413,
                                608, 611, 614, 617, 50,  49.5f, 49, 48.5f,
                                96,  95.5f, 95, 94.5f, 142, 141.5f, 141, 140.5f};
    EXPECT_NEAR(out, expected, 24, 0.0);
}
END_TEST

START_TEST(test_convT_factor3)
{
    /* in 1x2 = [1, 2], 3x3 kernel 1..9, f=3 -> 3x6: each input pixel stamps in * kernel. */
    const float in[2] = {1, 2};
    const float wt[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float out[18];
    unet__ref_conv_transpose2d(in, 1, 1, 1, 2, wt, NULL, 1, 3, out, 1);
    const float expected[18] = {1, 2, 3, 2, 4, 6, 4, 5, 6, 8, 10, 12, 7, 8, 9, 14, 16, 18};
    EXPECT_NEAR(out, expected, 18, 0.0);
}
END_TEST

START_TEST(test_convT_random_vs_naive)
{
    /* Against the header's formula, including a row longer than the scratch chunk. */
    static const int cfg[][6] = {
        /* n cin cout h w f */
        {1, 3, 2, 3, 5, 2}, {2, 1, 4, 2, 3, 2}, {1, 5, 1, 1, 1, 2},
        {1, 2, 3, 3, 2, 3}, {1, 2, 2, 2, 1100, 2},
    };
    uint64_t s = 7;
    for (size_t t = 0; t < N_OF(cfg); t++) {
        const int n = cfg[t][0], cin = cfg[t][1], cout = cfg[t][2], h = cfg[t][3],
                  w = cfg[t][4], f = cfg[t][5];
        const int oh = h * f, ow = w * f;
        const size_t nout = (size_t)n * cout * oh * ow;
        float *in = rand_buf(&s, (size_t)n * cin * h * w);
        float *wt = rand_buf(&s, (size_t)cin * cout * f * f);
        float *bias = rand_buf(&s, (size_t)cout);
        float *out = malloc(nout * sizeof(float));
        ck_assert_ptr_nonnull(out);
        unet__ref_conv_transpose2d(in, n, cin, h, w, wt, bias, cout, f, out, 2);
        double maxdiff = 0.0;
        for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++) {
                        double r = bias[co];
                        for (int ci = 0; ci < cin; ci++)
                            r += (double)in[((size_t)(b * cin + ci) * h + y / f) * w + x / f] *
                                 (double)wt[((size_t)(ci * cout + co) * f + y % f) * f + x % f];
                        const double d =
                            fabs(out[((size_t)(b * cout + co) * oh + y) * ow + x] - r);
                        if (isnan(d) || d > maxdiff)
                            maxdiff = isnan(d) ? INFINITY : d;
                    }
        ck_assert_msg(maxdiff <= 1e-6, "config %zu: max abs diff %g", t, maxdiff);
        free(in);
        free(wt);
        free(bias);
        free(out);
    }
}
END_TEST

/* ---------------------------------------------------------------- pooling */

/* 4x4 input, windows of 2x2:
 *    1  5 |  2  0
 *    3  4 |  8  7
 *   ------+------
 *   -1 -2 |  0  9
 *   -3 -4 |  6 -5 */
static const float pool4[16] = {1, 5, 2, 0, 3, 4, 8, 7, -1, -2, 0, 9, -3, -4, 6, -5};

START_TEST(test_maxpool_4x4)
{
    float out[4 + 2];
    fill(out, N_OF(out), SENTINEL);
    unet__ref_maxpool2d(pool4, 1, 1, 4, 4, 2, out, 1);
    const float expected[4] = {5, 8, -1, 9}; /* all-negative window stays negative */
    EXPECT_NEAR(out, expected, 4, 0.0);
    EXPECT_UNTOUCHED(out + 4, 2);
}
END_TEST

START_TEST(test_avgpool_4x4)
{
    /* (1+5+3+4)/4 = 3.25, (2+0+8+7)/4 = 4.25, (-1-2-3-4)/4 = -2.5, (0+9+6-5)/4 = 2.5 */
    float out[4 + 2];
    fill(out, N_OF(out), SENTINEL);
    unet__ref_avgpool2d(pool4, 1, 1, 4, 4, 2, out, 1);
    const float expected[4] = {3.25f, 4.25f, -2.5f, 2.5f};
    EXPECT_NEAR(out, expected, 4, 0.0);
    EXPECT_UNTOUCHED(out + 4, 2);
}
END_TEST

START_TEST(test_pool_odd_floor)
{
    /* 5x5 input in[y][x] = 5y + x, f=2, floor mode -> 2x2 (row 4 and column 4 dropped).
     * max = bottom-right of each window: 6, 8, 16, 18.
     * avg: (0+1+5+6)/4 = 3, (2+3+7+8)/4 = 5, (10+11+15+16)/4 = 13, (12+13+17+18)/4 = 15. */
    float in[25], out[4 + 5];
    for (int i = 0; i < 25; i++)
        in[i] = (float)i;
    fill(out, N_OF(out), SENTINEL);
    unet__ref_maxpool2d(in, 1, 1, 5, 5, 2, out, 1);
    const float expected_max[4] = {6, 8, 16, 18};
    EXPECT_NEAR(out, expected_max, 4, 0.0);
    EXPECT_UNTOUCHED(out + 4, 5);

    fill(out, N_OF(out), SENTINEL);
    unet__ref_avgpool2d(in, 1, 1, 5, 5, 2, out, 1);
    const float expected_avg[4] = {3, 5, 13, 15};
    EXPECT_NEAR(out, expected_avg, 4, 0.0);
    EXPECT_UNTOUCHED(out + 4, 5);
}
END_TEST

START_TEST(test_pool_factor3)
{
    /* 6x7 input in[y][x] = 7y + x, f=3 -> 2x2 (column 6 dropped).
     * max = bottom-right 7(3r+2) + 3c+2: 16, 19, 37, 40.
     * avg = centre (linear input) 7(3r+1) + 3c+1: 8, 11, 29, 32. */
    float in[42], out[4 + 3];
    for (int i = 0; i < 42; i++)
        in[i] = (float)i;
    fill(out, N_OF(out), SENTINEL);
    unet__ref_maxpool2d(in, 1, 1, 6, 7, 3, out, 1);
    const float expected_max[4] = {16, 19, 37, 40};
    EXPECT_NEAR(out, expected_max, 4, 0.0);
    EXPECT_UNTOUCHED(out + 4, 3);

    unet__ref_avgpool2d(in, 1, 1, 6, 7, 3, out, 1);
    const float expected_avg[4] = {8, 11, 29, 32};
    EXPECT_NEAR(out, expected_avg, 4, 1e-6);
}
END_TEST

START_TEST(test_pool_multiplane)
{
    /* n=2, c=2, 2x2 planes; plane p holds 10p + [0 3 1 2]: max 10p + 3, avg 10p + 1.5. */
    float in[16], out[4];
    static const float pat[4] = {0, 3, 1, 2};
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < 4; i++)
            in[p * 4 + i] = 10.0f * p + pat[i];
    unet__ref_maxpool2d(in, 2, 2, 2, 2, 2, out, 2);
    const float expected_max[4] = {3, 13, 23, 33};
    EXPECT_NEAR(out, expected_max, 4, 0.0);
    unet__ref_avgpool2d(in, 2, 2, 2, 2, 2, out, 2);
    const float expected_avg[4] = {1.5f, 11.5f, 21.5f, 31.5f};
    EXPECT_NEAR(out, expected_avg, 4, 0.0);
}
END_TEST

START_TEST(test_maxpool_nan)
{
    /* NaN anywhere in a window propagates (PyTorch), in first or later position. */
    const float in[8] = {NAN, 1, 2, 3, 1, 2, NAN, 3};
    float out[2];
    unet__ref_maxpool2d(in, 1, 2, 2, 2, 2, out, 1);
    ck_assert(isnan(out[0]));
    ck_assert(isnan(out[1]));
}
END_TEST

/* ---------------------------------------------------------------- upsampling */

static const float up2[4] = {1, 2, 3, 4}; /* [[1,2],[3,4]] */

START_TEST(test_nearest_x2)
{
    float out[16 + 2];
    fill(out, N_OF(out), SENTINEL);
    unet__ref_upsample_nearest2d(up2, 1, 1, 2, 2, 2, out, 1);
    const float expected[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    EXPECT_NEAR(out, expected, 16, 0.0);
    EXPECT_UNTOUCHED(out + 16, 2);
}
END_TEST

START_TEST(test_nearest_x3_multiplane)
{
    /* n=2, c=1, 1x2 planes [a, b] -> 3x6, every row a a a b b b. */
    const float in[4] = {1, 2, 5, 6};
    float out[36];
    unet__ref_upsample_nearest2d(in, 2, 1, 1, 2, 3, out, 2);
    float expected[36];
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 6; x++)
                expected[(b * 3 + y) * 6 + x] = in[b * 2 + x / 3];
    EXPECT_NEAR(out, expected, 36, 0.0);
    ck_assert_float_eq(out[35], 6.0f); /* last element: sample 1, value b */
}
END_TEST

START_TEST(test_bilinear_x2)
{
    /* PyTorch F.interpolate([[1,2],[3,4]], scale_factor=2, mode='bilinear',
     * align_corners=False). Source coordinates (d + 0.5)/2 - 0.5 = -0.25 (clamped to 0),
     * 0.25, 0.75, 1.25 (i1 clamped to 1), so a row [a, b] becomes
     * [a, 0.75a + 0.25b, 0.25a + 0.75b, b]. */
    float out[16];
    unet__ref_upsample_bilinear2d(up2, 1, 1, 2, 2, 2, out, 1);
    const float expected[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                                2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    EXPECT_NEAR(out, expected, 16, 1e-6);
}
END_TEST

START_TEST(test_bilinear_nonsquare)
{
    /* 2x3 input in[y][x] = 3y + x, f=2 -> 4x6. The input is linear, so out = 3 Y + X with
     * the effective (clamped) source coordinates
     *   X = [0, .25, .75, 1.25, 1.75, 2],  Y = [0, .25, .75, 1]. */
    const float in[6] = {0, 1, 2, 3, 4, 5};
    float out[24];
    unet__ref_upsample_bilinear2d(in, 1, 1, 2, 3, 2, out, 1);
    const float expected[24] = {0,     0.25f, 0.75f, 1.25f, 1.75f, 2,    /* Y = 0 */
                                0.75f, 1,     1.5f,  2,     2.5f,  2.75f, /* Y = .25 */
                                2.25f, 2.5f,  3,     3.5f,  4,     4.25f, /* Y = .75 */
                                3,     3.25f, 3.75f, 4.25f, 4.75f, 5};   /* Y = 1 */
    EXPECT_NEAR(out, expected, 24, 1e-6);
}
END_TEST

START_TEST(test_bilinear_x3_multiplane)
{
    /* 1x2 planes, f=3: source x = (d + 0.5)/3 - 0.5 = -1/3 (->0), 0, 1/3, 2/3, 1, 4/3, so
     * [a, b] -> [a, a, (2a+b)/3, (a+2b)/3, b, b]; plane [0, 3] gives 0 0 1 2 3 3 and
     * plane [30, 0] (second sample) gives 30 30 20 10 0 0, on each of the 3 rows. */
    const float in[4] = {0, 3, 30, 0};
    float out[36];
    unet__ref_upsample_bilinear2d(in, 2, 1, 1, 2, 3, out, 2);
    const float row0[6] = {0, 0, 1, 2, 3, 3}, row1[6] = {30, 30, 20, 10, 0, 0};
    for (int y = 0; y < 3; y++) {
        EXPECT_NEAR(out + y * 6, row0, 6, 1e-5);
        EXPECT_NEAR(out + 18 + y * 6, row1, 6, 1e-5);
    }
}
END_TEST

/* ---------------------------------------------------------------- activations */

static const float act_in[6] = {-2.0f, -0.5f, 0.0f, 1.5f, 3.0f, -100.0f};

START_TEST(test_act_none_relu_leaky)
{
    float x[6];
    memcpy(x, act_in, sizeof x);
    unet__ref_activation(x, 6, UNET__ACT_NONE);
    EXPECT_NEAR(x, act_in, 6, 0.0);

    unet__ref_activation(x, 6, UNET__ACT_RELU);
    const float relu[6] = {0, 0, 0, 1.5f, 3, 0};
    EXPECT_NEAR(x, relu, 6, 0.0);

    memcpy(x, act_in, sizeof x);
    unet__ref_activation(x, 6, UNET__ACT_LEAKY_RELU); /* slope 0.01 */
    const float leaky[6] = {-0.02f, -0.005f, 0, 1.5f, 3, -1.0f};
    EXPECT_NEAR(x, leaky, 6, 1e-7);

    /* count limits the range */
    memcpy(x, act_in, sizeof x);
    unet__ref_activation(x, 1, UNET__ACT_RELU);
    ck_assert_float_eq(x[0], 0.0f);
    ck_assert_float_eq(x[1], -0.5f);

    float nan1[1] = {NAN};
    unet__ref_activation(nan1, 1, UNET__ACT_RELU);
    ck_assert(isnan(nan1[0])); /* PyTorch keeps NaN */
}
END_TEST

START_TEST(test_act_elu)
{
    /* x > 0 ? x : expm1(x); expm1(-2) = -0.8646647167633873, expm1(-0.5) =
     * -0.3934693402873666, expm1(-100) = -1 in float. */
    float x[6];
    memcpy(x, act_in, sizeof x);
    unet__ref_activation(x, 6, UNET__ACT_ELU);
    const float expected[6] = {-0.8646647167633873f, -0.3934693402873666f, 0, 1.5f, 3, -1.0f};
    EXPECT_NEAR(x, expected, 6, 1e-7);
    /* Relative accuracy near 0 (float expf(x) - 1 would give 0 here). */
    float tiny[1] = {-1e-10f};
    unet__ref_activation(tiny, 1, UNET__ACT_ELU);
    ck_assert_float_eq_tol(tiny[0], -1e-10f, 1e-16f);
}
END_TEST

START_TEST(test_act_sigmoid)
{
    /* 1/(1+exp(-x)): 0.11920292202211755, 0.3775406687981454, 0.5, 0.8175744761936437,
     * 0.9525741268224334, 3.7200759760208356e-44 (a float subnormal). */
    float x[6];
    memcpy(x, act_in, sizeof x);
    unet__ref_activation(x, 6, UNET__ACT_SIGMOID);
    const float expected[6] = {0.11920292202211755f, 0.3775406687981454f, 0.5f,
                               0.8175744761936437f, 0.9525741268224334f, 0.0f};
    EXPECT_NEAR(x, expected, 6, 1e-7);
    ck_assert(x[5] > 0.0f && x[5] < 1e-43f);

    /* Large |x|: no NaN or overflow, saturates to exactly 0 and 1. */
    float big[4] = {-1000.0f, 1000.0f, -FLT_MAX, FLT_MAX};
    unet__ref_activation(big, 4, UNET__ACT_SIGMOID);
    ck_assert_float_eq(big[0], 0.0f);
    ck_assert_float_eq(big[1], 1.0f);
    ck_assert_float_eq(big[2], 0.0f);
    ck_assert_float_eq(big[3], 1.0f);
}
END_TEST

/* ---------------------------------------------------------------- softmax */

START_TEST(test_softmax_channels)
{
    /* n=2, c=3, hw=2; x[b][ch][p].
     * sample 0: pixel 0 = [1 2 3] -> [0.0900305732, 0.2447284711, 0.6652409558],
     *           pixel 1 = [0 0 0] -> 1/3 each.
     * sample 1: pixel 0 = [1000 1001 1002] -> same as [1 2 3] (max subtracted),
     *           pixel 1 = [-1000 0 -1000] -> [0 1 0]. */
    float x[12] = {1, 0, 2, 0, 3, 0, 1000, -1000, 1001, 0, 1002, -1000};
    unet__ref_softmax_channels(x, 2, 3, 2, 1);
    const float t = 1.0f / 3.0f;
    const float expected[12] = {0.09003057317038046f, t, 0.24472847105479767f, t,
                                0.6652409557748219f,  t, 0.09003057317038046f, 0,
                                0.24472847105479767f, 1, 0.6652409557748219f,  0};
    EXPECT_NEAR(x, expected, 12, 1e-7);
}
END_TEST

/* ---------------------------------------------------------------- batchnorm */

START_TEST(test_batchnorm)
{
    /* c=2, hw=2, n=2. mean [2 1], var [4 0.25], weight [1 2], bias [0 -1], eps 0:
     *   ch0: (x - 2)/2          ch1: (x - 1)/0.5 * 2 - 1 = 4x - 5
     * sample 0: ch0 [1 3] -> [-0.5 0.5],  ch1 [0 4] -> [-5 11]
     * sample 1: ch0 [2 6] -> [0 2],       ch1 [1 -1] -> [-1 -9] */
    float x[8] = {1, 3, 0, 4, 2, 6, 1, -1};
    const float weight[2] = {1, 2}, bias[2] = {0, -1}, mean[2] = {2, 1}, var[2] = {4, 0.25f};
    unet__ref_batchnorm(x, 2, 2, 2, weight, bias, mean, var, 0.0, 2);
    const float expected[8] = {-0.5f, 0.5f, -5, 11, 0, 2, -1, -9};
    EXPECT_NEAR(x, expected, 8, 1e-6);

    /* eps enters under the root: var 3 + eps 1 -> sd 2; (7 - 1)/2 = 3. */
    float y[1] = {7};
    const float one[1] = {1}, zero[1] = {0}, mu[1] = {1}, v3[1] = {3};
    unet__ref_batchnorm(y, 1, 1, 1, one, zero, mu, v3, 1.0, 1);
    ck_assert_float_eq_tol(y[0], 3.0f, 1e-6f);
}
END_TEST

/* ---------------------------------------------------------------- groupnorm */

START_TEST(test_groupnorm_two_groups)
{
    /* c=4, groups=2, hw=2, eps=1.
     * group 0: ch0 [5 5], ch1 [5 1]  -> mean 4, biased var (1+1+1+9)/4 = 3, sd sqrt(3+1) = 2
     *          normalised [0.5 0.5], [0.5 -1.5]
     * group 1: ch2 [7 11], ch3 [11 11] -> mean 10, var (9+1+1+1)/4 = 3, sd 2
     *          normalised [-1.5 0.5], [0.5 0.5]
     * weight [1 2 3 4], bias [0 0 1 -1]:
     *   ch0 [0.5 0.5], ch1 [1 -3], ch2 [-3.5 2.5], ch3 [1 1]
     * (Per-channel statistics would give ch0 = bias exactly; pooled ones would differ.)
     * Sample 1 = sample 0 + 100: statistics are per sample, so the output is identical. */
    float x[16] = {5, 5, 5, 1, 7, 11, 11, 11};
    for (int i = 0; i < 8; i++)
        x[8 + i] = x[i] + 100.0f;
    const float weight[4] = {1, 2, 3, 4}, bias[4] = {0, 0, 1, -1};
    unet__ref_groupnorm(x, 2, 4, 2, 2, weight, bias, 1.0, 2);
    const float expected[16] = {0.5f, 0.5f, 1, -3, -3.5f, 2.5f, 1, 1,
                                0.5f, 0.5f, 1, -3, -3.5f, 2.5f, 1, 1};
    EXPECT_NEAR(x, expected, 16, 1e-5);
}
END_TEST

START_TEST(test_groupnorm_one_and_c_groups)
{
    /* groups=1 over c=2, hw=2: [0 2 4 6], mean 3, var (9+1+1+9)/4 = 5, eps 4 -> sd 3:
     * [-1 -1/3 1/3 1]. */
    float a[4] = {0, 2, 4, 6};
    const float w1[2] = {1, 1}, b0[2] = {0, 0};
    unet__ref_groupnorm(a, 1, 2, 2, 1, w1, b0, 4.0, 1);
    const float ea[4] = {-1, -1.0f / 3, 1.0f / 3, 1};
    EXPECT_NEAR(a, ea, 4, 1e-6);

    /* groups=c (instance norm), eps 0: ch0 [1 3] mean 2 var 1; ch1 [10 30] mean 20 var 100;
     * both -> [-1 1]. */
    float b[4] = {1, 3, 10, 30};
    unet__ref_groupnorm(b, 1, 2, 2, 2, w1, b0, 0.0, 1);
    const float eb[4] = {-1, 1, -1, 1};
    EXPECT_NEAR(b, eb, 4, 1e-6);
}
END_TEST

/* ---------------------------------------------------------------- copy_window */

START_TEST(test_copy_window_crop)
{
    /* 4x4 source 0..15, centre 2x2 crop at (1,1): [5 6 9 10]. */
    float src[16], dst[4 + 2];
    for (int i = 0; i < 16; i++)
        src[i] = (float)i;
    fill(dst, N_OF(dst), SENTINEL);
    unet__ref_copy_window(src, 1, 1, 4, 4, 1, 1, 2, 2, dst, 1, 0, 1);
    const float expected[4] = {5, 6, 9, 10};
    EXPECT_NEAR(dst, expected, 4, 0.0);
    EXPECT_UNTOUCHED(dst + 4, 2);

    /* n=2, c=2, 3x4 planes holding 100 plane + 4y + x; window (y0,x0) = (0,2), 3x2:
     * plane p -> 100p + [2 3 6 7 10 11]. */
    float s2[48], d2[24];
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < 12; i++)
            s2[p * 12 + i] = (float)(100 * p + i);
    unet__ref_copy_window(s2, 2, 2, 3, 4, 0, 2, 3, 2, d2, 2, 0, 2);
    const float e2[24] = {2,   3,   6,   7,   10,  11,  102, 103, 106, 107, 110, 111,
                          202, 203, 206, 207, 210, 211, 302, 303, 306, 307, 310, 311};
    EXPECT_NEAR(d2, e2, 24, 0.0);
}
END_TEST

START_TEST(test_copy_window_concat)
{
    /* Concat along channels: dst [2][4][2][2]; A [2][2][2][2] into channels 0-1 and B into
     * channels 2-3. A plane p holds 10p + [1 2 3 4], B plane p holds -(10p + [1 2 3 4]). */
    float a[16], b[16], dst[32];
    for (int p = 0; p < 4; p++)
        for (int i = 0; i < 4; i++) {
            a[p * 4 + i] = (float)(10 * p + i + 1);
            b[p * 4 + i] = -(float)(10 * p + i + 1);
        }
    /* The second half alone first: the first half must stay untouched. */
    fill(dst, 32, SENTINEL);
    unet__ref_copy_window(b, 2, 2, 2, 2, 0, 0, 2, 2, dst, 4, 2, 2);
    EXPECT_UNTOUCHED(dst, 8);      /* sample 0, channels 0-1 */
    EXPECT_UNTOUCHED(dst + 16, 8); /* sample 1, channels 0-1 */
    unet__ref_copy_window(a, 2, 2, 2, 2, 0, 0, 2, 2, dst, 4, 0, 1);
    const float expected[32] = {1,   2,   3,   4,   11,  12,  13,  14,  -1,  -2,  -3,
                                -4,  -11, -12, -13, -14, 21,  22,  23,  24,  31,  32,
                                33,  34,  -21, -22, -23, -24, -31, -32, -33, -34};
    EXPECT_NEAR(dst, expected, 32, 0.0);
}
END_TEST

/* ---------------------------------------------------------------- thread counts */

START_TEST(test_threads_identical)
{
    /* Every operator gives bit-identical results with 1 and 2 threads. */
    uint64_t s = 1234;
    const int n = 2, c = 6, h = 13, w = 11, co = 5;
    const size_t nin = (size_t)n * c * h * w;
    float *in = rand_buf(&s, nin);
    float *wt = rand_buf(&s, (size_t)co * c * 25);
    float *bias = rand_buf(&s, (size_t)co * 4);
    float *prm = rand_buf(&s, (size_t)c * 4); /* weight, bias, mean, var */
    for (int i = 3 * c; i < 4 * c; i++)
        prm[i] = fabsf(prm[i]) + 0.5f;
    const size_t big = (size_t)n * (c > co ? c : co) * (h * 3) * (w * 3);
    float *o1 = malloc(big * sizeof(float)), *o2 = malloc(big * sizeof(float));
    ck_assert_ptr_nonnull(o1);
    ck_assert_ptr_nonnull(o2);
#define SAME(count, what) \
    ck_assert_msg(memcmp(o1, o2, (count) * sizeof(float)) == 0, what " differs with 2 threads")
    /* Different fill patterns: an output element left unwritten also shows as a difference. */
#define RUN2(...)                               \
    do {                                        \
        memset(o1, 0, big * sizeof(float));     \
        memset(o2, 0xff, big * sizeof(float));  \
        {                                       \
            float *out = o1;                    \
            int t = 1;                          \
            __VA_ARGS__;                        \
        }                                       \
        {                                       \
            float *out = o2;                    \
            int t = 2;                          \
            __VA_ARGS__;                        \
        }                                       \
    } while (0)

    RUN2(unet__ref_conv2d(in, n, c, h, w, wt, bias, co, 5, 2, out, t));
    SAME((size_t)n * co * h * w, "conv2d");
    RUN2(unet__ref_conv_transpose2d(in, n, c, h, w, wt, bias, co, 2, out, t));
    SAME((size_t)n * co * h * w * 4, "conv_transpose2d");
    RUN2(unet__ref_maxpool2d(in, n, c, h, w, 3, out, t));
    SAME((size_t)n * c * (h / 3) * (w / 3), "maxpool2d");
    RUN2(unet__ref_avgpool2d(in, n, c, h, w, 2, out, t));
    SAME((size_t)n * c * (h / 2) * (w / 2), "avgpool2d");
    RUN2(unet__ref_upsample_nearest2d(in, n, c, h, w, 3, out, t));
    SAME((size_t)n * c * h * w * 9, "upsample_nearest2d");
    RUN2(unet__ref_upsample_bilinear2d(in, n, c, h, w, 3, out, t));
    SAME((size_t)n * c * h * w * 9, "upsample_bilinear2d");
    RUN2(unet__ref_copy_window(in, n, c, h, w, 2, 1, 7, 8, out, c, 0, t));
    SAME((size_t)n * c * 7 * 8, "copy_window");
    /* In-place operators: run on copies of the input. */
    RUN2(memcpy(out, in, nin * sizeof(float));
         unet__ref_softmax_channels(out, n, c, h * w, t));
    SAME(nin, "softmax_channels");
    RUN2(memcpy(out, in, nin * sizeof(float));
         unet__ref_batchnorm(out, n, c, h * w, prm, prm + c, prm + 2 * c, prm + 3 * c, 1e-5, t));
    SAME(nin, "batchnorm");
    RUN2(memcpy(out, in, nin * sizeof(float));
         unet__ref_groupnorm(out, n, c, h * w, 3, prm, prm + c, 1e-5, t));
    SAME(nin, "groupnorm");
#undef RUN2
#undef SAME
    free(in);
    free(wt);
    free(bias);
    free(prm);
    free(o1);
    free(o2);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    return tc;
}

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ref_ops");
    TCase *tc;

    tc = tcase("conv2d");
    tcase_add_test(tc, test_conv_ones_same);
    tcase_add_test(tc, test_conv_asymmetric_kernel);
    tcase_add_test(tc, test_conv_multichannel_batch);
    tcase_add_test(tc, test_conv_3x3_two_in_channels);
    tcase_add_test(tc, test_conv_valid);
    tcase_add_test(tc, test_conv_kernel5);
    tcase_add_test(tc, test_conv_random_vs_naive);
    tcase_add_test(tc, test_conv_wide_rows_vs_naive);
    suite_add_tcase(s, tc);

    tc = tcase("conv_transpose2d");
    tcase_add_test(tc, test_convT_2x2);
    tcase_add_test(tc, test_convT_multichannel_batch);
    tcase_add_test(tc, test_convT_factor3);
    tcase_add_test(tc, test_convT_random_vs_naive);
    suite_add_tcase(s, tc);

    tc = tcase("pooling");
    tcase_add_test(tc, test_maxpool_4x4);
    tcase_add_test(tc, test_avgpool_4x4);
    tcase_add_test(tc, test_pool_odd_floor);
    tcase_add_test(tc, test_pool_factor3);
    tcase_add_test(tc, test_pool_multiplane);
    tcase_add_test(tc, test_maxpool_nan);
    suite_add_tcase(s, tc);

    tc = tcase("upsample");
    tcase_add_test(tc, test_nearest_x2);
    tcase_add_test(tc, test_nearest_x3_multiplane);
    tcase_add_test(tc, test_bilinear_x2);
    tcase_add_test(tc, test_bilinear_nonsquare);
    tcase_add_test(tc, test_bilinear_x3_multiplane);
    suite_add_tcase(s, tc);

    tc = tcase("activation");
    tcase_add_test(tc, test_act_none_relu_leaky);
    tcase_add_test(tc, test_act_elu);
    tcase_add_test(tc, test_act_sigmoid);
    tcase_add_test(tc, test_softmax_channels);
    suite_add_tcase(s, tc);

    tc = tcase("normalisation");
    tcase_add_test(tc, test_batchnorm);
    tcase_add_test(tc, test_groupnorm_two_groups);
    tcase_add_test(tc, test_groupnorm_one_and_c_groups);
    suite_add_tcase(s, tc);

    tc = tcase("copy_window");
    tcase_add_test(tc, test_copy_window_crop);
    tcase_add_test(tc, test_copy_window_concat);
    suite_add_tcase(s, tc);

    tc = tcase("threads");
    tcase_add_test(tc, test_threads_identical);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return run_suite(ops_suite());
}
