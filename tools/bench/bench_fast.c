/*
 * unet-bench: measurements of the fast engine (not a test; the machine may be shared, so
 * every figure is a median of repeated runs).
 *
 *   unet-bench peak [--threads T]
 *       FP32 FMA peak of this machine per ISA: 12 independent FMA chains per thread with
 *       different start values, every result observed (see PITFALLS).
 *   unet-bench kernel [--cin 64 --cout 64 --k 3 --size 256 --isa I --reps R]
 *       The direct convolution row kernel alone on blocked data, one thread: GFLOP/s and %
 *       of the peak of the same ISA.
 *   unet-bench net [--size 512 --threads T --isa I --precise --reps R --depth 4 --base 32
 *                   --profile]
 *       The whole U-Net forward pass (unet__exec_fast, raw input of exactly size x size):
 *       median ms and GFLOP/s (2 x multiply-adds of the convolutions, as usual); --profile
 *       prints the time per node.
 *   unet-bench layer [--cin 64 --cout 64 --k 3 --size 256 --threads T --isa I --precise]
 *       One convolution through the executor (includes packing the NCHW input).
 * --cpu-time: peak and kernel are timed with process CPU time instead of wall time (on a
 * shared machine, leaves out the time other processes hold the core); net always prints both.
 * Every mode prints one line "RESULT key=value ..." for scripts (tools/bench/bench.py).
 */
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unet.h"
#include "bench_time.h"
#include "core/alloc.h"
#include "graph/exec_fast.h"
#include "kernels/blocked.h"
#include "kernels/dispatch.h"
#include "kernels/pack.h"
#include "model/model.h"

static int use_cpu_time;

/* ---------------------------------------------------------------- options */

typedef struct opts {
    const char *mode;
    int threads, isa, precise, reps, depth, base, profile;
    int cin, cout, k;
    int64_t size;
} opts;

static int parse_isa(const char *s)
{
    for (int i = 0; i < UNET__ISA_COUNT; i++)
        if (strcmp(s, unet__isa_name(i)) == 0)
            return i;
    fprintf(stderr, "unknown ISA %s\n", s);
    exit(2);
}

static void parse(int argc, char **argv, opts *o)
{
    o->mode = argc > 1 ? argv[1] : "net";
    o->threads = 1;
    o->isa = -1;
    o->precise = 0;
    o->reps = 7;
    o->depth = 4;
    o->base = 32;
    o->profile = 0;
    o->cin = o->cout = 64;
    o->k = 3;
    o->size = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (strcmp(a, "--threads") == 0)
            o->threads = atoi(v), i++;
        else if (strcmp(a, "--isa") == 0)
            o->isa = parse_isa(v), i++;
        else if (strcmp(a, "--precise") == 0)
            o->precise = 1;
        else if (strcmp(a, "--profile") == 0)
            o->profile = 1;
        else if (strcmp(a, "--cpu-time") == 0)
            use_cpu_time = 1;
        else if (strcmp(a, "--reps") == 0)
            o->reps = atoi(v), i++;
        else if (strcmp(a, "--depth") == 0)
            o->depth = atoi(v), i++;
        else if (strcmp(a, "--base") == 0)
            o->base = atoi(v), i++;
        else if (strcmp(a, "--cin") == 0)
            o->cin = atoi(v), i++;
        else if (strcmp(a, "--cout") == 0)
            o->cout = atoi(v), i++;
        else if (strcmp(a, "--k") == 0)
            o->k = atoi(v), i++;
        else if (strcmp(a, "--size") == 0)
            o->size = atoll(v), i++;
        else {
            fprintf(stderr, "unknown option %s\n", a);
            exit(2);
        }
    }
    if (o->reps < 1)
        o->reps = 1;
}

/* ---------------------------------------------------------------- FMA peak */

#if defined(__x86_64__)
#define PEAK_ITERS 20000000L

__attribute__((target("avx2,fma"))) static double peak_avx2_thread(float seed)
{
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps(seed + (float)i);
    for (long it = 0; it < PEAK_ITERS; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    float out[8], s = 0;
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(out, a[i]);
        for (int j = 0; j < 8; j++)
            s += out[j];
    }
    return s;
}

