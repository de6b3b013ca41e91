/*
 * The fast executor (graph/exec_fast.c) and its kernels against the reference executor.
 *
 * Every available kernel set runs: scalar, AVX2, AVX-512 (when the CPU has it) and the
 * AVX-512 tiling code compiled for AVX2 ("avx512emu", so that its logic is checked on any
 * machine). Per op: small hand-built graphs with odd and prime sizes, batch 2, every channel
 * count class (planar first layer, partial blocks, multi-block, concatenations whose parts do
 * not fill a block). Whole networks: configs covering every config key. Direct paths must
 * match within 1e-4 relative to max|ref|, Winograd layers within 1e-3 (they reach ~1e-6).
 * Winograd tiles anchored to the canvas: a tile computed with its origin reproduces the
 * whole canvas bit for bit. Run with CK_FORK=no (libgomp is not fork safe).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"
#include "api_calls.h"
#include "core/alloc.h"
#include "graph/exec_fast.h"
#include "graph/exec_ref.h"
#include "kernels/dispatch.h"
#include "model/model.h"

/* The engine's rule, restated here as the test's own expectation: 3x3 same convolutions with at
 * least one full channel block (16) in and out run by Winograd unless `precise`. */
#define WINO_CHANNELS 16

/* ---------------------------------------------------------------- kernel sets */

#ifdef UNET_TEST_AVX512EMU /* meson: built only where the AVX2 kernels are */
static const unet__kernels emu512 = {"avx512emu",        unet__rowconv_avx512emu,
                                     unet__wino_in_avx2, unet__wino_out_avx2,
                                     unet__wino_dy_avx2, unet__wino_dx_avx2, 12};
#endif

typedef struct kset {
    const char *name;
    const unet__kernels *k;
} kset;

/* The kernel sets this machine can run. */
static int kernel_sets(kset *out)
{
    int n = 0;
    for (int isa = UNET__ISA_SCALAR; isa < UNET__ISA_COUNT; isa++)
        if (unet__kernels_get(isa)) {
            out[n].name = unet__isa_name(isa);
            out[n++].k = unet__kernels_get(isa);
        }
#ifdef UNET_TEST_AVX512EMU
    if (unet__isa_supported(UNET__ISA_AVX2)) {
        out[n].name = "avx512emu";
        out[n++].k = &emu512;
    }
#endif
    return n;
}

/* ---------------------------------------------------------------- data */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}
static float rng_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(rng_next(s) >> 40) / (double)(1ULL << 24));
}
static float *rand_buf(uint64_t *s, size_t count, float lo, float hi)
{
    float *b = unet__alloc_floats(count ? count : 1);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < count; i++)
        b[i] = rng_uniform(s, lo, hi);
    return b;
}

/* max|got - want| / max|want|, with a floor on the denominator. */
static double rel_err(const float *got, const float *want, size_t count)
{
    double m = 0, d = 0;
    for (size_t i = 0; i < count; i++) {
        m = fmax(m, fabs((double)want[i]));
        d = fmax(d, fabs((double)got[i] - (double)want[i]));
        if (isnan(got[i]))
            return INFINITY;
    }
    return d / fmax(m, 1e-20);
}

/* ---------------------------------------------------------------- hand-built graphs */

#define MAXN 32

typedef struct tg {
    unet__graph g;
    unet__node nodes[MAXN];
    unet__param_spec specs[MAXN];
    float *params[MAXN];
    uint64_t rng;
} tg;

static void tg_init(tg *t, int in_channels, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->rng = seed;
    t->g.nodes = t->nodes;
    t->g.params = t->specs;
    unet__node *n = &t->nodes[t->g.count++];
    n->op = UNET__OP_INPUT;
    n->in[0] = n->in[1] = -1;
    n->channels = in_channels;
    for (int i = 0; i < 4; i++)
        n->param[i] = -1;
}

static int tg_param(tg *t, int64_t numel, int64_t fan_in, float lo, float hi)
{
    int i = t->g.nparams++;
    t->specs[i].ndim = 1;
    t->specs[i].shape[0] = numel;
    t->specs[i].numel = numel;
    if (fan_in > 0) {
        const float s = (float)sqrt(3.0 / (double)fan_in);
        lo = -s;
        hi = s;
    }
    t->params[i] = rand_buf(&t->rng, (size_t)numel, lo, hi);
    return i;
}

/* Append a node; returns its index. */
static int tg_node(tg *t, unet__op op, int in0, int in1, int channels)
{
    ck_assert_int_lt(t->g.count, MAXN);
    unet__node *n = &t->nodes[t->g.count];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in[0] = in0;
    n->in[1] = in1;
    n->channels = channels;
    for (int i = 0; i < 4; i++)
        n->param[i] = -1;
    return t->g.count++;
}

