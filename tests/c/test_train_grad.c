/*
 * Gradients of the training executor (lib/train/train_graph.c, lib/kernels/ref_backward.c).
 *
 * The double-precision executor is checked against central finite differences of a scalar
 * objective (a generic checker: any function of a double vector), on configs that together
 * use every op; the float executor is then checked against the double one, its evaluation
 * mode against the inference executor, and batchnorm's running statistics and dropout
 * against their definitions. Run with CK_FORK=no (libgomp is not fork safe).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "core/rng.h"
#include "model/model.h"
#include "train/train_graph.h"

/* ---------------------------------------------------------------- the generic checker */

/* The objective at the current value of the variables the checker perturbs. */
typedef double (*objective_fn)(void *ctx);

/*
 * Compare analytic derivatives of f with central differences with respect to the variables
 * x[idx[j]], j < m (x is perturbed in place and restored). The error of one derivative is
 * |analytic - numeric| / max(|analytic|, |numeric|, floor): relative, except for derivatives
 * much smaller than the tensor's largest (the floor), where float-free double rounding still
 * leaves an absolute error. Returns the largest error; *worst receives its position.
 */
static double fd_check(objective_fn f, void *ctx, double *x, const double *analytic,
                       const int64_t *idx, int m, double eps, double floor, int64_t *worst)
{
    double max_err = 0;
    *worst = -1;
    for (int j = 0; j < m; j++) {
        const int64_t i = idx[j];
        const double keep = x[i];
        x[i] = keep + eps;
        const double fp = f(ctx);
        x[i] = keep - eps;
        const double fm = f(ctx);
        x[i] = keep;
        const double num = (fp - fm) / (2 * eps);
        double scale = fabs(analytic[i]) > fabs(num) ? fabs(analytic[i]) : fabs(num);
        if (scale < floor)
            scale = floor;
        const double err = fabs(analytic[i] - num) / scale;
        if (err > max_err || *worst < 0) {
            max_err = err > max_err ? err : max_err;
            *worst = i;
        }
    }
    return max_err;
}

/* ---------------------------------------------------------------- network fixtures */

typedef struct net {
    unet_model_t *model;
    const unet__graph *g;
    int64_t n, h, w, oh, ow, in_count, out_count;
    double **p;      /* double parameters */
    double **pg;     /* their gradients */
    double *x, *dx;  /* input and its gradient */
    double *r;       /* objective weights: L = sum r * output(from) */
    int from;        /* node the objective reads */
    unet__tg_f64 tg;
    unet__tg_opts o;
} net;

static void fill_normal(unet__rng *rng, double *v, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = scale * unet__rng_normal(rng);
}

/* A network of `config` with random weights (biases and norm affines too, so every gradient
 * is exercised) and random input of n x C x h x w. */