__attribute__((target("avx512f"))) static double peak_avx512_thread(float seed)
{
    __m512 a[12];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps(seed + (float)i);
    for (long it = 0; it < PEAK_ITERS / 2; it++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    float s = 0;
    for (int i = 0; i < 12; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return s;
}

/* use_cpu_time (option --cpu-time): time with process CPU time per thread instead of wall
 * time; on a shared machine it leaves out the time other processes hold the cores. */

/* GFLOP/s of `threads` threads running the chains of `isa` (median of reps). */
static double measure_peak(int isa, int threads, int reps)
{
    double t[16], sink = 0;
    const double flops = (isa == UNET__ISA_AVX512 ? PEAK_ITERS / 2 * 16.0 : PEAK_ITERS * 8.0) *
                         12 * 2 * threads;
    if (reps > 16)
        reps = 16;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now(), c0 = bench_cpu_now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += isa == UNET__ISA_AVX512 ? peak_avx512_thread(1.0f + omp_get_thread_num())
                                        : peak_avx2_thread(1.0f + omp_get_thread_num());
        t[r] = use_cpu_time ? (bench_cpu_now() - c0) / threads : bench_now() - t0;
    }
    if (sink == 42.0)
        printf("(sink)\n");
    return flops / bench_median(t, reps) * 1e-9;
}
#else
/* The FMA chains are written for x86-64: elsewhere the peak is unknown (NaN). */
static double measure_peak(int isa, int threads, int reps)
{
    (void)isa, (void)threads, (void)reps;
    return NAN;
}
#endif

static void mode_peak(const opts *o)
{
    for (int isa = UNET__ISA_AVX2; isa <= UNET__ISA_AVX512; isa++) {
        if (!unet__isa_supported(isa)) {
            printf("%s: not supported by this CPU\n", unet__isa_name(isa));
            continue;
        }
        const double g = measure_peak(isa, o->threads, o->reps < 5 ? o->reps : 5);
        printf("FMA peak %s, %d thread(s): %.1f GFLOP/s\n", unet__isa_name(isa), o->threads, g);
        printf("RESULT mode=peak isa=%s threads=%d gflops=%.2f\n", unet__isa_name(isa),
               o->threads, g);
    }
}

/* ---------------------------------------------------------------- direct kernel */

static void mode_kernel(const opts *o)
{
    const int isa = o->isa >= 0 ? o->isa : unet__isa_default();
    const unet__kernels *K = unet__kernels_get(isa);
    if (!K) {
        fprintf(stderr, "ISA %s not available\n", unet__isa_name(isa));
        exit(1);
    }
    const int64_t H = o->size > 0 ? o->size : 256, W = H, k = o->k, P = k / 2;
    const int nblk = (o->cin + 15) / 16, ncob = (o->cout + 15) / 16;
    const int64_t rs = (W + 2 * P) * 16, plane = (H + 2 * P) * rs;
    float *in = unet__alloc_floats((size_t)(plane * nblk));
    float *out = unet__alloc_floats((size_t)(H * W * 16 * ncob));
    float *w = unet__alloc_floats((size_t)o->cout * o->cin * k * k);
    float *wp = unet__alloc_floats(unet__pack_conv_len(o->cout, nblk, (int)k, 16));
    float *bias = unet__alloc_floats((size_t)ncob * 16);
    for (int64_t i = 0; i < plane * nblk; i++)
        in[i] = (float)((i * 7919) % 1000) * 1e-3f;
    for (int64_t i = 0; i < (int64_t)o->cout * o->cin * k * k; i++)
        w[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    const int segc[1] = {o->cin};
    unet__pack_conv(w, o->cout, o->cin, (int)k, 1, segc, 16, wp);
    unet__pack_bias(NULL, o->cout, bias);
    const float *ptr[1024];
    int64_t rsv[1024];
    unet__rowconv a = {nblk, 16, (int)k, (int)k, ptr, rsv, wp,
                       (int64_t)nblk * k * k * 256, bias, ncob, NULL, H * W * 16, 16, W,
                       UNET__ACT_RELU};
    double t[64];
    const int reps = o->reps > 64 ? 64 : o->reps;
    const unsigned env = unet__fpenv_enter();
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now(), c0 = bench_cpu_now();
        for (int64_t y = 0; y < H; y++) {
            for (int b = 0; b < nblk; b++) {
                ptr[b] = in + b * plane + y * rs; /* tap (0,0) of output (y, 0) */
                rsv[b] = rs;
            }
            a.out = out + y * W * 16;
            K->rowconv(&a);
        }
        t[r] = use_cpu_time ? bench_cpu_now() - c0 : bench_now() - t0;
    }
    unet__fpenv_leave(env);
    const double sec = bench_median(t, reps), best = t[0]; /* bench_median() sorted t */
    const double gflops = 2.0 * o->cin * o->cout * k * k * H * W / sec * 1e-9;
    const double best_gflops = 2.0 * o->cin * o->cout * k * k * H * W / best * 1e-9;
    const double peak = measure_peak(isa == UNET__ISA_AVX512 ? isa : UNET__ISA_AVX2, 1, 3);
    printf("direct conv %d->%d %lldx%lld %lldx%lld, %s, 1 thread: %.2f ms, %.1f GFLOP/s = "
           "%.1f%% of the %.1f GFLOP/s FMA peak\n",
           o->cin, o->cout, (long long)k, (long long)k, (long long)H, (long long)W,
           unet__isa_name(isa), sec * 1e3, gflops, 100 * gflops / peak, peak);
    printf("RESULT mode=kernel isa=%s cin=%d cout=%d k=%lld size=%lld ms=%.3f gflops=%.2f "
           "peak=%.2f pct=%.1f best_pct=%.1f\n",
           unet__isa_name(isa), o->cin, o->cout, (long long)k, (long long)H, sec * 1e3, gflops,
           peak, 100 * gflops / peak, 100 * best_gflops / peak);
    unet__free_aligned(in);
    unet__free_aligned(out);
    unet__free_aligned(w);
    unet__free_aligned(wp);
    unet__free_aligned(bias);
}

/* ---------------------------------------------------------------- networks */

/* 2 x multiply-adds of the convolutions and transposed convolutions. */
static double graph_flops(const unet__graph *g, int64_t n, int64_t h, int64_t w)
{
    int64_t *hs = malloc((size_t)g->count * sizeof *hs), *ws = malloc((size_t)g->count * 8);
    int64_t oh, ow;
    unet__graph_axis_size(g, h, &oh, hs);
    unet__graph_axis_size(g, w, &ow, ws);
    double f = 0;
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        const double cin = nd->in[0] >= 0 ? g->nodes[nd->in[0]].channels : 0;
        if (nd->op == UNET__OP_CONV)
            f += 2.0 * cin * nd->channels * nd->k * nd->k * (double)(hs[i] * ws[i]);
        else if (nd->op == UNET__OP_CONV_T)
            f += 2.0 * cin * nd->channels * (double)(hs[i] * ws[i]);
    }
    free(hs);
    free(ws);
    return f * (double)n;
}