static int tg_conv(tg *t, int in, int cout, int k, int pad)
{
    const int cin = t->nodes[in].channels;
    int i = tg_node(t, UNET__OP_CONV, in, -1, cout);
    t->nodes[i].k = k;
    t->nodes[i].pad = pad;
    t->nodes[i].param[0] = tg_param(t, (int64_t)cout * cin * k * k, (int64_t)cin * k * k, 0, 0);
    t->specs[t->nodes[i].param[0]].shape[0] = cout; /* fold_batchnorm reads shape[0] */
    t->nodes[i].param[1] = tg_param(t, cout, 0, -0.2f, 0.2f);
    return i;
}

static int tg_convt(tg *t, int in, int cout, int f)
{
    const int cin = t->nodes[in].channels;
    int i = tg_node(t, UNET__OP_CONV_T, in, -1, cout);
    t->nodes[i].factor = f;
    t->nodes[i].param[0] = tg_param(t, (int64_t)cin * cout * f * f, cin, 0, 0);
    t->nodes[i].param[1] = tg_param(t, cout, 0, -0.2f, 0.2f);
    return i;
}

static int tg_simple(tg *t, unet__op op, int in, int factor)
{
    int i = tg_node(t, op, in, -1, t->nodes[in].channels);
    t->nodes[i].factor = factor;
    return i;
}

static int tg_act(tg *t, int in, unet__act act)
{
    int i = tg_node(t, UNET__OP_ACT, in, -1, t->nodes[in].channels);
    t->nodes[i].act = act;
    return i;
}

static int tg_norm(tg *t, int in, int batchnorm, int groups)
{
    const int c = t->nodes[in].channels;
    int i = tg_node(t, batchnorm ? UNET__OP_BATCHNORM : UNET__OP_GROUPNORM, in, -1, c);
    t->nodes[i].groups = groups;
    t->nodes[i].param[0] = tg_param(t, c, 0, 0.5f, 1.5f);
    t->nodes[i].param[1] = tg_param(t, c, 0, -0.3f, 0.3f);
    if (batchnorm) {
        t->nodes[i].param[2] = tg_param(t, c, 0, -0.3f, 0.3f);
        t->nodes[i].param[3] = tg_param(t, c, 0, 0.5f, 2.0f);
    }
    return i;
}

static int tg_cat(tg *t, int a, int b)
{
    return tg_node(t, UNET__OP_CONCAT, a, b, t->nodes[a].channels + t->nodes[b].channels);
}

static void tg_free(tg *t)
{
    for (int i = 0; i < t->g.nparams; i++)
        unet__free_aligned(t->params[i]);
}

typedef struct stats {
    double worst;
    int runs;
} stats;

/* Run graph t (output: its last node) on n x cin x h x w random input with every kernel set,
 * precise and (when `wino`) Winograd, threads 1 and 2; compare with the reference. */
static void check_graph(tg *t, int64_t n, int64_t h, int64_t w, double tol, const char *what,
                        stats *st)
{
    t->g.output = t->g.count - 1;
    unet__plan plan;
    unet__fast_plan fast;
    ck_assert_int_eq(unet__plan_build(&t->g, t->params, &plan), UNET_OK);
    ck_assert_int_eq(unet__fast_plan_build(&plan, &fast), UNET_OK);
    int64_t oh, ow;
    ck_assert_int_eq(unet__graph_axis_size(&t->g, h, &oh, NULL), UNET_OK);
    ck_assert_int_eq(unet__graph_axis_size(&t->g, w, &ow, NULL), UNET_OK);
    const int64_t cin = t->nodes[0].channels, cout = t->nodes[t->g.output].channels;
    const size_t in_count = (size_t)(n * cin * h * w), out_count = (size_t)(n * cout * oh * ow);
    float *x = rand_buf(&t->rng, in_count, -1, 1);
    float *want = unet__alloc_floats(out_count), *got = unet__alloc_floats(out_count);
    float *got1 = unet__alloc_floats(out_count);
    ck_assert_int_eq(unet__exec_ref(&plan, x, n, h, w, want, 2), UNET_OK);
    /* Winograd only changes anything for 3x3 same convolutions with >= 16 channels. */
    int wino = 0;
    for (int i = 0; i < t->g.count; i++)
        wino |= t->nodes[i].op == UNET__OP_CONV && t->nodes[i].k == 3 && t->nodes[i].pad == 1 &&
                t->nodes[i].channels >= WINO_CHANNELS &&
                t->nodes[t->nodes[i].in[0]].channels >= WINO_CHANNELS;
    kset ks[8];
    const int nk = kernel_sets(ks);
    for (int k = 0; k < nk; k++)
        for (int precise = wino ? 0 : 1; precise < 2; precise++) {
            unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
            o.precise = precise;
            o.kernels = ks[k].k;
            /* Thread-count independence, checked with the last kernel set. */
            for (int threads = k == nk - 1 ? 1 : 2; threads <= 2; threads++) {
                float *dst = threads == 1 ? got1 : got;
                for (size_t i = 0; i < out_count; i++)
                    dst[i] = NAN;
                ck_assert_int_eq(unet__exec_fast(&fast, x, n, h, w, dst, threads, &o), UNET_OK);
            }
            if (k == nk - 1)
                ck_assert_msg(memcmp(got, got1, out_count * sizeof(float)) == 0,
                              "%s (%s, precise %d): threads 1 and 2 differ", what, ks[k].name,
                              precise);
            const double e = rel_err(got, want, out_count);
            ck_assert_msg(e <= tol, "%s (%s, precise %d, %lldx%lldx%lldx%lld): relative error "
                                    "%.3g > %.3g",
                          what, ks[k].name, precise, (long long)n, (long long)cin, (long long)h,
                          (long long)w, e, tol);
            if (st) {
                st->worst = fmax(st->worst, e);
                st->runs++;
            }
        }
    unet__fast_plan_clear(&fast);
    unet__plan_clear(&plan);
    unet__free_aligned(x);
    unet__free_aligned(want);
    unet__free_aligned(got);
    unet__free_aligned(got1);
}