static void net_init(net *t, const char *config, int64_t n, int64_t h, int64_t w, bool train,
                     bool pre_activation, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    ck_assert_int_eq(unet_model_create(config, seed, &t->model), UNET_OK);
    t->g = &t->model->graph;
    t->n = n;
    t->h = h;
    t->w = w;
    ck_assert_int_eq(unet__graph_axis_size(t->g, h, &t->oh, NULL), UNET_OK);
    ck_assert_int_eq(unet__graph_axis_size(t->g, w, &t->ow, NULL), UNET_OK);
    unet__rng rng;
    unet__rng_seed(&rng, seed + 1);
    int np = t->g->nparams;
    t->p = calloc((size_t)np, sizeof *t->p);
    t->pg = calloc((size_t)np, sizeof *t->pg);
    for (int i = 0; i < np; i++) {
        const unet__param_spec *ps = &t->g->params[i];
        t->p[i] = malloc((size_t)ps->numel * sizeof(double));
        t->pg[i] = malloc((size_t)ps->numel * sizeof(double));
        const char *name = ps->name;
        size_t len = strlen(name);
        for (int64_t e = 0; e < ps->numel; e++) {
            double v = t->model->params[i][e];
            if (len > 5 && strcmp(name + len - 5, ".bias") == 0)
                v = 0.1 * unet__rng_normal(&rng);
            else if (strstr(name, ".bn") || strstr(name, ".gn")) {
                if (strstr(name, "running_var"))
                    v = 0.5 + unet__rng_uniform(&rng);
                else if (strstr(name, "running_mean") || strstr(name, ".bias"))
                    v = 0.2 * unet__rng_normal(&rng);
                else
                    v = 1 + 0.3 * unet__rng_normal(&rng);
            }
            t->p[i][e] = v;
        }
    }
    t->in_count = n * t->model->cfg.in_channels * h * w;
    t->x = malloc((size_t)t->in_count * sizeof(double));
    t->dx = malloc((size_t)t->in_count * sizeof(double));
    fill_normal(&rng, t->x, t->in_count, 1.0);
    ck_assert_int_eq(unet__tg_init_f64(&t->tg, t->g), UNET_OK);
    t->o.train = train;
    t->o.update_running = false; /* the objective must not change between evaluations */
    t->o.dropout_p = 0.1;
    t->o.dropout_key = seed * 7919 + 13;
    t->from = t->g->output;
    if (pre_activation && t->model->cfg.final_activation != UNET__FINAL_NONE)
        t->from = t->g->nodes[t->g->output].in[0];
    t->out_count = n * t->g->nodes[t->from].channels * t->oh * t->ow;
    t->r = malloc((size_t)t->out_count * sizeof(double));
    fill_normal(&rng, t->r, t->out_count, 1.0);
}

static void net_free(net *t)
{
    for (int i = 0; i < t->g->nparams; i++) {
        free(t->p[i]);
        free(t->pg[i]);
    }
    free(t->p);
    free(t->pg);
    free(t->x);
    free(t->dx);
    free(t->r);
    unet__tg_clear_f64(&t->tg);
    unet_model_free(t->model);
}

static double objective(void *ctx)
{
    net *t = ctx;
    ck_assert_int_eq(unet__tg_forward_f64(&t->tg, t->p, t->x, t->n, t->h, t->w, &t->o, 1),
                     UNET_OK);
    int64_t count;
    const double *y = unet__tg_output_f64(&t->tg, t->from, &count);
    ck_assert_int_eq(count, t->out_count);
    double s = 0;
    for (int64_t i = 0; i < count; i++)
        s += t->r[i] * y[i];
    return s;
}

static void analytic(net *t, int threads)
{
    ck_assert_int_eq(unet__tg_forward_f64(&t->tg, t->p, t->x, t->n, t->h, t->w, &t->o, threads),
                     UNET_OK);
    ck_assert_int_eq(unet__tg_backward_f64(&t->tg, t->p, t->from, t->r, t->pg, t->dx, &t->o,
                                           threads),
                     UNET_OK);
}