static const char *op_name(int op)
{
    static const char *const names[] = {"input", "conv", "conv_t", "maxpool", "avgpool",
                                        "nearest", "bilinear", "crop", "concat", "act",
                                        "softmax", "batchnorm", "groupnorm", "dropout"};
    return op >= 0 && op < (int)(sizeof names / sizeof *names) ? names[op] : "?";
}

static void run_model(const opts *o, const char *cfg, int64_t size, const char *label)
{
    unet_model_t *m;
    if (unet_model_create(cfg, 1, &m) != UNET_OK) {
        fprintf(stderr, "%s\n", unet_last_error());
        exit(1);
    }
    const int cin = m->cfg.in_channels;
    int64_t oh, ow;
    if (unet__graph_axis_size(&m->graph, size, &oh, NULL) != UNET_OK) {
        fprintf(stderr, "size %lld not accepted\n", (long long)size);
        exit(1);
    }
    ow = oh;
    float *x = unet__alloc_floats((size_t)(cin * size * size));
    float *y = unet__alloc_floats((size_t)(m->cfg.out_channels * oh * ow));
    for (int64_t i = 0; i < cin * size * size; i++)
        x[i] = (float)sin((double)i * 0.001);
    unet__exec_opts eo = UNET__EXEC_OPTS_DEFAULT;
    eo.isa = o->isa;
    eo.precise = o->precise;
    double *prof = calloc((size_t)m->graph.count, sizeof *prof);
    double *acc = calloc((size_t)m->graph.count * 64, sizeof *acc);
    if (unet__exec_fast(&m->fast, x, 1, size, size, y, o->threads, &eo) != UNET_OK) {
        fprintf(stderr, "%s\n", unet_last_error());
        exit(1);
    }
    double t[64], tc[64];
    const int reps = o->reps > 64 ? 64 : o->reps;
    for (int r = 0; r < reps; r++) {
        eo.node_seconds = o->profile ? prof : NULL;
        const double t0 = bench_now(), c0 = bench_cpu_now();
        unet__exec_fast(&m->fast, x, 1, size, size, y, o->threads, &eo);
        t[r] = bench_now() - t0;
        tc[r] = (bench_cpu_now() - c0) / o->threads;
        if (o->profile)
            for (int i = 0; i < m->graph.count; i++)
                acc[(size_t)i * 64 + (size_t)r] = prof[i];
    }
    const double sec = bench_median(t, reps), flops = graph_flops(&m->graph, 1, size, size);
    const double cpu = bench_median(tc, reps);
    const int isa = o->isa >= 0 ? o->isa : unet__isa_default();
    printf("%s %lldx%lld, %s%s, %d thread(s): median %.1f ms (min %.1f), %.1f GFLOP/s "
           "(%.2f GFLOP); CPU time per thread %.1f ms\n",
           label, (long long)size, (long long)size, unet__isa_name(isa),
           o->precise ? " precise" : "", o->threads, sec * 1e3,
           t[0] * 1e3, flops / sec * 1e-9, flops * 1e-9, cpu * 1e3);
    printf("RESULT mode=net isa=%s precise=%d threads=%d size=%lld ms=%.3f min_ms=%.3f "
           "gflops=%.2f gflop=%.3f cpu_ms=%.3f\n",
           unet__isa_name(isa), o->precise, o->threads, (long long)size, sec * 1e3, t[0] * 1e3,
           flops / sec * 1e-9, flops * 1e-9, cpu * 1e3);
    size_t ws = 0;
    eo.node_seconds = NULL;
    unet__exec_fast_workspace(&m->fast, 1, size, size, o->threads, &eo, &ws);
    printf("  arena (tensors and scratch): %.1f MiB\n", (double)ws / (1 << 20));
    if (o->profile) {
        int64_t *hs = malloc((size_t)m->graph.count * 8);
        unet__graph_axis_size(&m->graph, size, &oh, hs);
        double total = 0;
        for (int i = 0; i < m->graph.count; i++)
            total += bench_median(acc + (size_t)i * 64, reps);
        for (int i = 0; i < m->graph.count; i++) {
            const unet__node *nd = &m->graph.nodes[i];
            const double s = bench_median(acc + (size_t)i * 64, reps);
            double f = 0;
            if (nd->op == UNET__OP_CONV || nd->op == UNET__OP_CONV_T) {
                const double c = m->graph.nodes[nd->in[0]].channels;
                f = 2.0 * c * nd->channels * (nd->op == UNET__OP_CONV ? nd->k * nd->k : 1) *
                    (double)(hs[i] * hs[i]);
            }
            if (s > 0.002 * total)
                printf("  node %2d %-9s %4d ch %5lld^2: %7.2f ms %5.1f%%%s", i, op_name(nd->op),
                       nd->channels, (long long)hs[i], s * 1e3, 100 * s / total,
                       f > 0 ? "" : "\n");
            if (s > 0.002 * total && f > 0)
                printf("  %6.1f GFLOP/s\n", f / s * 1e-9);
        }
        free(hs);
    }
    free(prof);
    free(acc);
    unet__free_aligned(x);
    unet__free_aligned(y);
    unet_model_free(m);
}

static void mode_net(const opts *o)
{
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"depth\": %d, \"base_features\": %d}", o->depth, o->base);
    run_model(o, cfg, o->size > 0 ? o->size : 512, "U-Net");
}

static void mode_layer(const opts *o)
{
    /* A depth-1 "U-Net" is one block; build the layer as block "c" with in_channels cin
     * and base_features cout, then the 1x1 output conv (small). */
    char cfg[160];
    snprintf(cfg, sizeof cfg,
             "{\"depth\": 1, \"in_channels\": %d, \"base_features\": %d, \"kernel_size\": %d, "
             "\"block\": \"cr\"}",
             o->cin, o->cout, o->k);
    run_model(o, cfg, o->size > 0 ? o->size : 256, "layer");
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    if (strcmp(o.mode, "peak") == 0)
        mode_peak(&o);
    else if (strcmp(o.mode, "kernel") == 0)
        mode_kernel(&o);
    else if (strcmp(o.mode, "net") == 0)
        mode_net(&o);
    else if (strcmp(o.mode, "layer") == 0)
        mode_layer(&o);
    else {
        fprintf(stderr, "usage: unet-bench peak|kernel|net|layer [options]\n");
        return 2;
    }
    return 0;
}