/* ---------------------------------------------------------------- per-op tests */

START_TEST(test_conv_shapes)
{
    /* cin: planar first layer (1, 3), a full block (16), a partial extra block (17, 40);
     * cout: below a block, a block and a part, two and three blocks; k 1/3/5 with
     * same and valid padding; odd, prime and tiny sizes; batch 1 and 2. */
    static const int cins[] = {1, 3, 16, 17, 40};
    static const int couts[] = {1, 20, 32, 48};
    static const int ks[] = {1, 3, 5};
    static const int64_t sizes[][2] = {{13, 17}, {7, 29}, {6, 5}, {23, 11}};
    stats st = {0, 0};
    int c = 0;
    for (size_t a = 0; a < sizeof cins / sizeof *cins; a++)
        for (size_t b = 0; b < sizeof couts / sizeof *couts; b++)
            for (size_t k = 0; k < 3; k++)
                for (int valid = 0; valid < 2; valid++, c++) {
                    tg t;
                    tg_init(&t, cins[a], 1000 + (uint64_t)c);
                    const int kk = ks[k];
                    tg_conv(&t, 0, couts[b], kk, valid ? 0 : kk / 2);
                    char what[96];
                    snprintf(what, sizeof what, "conv %d->%d k%d %s", cins[a], couts[b], kk,
                             valid ? "valid" : "same");
                    const int64_t *hw = sizes[c % 4];
                    /* Winograd-eligible layers here are checked at the direct tolerance too
                     * (their error is ~1e-6). */
                    check_graph(&t, 1 + c % 2, hw[0], hw[1], 1e-4, what, &st);
                    tg_free(&t);
                }
    printf("conv shapes: %d runs, worst relative error %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_conv_fused_activations)
{
    static const unet__act acts[] = {UNET__ACT_RELU, UNET__ACT_LEAKY_RELU, UNET__ACT_ELU,
                                     UNET__ACT_SIGMOID};
    stats st = {0, 0};
    for (int a = 0; a < 4; a++) {
        for (int wino = 0; wino < 2; wino++) {
            tg t;
            tg_init(&t, wino ? 32 : 3, 77 + (uint64_t)a);
            int c = tg_conv(&t, 0, wino ? 48 : 20, 3, 1);
            tg_act(&t, c, acts[a]);
            check_graph(&t, 2, 19, 13, wino ? 1e-3 : 1e-4, "conv + act", &st);
            tg_free(&t);
        }
    }
    printf("fused activations: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_winograd_layers)
{
    /* Winograd-eligible layers (3x3 same, >= 16 channels) at sizes that are not multiples of
     * 4, so edge tiles are partial; error per layer within 1e-3 (reached: ~1e-6). The 16- and
     * 32-to-16 shapes are the built-in model's full-resolution layers. */
    static const int shapes[][2] = {{32, 32}, {64, 64}, {32, 48}, {40, 33}, {96, 128},
                                    {16, 16}, {32, 16}, {16, 32}};
    static const int64_t sizes[][2] = {{31, 37}, {4, 4}, {5, 9}, {17, 2}, {64, 61},
                                       {33, 19}, {8, 13}, {21, 6}};
    stats st = {0, 0};
    for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++) {
        tg t;
        tg_init(&t, shapes[s][0], 300 + (uint64_t)s);
        tg_conv(&t, 0, shapes[s][1], 3, 1);
        check_graph(&t, s % 2 + 1, sizes[s][0], sizes[s][1], 1e-3, "winograd", &st);
        tg_free(&t);
    }
    printf("winograd layers: %d runs, worst relative error %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_conv_transpose)
{
    static const int shapes[][3] = {{32, 16, 2}, {64, 32, 2}, {20, 7, 2}, {16, 40, 3}, {5, 3, 3}};
    stats st = {0, 0};
    for (int s = 0; s < 5; s++) {
        tg t;
        tg_init(&t, shapes[s][0], 500 + (uint64_t)s);
        tg_convt(&t, 0, shapes[s][1], shapes[s][2]);
        check_graph(&t, 2, 7 + s, 11 - s, 1e-4, "conv_transpose", &st);
        /* with a fused activation */
        tg_act(&t, t.g.count - 1, UNET__ACT_RELU);
        check_graph(&t, 1, 5, 3, 1e-4, "conv_transpose + relu", &st);
        tg_free(&t);
    }
    printf("conv transpose: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_pool_upsample)
{
    static const unet__op ops[] = {UNET__OP_MAXPOOL, UNET__OP_AVGPOOL, UNET__OP_UP_NEAREST,
                                   UNET__OP_UP_BILINEAR};
    stats st = {0, 0};
    for (int o = 0; o < 4; o++)
        for (int f = 2; f <= 3; f++)
            for (int c = 0; c < 2; c++) {
                tg t;
                tg_init(&t, c ? 21 : 16, 600 + (uint64_t)(o * 10 + f * 2 + c));
                /* a conv first so the op reads a blocked tensor, then the op, then a conv */
                int a = tg_conv(&t, 0, c ? 21 : 16, 3, 1);
                int p = tg_simple(&t, ops[o], a, f);
                tg_conv(&t, p, 5, 1, 0);
                const int64_t h = o < 2 ? 7 * f : 7, w = o < 2 ? 5 * f : 5; /* pools: h % f == 0 */
                check_graph(&t, 2, h, w, 1e-4, "pool/upsample", &st);
                tg_free(&t);
            }
    printf("pool/upsample: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_concat_zero_copy)
{
    /* Concatenations read by convolutions (zero copy), with parts that do not fill a block
     * (12 + 12 channels, 20 + 32), one read by a Winograd layer, a nested concat, and one read
     * by an activation (materialised). */
    stats st = {0, 0};
    static const int parts[][2] = {{12, 12}, {20, 32}, {32, 32}, {3, 5}};
    for (int s = 0; s < 4; s++) {
        tg t;
        tg_init(&t, 2, 700 + (uint64_t)s);
        int a = tg_conv(&t, 0, parts[s][0], 3, 1);
        int b = tg_conv(&t, a, parts[s][1], 3, 1);
        int cat = tg_cat(&t, a, b);
        tg_conv(&t, cat, 33, 3, 1);
        check_graph(&t, 2, 9, 14, 1e-3, "concat -> conv", &st);
        tg_free(&t);
    }
    {
        tg t;
        tg_init(&t, 3, 710);
        int a = tg_conv(&t, 0, 7, 3, 1);
        int b = tg_conv(&t, a, 9, 1, 0);
        int c1 = tg_cat(&t, a, b);
        int c2 = tg_cat(&t, c1, 0); /* nested, including the planar network input */
        tg_conv(&t, c2, 16, 3, 1);
        check_graph(&t, 1, 11, 7, 1e-4, "nested concat", &st);
        tg_free(&t);
    }
    {
        tg t;
        tg_init(&t, 3, 720);
        int a = tg_conv(&t, 0, 7, 3, 1);
        int b = tg_conv(&t, a, 18, 3, 1);
        int c = tg_cat(&t, a, b);
        int r = tg_act(&t, c, UNET__ACT_LEAKY_RELU);
        tg_conv(&t, r, 4, 3, 1);
        check_graph(&t, 2, 8, 9, 1e-4, "concat -> act (materialised)", &st);
        tg_free(&t);
    }
    {
        tg t; /* the output is a concatenation */
        tg_init(&t, 2, 730);
        int a = tg_conv(&t, 0, 5, 3, 1);
        int b = tg_conv(&t, a, 17, 3, 1);
        tg_cat(&t, a, b);
        t.g.output = t.g.count - 1;
        check_graph(&t, 2, 5, 6, 1e-4, "concat output", &st);
        tg_free(&t);
    }
    printf("concat: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_crop_view)
{
    /* Valid padding: crop (a view) -> concat -> valid conv; and a crop read by a same-padded
     * conv (materialised). */
    stats st = {0, 0};
    for (int s = 0; s < 2; s++) {
        tg t;
        tg_init(&t, 1, 800 + (uint64_t)s);
        int a = tg_conv(&t, 0, 18, 3, 0);          /* skip: h - 2 */
        int p = tg_simple(&t, UNET__OP_MAXPOOL, a, 2);
        int b = tg_conv(&t, p, 24, 3, 0);
        int u = tg_convt(&t, b, 18, 2);
        int crop = tg_node(&t, UNET__OP_CROP, a, u, 18);
        int cat = tg_cat(&t, crop, u);
        tg_conv(&t, cat, 16, 3, s ? 1 : 0);
        check_graph(&t, 2, 22, 26, 1e-4, "crop -> concat -> conv", &st);
        tg_free(&t);
    }
    printf("crop: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

START_TEST(test_norms_softmax_dropout)
{
    stats st = {0, 0};
    for (int s = 0; s < 6; s++) {
        tg t;
        tg_init(&t, 3, 900 + (uint64_t)s);
        const int c = s % 2 ? 24 : 20;
        int a = tg_conv(&t, 0, c, 3, 1);
        int x;
        if (s < 2) {
            x = tg_norm(&t, a, 1, 0); /* folded into the conv */
        } else if (s < 4) {
            x = tg_norm(&t, a, 0, c % 8 == 0 ? 8 : 1); /* group norm with fused act */
            x = tg_act(&t, x, UNET__ACT_RELU);
        } else {
            int p = tg_simple(&t, UNET__OP_MAXPOOL, a, 2);
            x = tg_norm(&t, p, 1, 0); /* unfolded batchnorm after a pool */
            x = tg_act(&t, x, UNET__ACT_ELU);
        }
        x = tg_node(&t, UNET__OP_DROPOUT, x, -1, c);
        int o = tg_conv(&t, x, 3, 1, 0);
        tg_node(&t, UNET__OP_SOFTMAX, o, -1, 3);
        check_graph(&t, 2, 10, 14, 1e-4, "norm/softmax", &st);
        tg_free(&t);
    }
    {
        tg t; /* a standalone activation that cannot fuse: the conv output is read twice */
        tg_init(&t, 4, 950);
        int a = tg_conv(&t, 0, 8, 3, 1);
        int r = tg_act(&t, a, UNET__ACT_SIGMOID);
        int cat = tg_cat(&t, a, r);
        tg_conv(&t, cat, 2, 3, 1);
        check_graph(&t, 1, 9, 9, 1e-4, "act read twice", &st);
        tg_free(&t);
    }
    printf("norms/softmax: %d runs, worst %.3g\n", st.runs, st.worst);
}
END_TEST

/* ---------------------------------------------------------------- whole networks */

static struct unet_model *random_model(const char *cfg, uint64_t seed)
{
    unet_model_t *m = NULL;
    ck_assert_msg(unet_model_create(cfg, seed, &m) == UNET_OK, "%s: %s", cfg,
                  unet_last_error());
    /* Random biases, norm statistics and affine parameters so that no layer hides. */
    uint64_t s = seed * 7919 + 1;
    for (int i = 0; i < m->graph.nparams; i++) {
        const unet__param_spec *ps = &m->graph.params[i];
        float *p = m->params[i];
        const char *dot = strrchr(ps->name, '.');
        if (!dot || ps->ndim != 1)
            continue;
        for (int64_t j = 0; j < ps->numel; j++) {
            if (strcmp(dot, ".running_var") == 0)
                p[j] = rng_uniform(&s, 0.5f, 2.0f);
            else if (strcmp(dot, ".weight") == 0)
                p[j] = rng_uniform(&s, 0.5f, 1.5f);
            else
                p[j] = rng_uniform(&s, -0.2f, 0.2f);
        }
    }
    ck_assert_int_eq(unet__model_refresh(m), UNET_OK);
    return m;
}

static void check_model(const char *cfg, int64_t n, int64_t h, int64_t w, double tol,
                        stats *st)
{
    struct unet_model *m = random_model(cfg, 11);
    int64_t oh, ow;
    ck_assert_msg(unet__graph_axis_size(&m->graph, h, &oh, NULL) == UNET_OK &&
                      unet__graph_axis_size(&m->graph, w, &ow, NULL) == UNET_OK,
                  "%s: size %lldx%lld not accepted", cfg, (long long)h, (long long)w);
    const int64_t cin = m->cfg.in_channels, cout = m->cfg.out_channels;
    const size_t in_count = (size_t)(n * cin * h * w), out_count = (size_t)(n * cout * oh * ow);
    uint64_t s = 5;
    float *x = rand_buf(&s, in_count, -1, 1);
    float *want = unet__alloc_floats(out_count), *got = unet__alloc_floats(out_count);
    ck_assert_int_eq(unet__exec_ref(&m->plan, x, n, h, w, want, 2), UNET_OK);
    kset ks[8];
    const int nk = kernel_sets(ks);
    for (int k = 0; k < nk; k++)
        for (int precise = 0; precise < 2; precise++) {
            unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
            o.precise = precise;
            o.kernels = ks[k].k;
            ck_assert_int_eq(unet__exec_fast(&m->fast, x, n, h, w, got, 2, &o), UNET_OK);
            const double e = rel_err(got, want, out_count);
            ck_assert_msg(e <= tol, "%s (%s, precise %d, %lldx%lld): relative error %.3g",
                          cfg, ks[k].name, precise, (long long)h, (long long)w, e);
            st->worst = fmax(st->worst, e);
            st->runs++;
        }
    unet__free_aligned(x);
    unet__free_aligned(want);
    unet__free_aligned(got);
    unet_model_free(m);
}

START_TEST(test_networks)
{
    static const struct {
        const char *cfg;
        int64_t h, w;
    } nets[] = {
        {"{\"depth\": 4, \"base_features\": 32}", 48, 40},
        {"{\"depth\": 1, \"base_features\": 32}", 37, 41}, /* prime sizes */
        {"{\"depth\": 2, \"base_features\": 16, \"padding\": \"valid\", \"in_channels\": 2, "
         "\"final_activation\": \"sigmoid\"}", 40, 44},
        {"{\"depth\": 3, \"base_features\": 8, \"growth\": 1.5, \"block\": \"ccr\", "
         "\"upsample\": \"bilinear\", \"upsample_conv\": true, \"final_activation\": "
         "\"sigmoid\"}", 32, 36},
        {"{\"depth\": 3, \"base_features\": 12, \"block\": \"cbrcbr\", \"upsample\": "
         "\"nearest\", \"in_channels\": 3, \"out_channels\": 3, \"final_activation\": "
         "\"softmax\"}", 44, 32},
        {"{\"depth\": 3, \"base_features\": 16, \"block\": \"cgrcgr\", \"downsample\": "
         "\"avgpool\", \"out_channels\": 2}", 36, 28},
        {"{\"depth\": 3, \"base_features\": 12, \"growth\": 1.5, \"block\": \"cgrcgr\", "
         "\"upsample\": \"bilinear\"}", 28, 44},
        {"{\"depth\": 2, \"base_features\": 8, \"kernel_size\": 5, \"padding\": \"valid\", "
         "\"block\": \"clcl\", \"upsample\": \"nearest\", \"upsample_conv\": true}", 44, 52},
        {"{\"depth\": 3, \"base_features\": 8, \"kernel_size\": 5, \"block\": \"cece\", "
         "\"downsample\": \"avgpool\", \"upsample\": \"bilinear\", \"out_channels\": 2, "
         "\"final_activation\": \"softmax\"}", 32, 40},
        {"{\"depth\": 3, \"base_features\": 8, \"block\": \"crdcr\", \"in_channels\": 2}", 36,
         40},
        {"{\"depth\": 3, \"base_features\": 8, \"factor\": 3}", 27, 45},
        {"{\"depth\": 2, \"base_features\": 8, \"factor\": 3, \"padding\": \"valid\", "
         "\"block\": \"ccr\", \"downsample\": \"avgpool\", \"upsample\": \"bilinear\", "
         "\"upsample_conv\": true, \"out_channels\": 2}", 43, 49},
        {"{\"depth\": 4, \"base_features\": 8, \"padding\": \"valid\", \"block\": "
         "\"cbrcbr\", \"out_channels\": 3, \"final_activation\": \"softmax\"}", 92, 108},
        {"{\"depth\": 2, \"base_features\": 32, \"block\": \"ccr\", \"in_channels\": 3}", 34,
         30},
        {"{\"depth\": 2, \"base_features\": 40, \"block\": \"bcrgc\", \"in_channels\": 17}", 22,
         18}, /* blocks starting with a norm: concats and the input read by non-convs */
        {"{\"depth\": 2, \"base_features\": 16, \"block\": \"rcrc\", \"kernel_size\": 1}", 10,
         14},
    };
    stats st = {0, 0};
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        int64_t h = nets[i].h, w = nets[i].w;
        struct unet_model *m = random_model(nets[i].cfg, 1);
        if (!m->cfg.same_padding) {
            h = unet__graph_size_at_or_above(&m->graph, h);
            w = unet__graph_size_at_or_above(&m->graph, w);
        }
        unet_model_free(m);
        check_model(nets[i].cfg, 2, h, w, 1e-3, &st);
    }
    printf("networks: %d runs, worst relative error %.3g\n", st.runs, st.worst);
    ck_assert_double_le(st.worst, 1e-4);
}
END_TEST

START_TEST(test_public_forward_matches_reference)
{
    /* unet_model_forward (the default path) against the reference executor. */
    struct unet_model *m = random_model("{\"depth\": 3, \"base_features\": 32}", 3);
    const int64_t shape[4] = {2, 1, 36, 44};
    const size_t count = 2 * 36 * 44;
    uint64_t s = 9;
    float *x = rand_buf(&s, count, -1, 1);
    float *want = unet__alloc_floats(count), *got = unet__alloc_floats(count);
    ck_assert_int_eq(unet__exec_ref(&m->plan, x, 2, 36, 44, want, 1), UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, got, count, 2), UNET_OK);
    const double e = rel_err(got, want, count);
    printf("public forward (%s): relative error %.3g\n", unet__isa_name(unet__isa_default()), e);
    ck_assert_double_le(e, 1e-4);
    unet__free_aligned(x);
    unet__free_aligned(want);
    unet__free_aligned(got);
    unet_model_free(m);
}
END_TEST

typedef struct conc {
    const unet_model_t *m;
    const float *x;
    float *y;
    int rc;
} conc;

static void *forward_thread(void *p)
{
    conc *c = p;
    const int64_t shape[4] = {1, 1, 64, 48};
    for (int i = 0; i < 3 && c->rc == UNET_OK; i++)
        c->rc = forward_threads(c->m, c->x, 4, shape, c->y, 64 * 48, 1 + i % 2);
    return NULL;
}

START_TEST(test_concurrent_forward)
{
    /* One model, four threads: the one-time packing and the cached arena are shared safely
     * and every thread gets the single-threaded result. */
    struct unet_model *m = random_model("{\"depth\": 3, \"base_features\": 32}", 8);
    uint64_t s = 3;
    float *x = rand_buf(&s, 64 * 48, -1, 1), *want = unet__alloc_floats(64 * 48);
    const int64_t shape[4] = {1, 1, 64, 48};
    conc c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i].m = m;
        c[i].x = x;
        c[i].y = unet__alloc_floats(64 * 48);
        c[i].rc = UNET_OK;
        ck_assert_int_eq(pthread_create(&th[i], NULL, forward_thread, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, want, 64 * 48, 1), UNET_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(c[i].rc, UNET_OK);
        ck_assert_msg(memcmp(c[i].y, want, 64 * 48 * sizeof(float)) == 0, "thread %d differs",
                      i);
        unet__free_aligned(c[i].y);
    }
    unet__free_aligned(x);
    unet__free_aligned(want);
    unet_model_free(m);
}
END_TEST

START_TEST(test_workspace_and_refresh)
{
    /* The workspace query matches the shape; changing a tensor rebuilds the fast plan. */
    struct unet_model *m = random_model("{\"depth\": 2, \"base_features\": 32}", 4);
    size_t small = 0, big = 0, ref = 1;
    unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
    o.isa = UNET__ISA_SCALAR; /* whatever UNET_ISA says */
    ck_assert_int_eq(unet__exec_fast_workspace(&m->fast, 1, 32, 32, 1, &o, &small), UNET_OK);
    ck_assert_int_eq(unet__exec_fast_workspace(&m->fast, 2, 64, 64, 1, &o, &big), UNET_OK);
    o.isa = UNET__ISA_REFERENCE;
    ck_assert_int_eq(unet__exec_fast_workspace(&m->fast, 1, 32, 32, 1, &o, &ref), UNET_OK);
    ck_assert_uint_eq(ref, 0); /* the reference executor allocates per node */
    ck_assert_uint_gt(small, 0);
    ck_assert_uint_gt(big, 4 * small);
    printf("workspace 1x32x32: %zu KiB, 2x64x64: %zu KiB\n", small >> 10, big >> 10);
    const int64_t shape[4] = {1, 1, 32, 32};
    float x[32 * 32], y0[32 * 32], y1[32 * 32], want[32 * 32];
    for (int i = 0; i < 32 * 32; i++)
        x[i] = (float)sin(i * 0.1);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y0, 32 * 32, 1), UNET_OK);
    float bias = 0.75f;
    ck_assert_int_eq(unet_model_set_tensor(m, "out.bias", &bias, 1), UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y1, 32 * 32, 1), UNET_OK);
    ck_assert_int_eq(unet__exec_ref(&m->plan, x, 1, 32, 32, want, 1), UNET_OK);
    ck_assert_double_le(rel_err(y1, want, 32 * 32), 1e-4);
    ck_assert(fabs((double)y1[0] - y0[0]) > 0.1);
    unet_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------- anchoring */

/* Input pixels beyond the receptive-field margin that Winograd layers couple through
 * rounding: a 4x4 block's outputs all read its whole 6x6 patch, 3 pixels further than a
 * direct 3x3 convolution, at the layer's scale. */
static int64_t winograd_extra_margin(const struct unet_model *m)
{
    int64_t extra = 0, scale[64];
    const unet__graph *g = &m->graph;
    for (int i = 0; i < g->count && i < 64; i++) {
        const unet__node *nd = &g->nodes[i];
        int64_t s = nd->in[0] >= 0 ? scale[nd->in[0]] : 1;
        if (nd->op == UNET__OP_MAXPOOL || nd->op == UNET__OP_AVGPOOL)
            s *= nd->factor;
        if (nd->op == UNET__OP_CONV_T || nd->op == UNET__OP_UP_NEAREST ||
            nd->op == UNET__OP_UP_BILINEAR)
            s /= nd->factor;
        scale[i] = s;
        if (nd->op == UNET__OP_CONV && nd->k == 3 && nd->pad == 1 &&
            nd->channels >= WINO_CHANNELS && g->nodes[nd->in[0]].channels >= WINO_CHANNELS)
            extra += 3 * s;
    }
    return extra;
}

START_TEST(test_winograd_tile_anchoring)
{
    /* A tile whose origin is a multiple of the block multiple, run with that origin,
     * reproduces the whole canvas bit for bit wherever the tile holds all the context its
     * pixels use: the receptive-field margin plus the pixels Winograd couples by rounding
     * (winograd_extra_margin). Nearer the tile edge, and everywhere when the blocks are
     * anchored to the tile instead (origin 0), the results differ by float rounding only. */
    struct unet_model *m = random_model("{\"depth\": 3, \"base_features\": 32}", 21);
    const int64_t H = 224, W = 208, B = 4, halo = model_int(unet_model_halo, m);
    const int64_t extra = winograd_extra_margin(m), margin = halo + extra;
    ck_assert_int_eq(unet__fast_winograd_margin(&m->fast), (int)extra);
    const int64_t ty = B, tx = 3 * B, th = 192, tw = 176; /* origins: multiples of B only */
    uint64_t s = 13;
    float *x = rand_buf(&s, (size_t)(H * W), -1, 1);
    float *whole = unet__alloc_floats((size_t)(H * W));
    float *tile_in = unet__alloc_floats((size_t)(th * tw));
    float *tile_out = unet__alloc_floats((size_t)(th * tw));
    for (int64_t y = 0; y < th; y++)
        memcpy(tile_in + y * tw, x + (ty + y) * W + tx, (size_t)tw * sizeof(float));
    kset ks[8];
    const int nk = kernel_sets(ks);
    for (int k = 0; k < nk; k++) {
        unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
        o.kernels = ks[k].k;
        ck_assert_int_eq(unet__exec_fast(&m->fast, x, 1, H, W, whole, 2, &o), UNET_OK);
        for (int anchored = 1; anchored >= 0; anchored--) {
            o.origin_y = anchored ? ty : 0;
            o.origin_x = anchored ? tx : 0;
            ck_assert_int_eq(unet__exec_fast(&m->fast, tile_in, 1, th, tw, tile_out, 1, &o),
                             UNET_OK);
            int64_t differ_core = 0, differ_halo = 0;
            double maxd = 0;
            for (int64_t y = halo; y < th - halo; y++)
                for (int64_t xx = halo; xx < tw - halo; xx++) {
                    const float a = tile_out[y * tw + xx], b = whole[(ty + y) * W + tx + xx];
                    const int inner = y >= margin && y < th - margin && xx >= margin &&
                                      xx < tw - margin;
                    differ_core += inner && a != b;
                    differ_halo += a != b;
                    maxd = fmax(maxd, fabs((double)a - b));
                }
            printf("anchoring %s %s: margin %lld + %lld; %lld pixels differ inside it, %lld "
                   "inside the margin alone (max %.3g)\n",
                   ks[k].name, anchored ? "anchored" : "unanchored", (long long)halo,
                   (long long)extra, (long long)differ_core, (long long)differ_halo, maxd);
            ck_assert_double_le(maxd, 1e-4);
            if (anchored)
                ck_assert_msg(differ_core == 0, "%s: anchored tile differs at %lld pixels",
                              ks[k].name, (long long)differ_core);
            else
                ck_assert_msg(differ_core > 0, "negative control: unanchored tile is identical");
        }
    }
    unet__free_aligned(x);
    unet__free_aligned(whole);
    unet__free_aligned(tile_in);
    unet__free_aligned(tile_out);
    unet_model_free(m);
}
END_TEST

START_TEST(test_isa_selection)
{
    ck_assert_int_eq(unet__isa_supported(UNET__ISA_SCALAR), 1);
    ck_assert_int_eq(unet__isa_supported(UNET__ISA_REFERENCE), 1);
    const int d = unet__isa_default();
    ck_assert(unet__isa_supported(d));
    const char *env = getenv("UNET_ISA");
    printf("default ISA %s (UNET_ISA=%s), avx2 %d, avx512 %d\n", unet__isa_name(d),
           env ? env : "(unset)", unet__isa_supported(UNET__ISA_AVX2),
           unet__isa_supported(UNET__ISA_AVX512));
    /* An ISA this CPU lacks is refused, not run. */
    if (!unet__isa_supported(UNET__ISA_AVX512)) {
        struct unet_model *m = random_model("{\"depth\": 1, \"base_features\": 4}", 1);
        float x[16] = {0}, y[16];
        unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
        o.isa = UNET__ISA_AVX512;
        ck_assert_int_eq(unet__exec_fast(&m->fast, x, 1, 4, 4, y, 1, &o), UNET_E_UNSUPPORTED);
        unet_model_free(m);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fast");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_isa_selection);
    tcase_add_test(tc, test_conv_shapes);
    tcase_add_test(tc, test_conv_fused_activations);
    tcase_add_test(tc, test_winograd_layers);
    tcase_add_test(tc, test_conv_transpose);
    tcase_add_test(tc, test_pool_upsample);
    tcase_add_test(tc, test_concat_zero_copy);
    tcase_add_test(tc, test_crop_view);
    tcase_add_test(tc, test_norms_softmax_dropout);
    suite_add_tcase(s, tc);
    TCase *tn = tcase_create("networks");
    tcase_set_timeout(tn, 900);
    tcase_add_test(tn, test_networks);
    tcase_add_test(tn, test_public_forward_matches_reference);
    tcase_add_test(tn, test_winograd_tile_anchoring);
    tcase_add_test(tn, test_concurrent_forward);
    tcase_add_test(tn, test_workspace_and_refresh);
    suite_add_tcase(s, tn);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