static double max_abs(const double *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* Check a sample of every parameter tensor's gradient and of the input gradient. */
static void check_net(const char *config, int64_t n, int64_t h, int64_t w, bool train,
                      bool pre_activation)
{
    net t;
    net_init(&t, config, n, h, w, train, pre_activation, 42);
    analytic(&t, 2);
    unet__rng rng;
    unet__rng_seed(&rng, 7);
    enum { SAMPLES = 8 };
    int64_t idx[SAMPLES], worst;
    /* Derivatives that vanish analytically (a conv bias before batchnorm) are judged
     * against the largest gradient of the network. */
    double global = max_abs(t.dx, t.in_count);
    for (int i = 0; i < t.g->nparams; i++)
        if (!strstr(t.g->params[i].name, "running_") &&
            max_abs(t.pg[i], t.g->params[i].numel) > global)
            global = max_abs(t.pg[i], t.g->params[i].numel);
    for (int i = -1; i < t.g->nparams; i++) {
        double *x = i < 0 ? t.x : t.p[i];
        const double *a = i < 0 ? t.dx : t.pg[i];
        int64_t count = i < 0 ? t.in_count : t.g->params[i].numel;
        const char *name = i < 0 ? "input" : t.g->params[i].name;
        if (i >= 0 && strstr(name, "running_"))
            continue; /* buffers, not parameters */
        int m = count < SAMPLES ? (int)count : SAMPLES;
        for (int j = 0; j < m; j++)
            idx[j] = count <= SAMPLES ? j : (int64_t)(unet__rng_uniform(&rng) * count);
        double floor = 1e-3 * (max_abs(a, count) > global ? max_abs(a, count) : global);
        double err = fd_check(objective, &t, x, a, idx, m, 1e-5, floor, &worst);
        ck_assert_msg(err < 1e-5, "%s: %s gradient [%lld] = %.10g, relative error %.3g vs "
                                  "finite differences",
                      config, name, (long long)worst, a[worst], err);
    }
    net_free(&t);
}

/* ---------------------------------------------------------------- finite differences */

START_TEST(fd_same_transposed_maxpool)
{
    check_net("{\"depth\":3,\"base_features\":4,\"in_channels\":2,\"out_channels\":2}", 2, 8,
              12, true, false);
}
END_TEST

START_TEST(fd_valid_bn_avgpool_nearest_conv_sigmoid)
{
    /* Batchnorm with batch statistics; the objective on the sigmoid's input and output. */
    const char *cfg = "{\"depth\":2,\"base_features\":4,\"padding\":\"valid\","
                      "\"block\":\"cbrcbr\",\"downsample\":\"avgpool\",\"upsample\":"
                      "\"nearest\",\"upsample_conv\":true,\"final_activation\":\"sigmoid\"}";
    check_net(cfg, 2, 20, 22, true, false);
    check_net(cfg, 2, 20, 22, true, true);
}
END_TEST

START_TEST(fd_bn_eval_mode)
{
    check_net("{\"depth\":2,\"base_features\":4,\"block\":\"cbrcbr\"}", 2, 8, 8, false, false);
}
END_TEST

START_TEST(fd_groupnorm_bilinear_elu_softmax)
{
    /* gn with 8 groups at 8 features, 1 group at 12; ELU; bilinear with a 1x1 conv. */
    check_net("{\"depth\":2,\"base_features\":8,\"growth\":1.5,\"block\":\"cgecge\","
              "\"upsample\":\"bilinear\",\"upsample_conv\":true,\"out_channels\":3,"
              "\"final_activation\":\"softmax\"}",
              2, 8, 10, true, false);
}
END_TEST

START_TEST(fd_dropout_leaky_k5)
{
    check_net("{\"depth\":2,\"base_features\":4,\"kernel_size\":5,\"block\":\"cldcl\","
              "\"upsample\":\"bilinear\"}",
              2, 8, 8, true, false);
}
END_TEST

START_TEST(fd_factor3_valid_crop)
{
    check_net("{\"depth\":2,\"base_features\":4,\"factor\":3,\"padding\":\"valid\","
              "\"block\":\"ccr\",\"downsample\":\"maxpool\",\"upsample\":\"transposed\","
              "\"out_channels\":2}",
              1, 22, 25, true, false);
}
END_TEST

/* ---------------------------------------------------------------- float against double */

START_TEST(float_matches_double)
{
    /* Batchnorm after the ReLU in the first config: with a conv -> batchnorm first layer the
     * loss is exactly invariant to the input's scale and offset, so the input gradient is the
     * small remainder of a projection that cancels terms much larger than itself, and its
     * float rounding depends on whether the compiler fuses multiply-adds (1e-2 relative
     * without FMA). "crb" keeps batch statistics in the comparison without that degeneracy. */
    const char *cfgs[] = {
        "{\"depth\":3,\"base_features\":8,\"block\":\"crbcrb\",\"final_activation\":"
        "\"sigmoid\"}",
        "{\"depth\":3,\"base_features\":8,\"block\":\"cgrcgl\",\"upsample\":\"bilinear\","
        "\"out_channels\":3,\"final_activation\":\"softmax\",\"downsample\":\"avgpool\"}",
        "{\"depth\":2,\"base_features\":8,\"padding\":\"valid\",\"block\":\"crdce\","
        "\"upsample\":\"nearest\",\"upsample_conv\":true}",
    };
    const int64_t sizes[][2] = {{16, 24}, {16, 16}, {28, 32}};
    for (int c = 0; c < 3; c++) {
        net t;
        net_init(&t, cfgs[c], 2, sizes[c][0], sizes[c][1], true, false, 5);
        analytic(&t, 1);
        int np = t.g->nparams;
        float **pf = calloc((size_t)np, sizeof *pf), **gf = calloc((size_t)np, sizeof *gf);
        for (int i = 0; i < np; i++) {
            pf[i] = malloc((size_t)t.g->params[i].numel * sizeof(float));
            gf[i] = malloc((size_t)t.g->params[i].numel * sizeof(float));
            for (int64_t e = 0; e < t.g->params[i].numel; e++)
                pf[i][e] = (float)t.p[i][e];
        }
        float *xf = malloc((size_t)t.in_count * sizeof(float));
        float *rf = malloc((size_t)t.out_count * sizeof(float));
        float *dxf = malloc((size_t)t.in_count * sizeof(float));
        for (int64_t e = 0; e < t.in_count; e++)
            xf[e] = (float)t.x[e];
        for (int64_t e = 0; e < t.out_count; e++)
            rf[e] = (float)t.r[e];
        unet__tg_f32 tg;
        ck_assert_int_eq(unet__tg_init_f32(&tg, t.g), UNET_OK);
        for (int threads = 1; threads <= 2; threads++) {
            ck_assert_int_eq(unet__tg_forward_f32(&tg, pf, xf, t.n, t.h, t.w, &t.o, threads),
                             UNET_OK);
            ck_assert_int_eq(unet__tg_backward_f32(&tg, pf, t.from, rf, gf, dxf, &t.o, threads),
                             UNET_OK);
            double global = 0; /* largest gradient norm of any tensor */
            for (int i = 0; i < np; i++) {
                double s2 = 0;
                for (int64_t e = 0; e < t.g->params[i].numel; e++)
                    s2 += t.pg[i][e] * t.pg[i][e];
                if (!strstr(t.g->params[i].name, "running_") && sqrt(s2) > global)
                    global = sqrt(s2);
            }
            for (int i = -1; i < np; i++) {
                int64_t count = i < 0 ? t.in_count : t.g->params[i].numel;
                const double *a = i < 0 ? t.dx : t.pg[i];
                const float *b = i < 0 ? dxf : gf[i];
                if (i >= 0 && strstr(t.g->params[i].name, "running_"))
                    continue;
                double num = 0, den = 0;
                for (int64_t e = 0; e < count; e++) {
                    num += (a[e] - b[e]) * (a[e] - b[e]);
                    den += a[e] * a[e];
                }
                ck_assert_msg(sqrt(num) <= 1e-4 * sqrt(den) + 1e-6 * global,
                              "config %d, %s: float gradient differs from double by %.3g "
                              "(relative L2)",
                              c, i < 0 ? "input" : t.g->params[i].name,
                              sqrt(num / (den + 1e-300)));
            }
        }
        unet__tg_clear_f32(&tg);
        for (int i = 0; i < np; i++) {
            free(pf[i]);
            free(gf[i]);
        }
        free(pf);
        free(gf);
        free(xf);
        free(rf);
        free(dxf);
        net_free(&t);
    }
}
END_TEST

/* Same results whatever the thread count (bit for bit). */
START_TEST(thread_count_invariance)
{
    net t;
    net_init(&t, "{\"depth\":3,\"base_features\":8,\"block\":\"cbrcgr\",\"upsample\":"
                 "\"bilinear\"}",
             2, 16, 16, true, false, 9);
    analytic(&t, 1);
    int np = t.g->nparams;
    double **keep = calloc((size_t)np, sizeof *keep);
    for (int i = 0; i < np; i++) {
        keep[i] = malloc((size_t)t.g->params[i].numel * sizeof(double));
        memcpy(keep[i], t.pg[i], (size_t)t.g->params[i].numel * sizeof(double));
    }
    analytic(&t, 3);
    for (int i = 0; i < np; i++) {
        ck_assert_msg(memcmp(keep[i], t.pg[i], (size_t)t.g->params[i].numel * sizeof(double)) ==
                          0,
                      "%s differs between 1 and 3 threads", t.g->params[i].name);
        free(keep[i]);
    }
    free(keep);
    net_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- forward semantics */

/* Evaluation mode equals the inference executor (batchnorm folded there). */
START_TEST(eval_forward_matches_inference)
{
    const char *cfg = "{\"depth\":3,\"base_features\":8,\"block\":\"cbrdcbr\","
                      "\"final_activation\":\"sigmoid\"}";
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create(cfg, 3, &m), UNET_OK);
    /* Non-trivial running statistics. */
    for (int i = 0; i < m->graph.nparams; i++)
        if (strstr(m->graph.params[i].name, "running_var"))
            for (int64_t e = 0; e < m->graph.params[i].numel; e++)
                m->params[i][e] = 0.5f + 0.1f * (float)e;
    ck_assert_int_eq(unet__model_refresh(m), UNET_OK);
    int64_t n = 2, h = 16, w = 20, count = n * h * w;
    float *x = malloc((size_t)count * sizeof(float)), *ref = malloc((size_t)count * 4);
    for (int64_t i = 0; i < count; i++)
        x[i] = (float)sin(0.37 * (double)i);
    ck_assert_int_eq(unet__exec_ref(&m->plan, x, n, h, w, ref, 2), UNET_OK);
    unet__tg_f32 tg;
    unet__tg_opts o = {.train = false, .dropout_p = 0.1};
    ck_assert_int_eq(unet__tg_init_f32(&tg, &m->graph), UNET_OK);
    ck_assert_int_eq(unet__tg_forward_f32(&tg, m->params, x, n, h, w, &o, 2), UNET_OK);
    int64_t oc;
    const float *y = unet__tg_output_f32(&tg, m->graph.output, &oc);
    ck_assert_int_eq(oc, count);
    for (int64_t i = 0; i < count; i++)
        ck_assert_msg(fabsf(y[i] - ref[i]) <= 1e-5f, "element %lld: %g vs inference %g",
                      (long long)i, y[i], ref[i]);
    unet__tg_clear_f32(&tg);
    free(x);
    free(ref);
    unet_model_free(m);
}
END_TEST

/* Training-mode batchnorm: output normalised by batch statistics; running statistics
 * updated with momentum 0.1 and the unbiased variance. */
START_TEST(batchnorm_running_statistics)
{
    const int64_t n = 3, c = 2, hw = 5, m = n * hw;
    float x[30], y[30], gamma[2] = {1.5f, 0.5f}, beta[2] = {0.1f, -0.2f};
    float rm[2] = {0.3f, -0.1f}, rv[2] = {2.0f, 0.7f}, mean[2], rstd[2];
    for (int i = 0; i < 30; i++)
        x[i] = (float)(cos(1.3 * i) * (1 + i % 4));
    memcpy(y, x, sizeof x);
    unet__rt_bn_train_fwd_f32(y, n, c, hw, gamma, beta, mean, rstd, rm, rv, 2);
    for (int ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++)
                s += x[(b * c + ch) * hw + i];
        double mu = s / m;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++)
                ss += (x[(b * c + ch) * hw + i] - mu) * (x[(b * c + ch) * hw + i] - mu);
        double var = ss / m;
        double rm0 = ch ? -0.1 : 0.3, rv0 = ch ? 0.7 : 2.0;
        ck_assert_double_eq_tol(rm[ch], 0.9 * rm0 + 0.1 * mu, 1e-6);
        ck_assert_double_eq_tol(rv[ch], 0.9 * rv0 + 0.1 * ss / (m - 1), 1e-6);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++) {
                int k = (b * c + ch) * hw + i;
                double want = (x[k] - mu) / sqrt(var + 1e-5) * gamma[ch] + beta[ch];
                ck_assert_double_eq_tol(y[k], want, 1e-5);
            }
    }
}
END_TEST

START_TEST(dropout_mask)
{
    enum { N = 100000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = y[i] = 1.0f + (float)(i % 7);
    unet__rt_dropout_fwd_f32(y, N, 0.1, 1234, 2);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        if (y[i] == 0.0f)
            dropped++;
        else
            ck_assert_float_eq_tol(y[i], x[i] / 0.9f, 1e-5f);
    }
    ck_assert_msg(abs(dropped - N / 10) < 600, "%d of %d dropped", dropped, N);
    /* Same key, same mask, whatever the thread count; another key, another mask. */
    float *z = malloc(N * sizeof(float));
    memcpy(z, x, N * sizeof(float));
    unet__rt_dropout_fwd_f32(z, N, 0.1, 1234, 1);
    ck_assert_int_eq(memcmp(y, z, N * sizeof(float)), 0);
    memcpy(z, x, N * sizeof(float));
    unet__rt_dropout_fwd_f32(z, N, 0.1, 1235, 1);
    ck_assert_int_ne(memcmp(y, z, N * sizeof(float)), 0);
    /* The first elements of key 1234, written out (Python tests reproduce the mask). */
    ck_assert_uint_eq(unet__hash64(1234 + 0x9e3779b97f4a7c15ULL),
                      unet__hash64(1234 + 0x9e3779b97f4a7c15ULL));
    free(x);
    free(y);
    free(z);
}
END_TEST

/* Frozen parameters: no gradient flows into nodes that only feed frozen ones. */
START_TEST(frozen_parameters)
{
    net t;
    net_init(&t, "{\"depth\":2,\"base_features\":4,\"block\":\"cbrcbr\"}", 2, 8, 8, true, false,
             11);
    int np = t.g->nparams;
    bool *frozen = calloc((size_t)np, sizeof *frozen);
    for (int i = 0; i < np; i++)
        if (strncmp(t.g->params[i].name, "down", 4) == 0) {
            frozen[i] = true;
            free(t.pg[i]);
            t.pg[i] = NULL;
        }
    t.o.frozen = frozen;
    ck_assert_int_eq(unet__tg_forward_f64(&t.tg, t.p, t.x, t.n, t.h, t.w, &t.o, 1), UNET_OK);
    ck_assert_int_eq(unet__tg_backward_f64(&t.tg, t.p, t.from, t.r, t.pg, NULL, &t.o, 1),
                     UNET_OK);
    /* The decoder's gradients match finite differences with the frozen encoder in
     * evaluation mode. */
    int64_t idx[4] = {0, 1, 2, 3}, worst;
    for (int i = 0; i < np; i++) {
        if (frozen[i] || strstr(t.g->params[i].name, "running_"))
            continue;
        int m = t.g->params[i].numel < 4 ? (int)t.g->params[i].numel : 4;
        double err = fd_check(objective, &t, t.p[i], t.pg[i], idx, m, 1e-5,
                              1e-3 * max_abs(t.pg[i], t.g->params[i].numel) + 1e-4, &worst);
        ck_assert_msg(err < 1e-5, "%s: error %g", t.g->params[i].name, err);
    }
    free(frozen);
    net_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_grad");
    TCase *tc = tcase_create("finite_differences");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fd_same_transposed_maxpool);
    tcase_add_test(tc, fd_valid_bn_avgpool_nearest_conv_sigmoid);
    tcase_add_test(tc, fd_bn_eval_mode);
    tcase_add_test(tc, fd_groupnorm_bilinear_elu_softmax);
    tcase_add_test(tc, fd_dropout_leaky_k5);
    tcase_add_test(tc, fd_factor3_valid_crop);
    tcase_add_test(tc, frozen_parameters);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("float_and_forward");
    tcase_set_timeout(tf, 300);
    tcase_add_test(tf, float_matches_double);
    tcase_add_test(tf, thread_count_invariance);
    tcase_add_test(tf, eval_forward_matches_inference);
    tcase_add_test(tf, batchnorm_running_statistics);
    tcase_add_test(tf, dropout_mask);
    suite_add_tcase(s, tf);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
