/* A model seen by the tiled engine: its forward pass, shapes and workspace as a unet__net,
 * and the prediction of a model over any source and sink. */
#include <string.h>

#include "core/status.h"
#include "model/model.h"
#include "predict/channels.h"
#include "predict/predict.h"

/* Run windows through the fast executor with their canvas origins. Windows whose origins
 * agree modulo the Winograd anchoring period share one call; others run one by one. */
static int run_fast(const void *ctx, const float *in, int64_t n, int64_t h, int64_t w,
                    float *out, int threads, const unet__run_at *at)
{
    const struct unet_model *m = ctx;
    int64_t oh = h, ow = w;
    if (!m->cfg.same_padding &&
        (unet__graph_axis_size(&m->graph, h, &oh, NULL) != UNET_OK ||
         unet__graph_axis_size(&m->graph, w, &ow, NULL) != UNET_OK))
        return unet__fail(UNET_E_INTERNAL, "window %lld x %lld does not fit the network",
                          (long long)h, (long long)w);
    const int64_t period = 4 * (int64_t)m->block_multiple;
    const int64_t in_size = m->cfg.in_channels * h * w, out_size = m->cfg.out_channels * oh * ow;
    threads = unet__resolve_threads(threads);
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && (at->origin_x[j] - at->origin_x[i]) % period == 0)
            j++;
        unet__exec_opts o = UNET__EXEC_OPTS_DEFAULT;
        o.precise = at->precise;
        o.origin_y = at->origin_y;
        o.origin_x = at->origin_x[i];
        int rc = unet__exec_fast(&m->fast, in + i * in_size, j - i, h, w, out + i * out_size,
                                 threads, &o);
        if (rc != UNET_OK)
            return rc;
        i = j;
    }
    return UNET_OK;
}

static int workspace(const void *ctx, int64_t n, int64_t h, int64_t w, int threads,
                     size_t *bytes)
{
    const struct unet_model *m = ctx;
    return unet__exec_fast_workspace(&m->fast, n, h, w, unet__resolve_threads(threads), NULL,
                                     bytes);
}

static int reserve(const void *ctx, int64_t n, int64_t h, int64_t w, int threads)
{
    const struct unet_model *m = ctx;
    return unet__exec_fast_reserve(&m->fast, n, h, w, unet__resolve_threads(threads), NULL);
}

static int axis_out(const void *ctx, int64_t in, int64_t *out)
{
    return unet__graph_axis_size(ctx, in, out, NULL);
}

static int64_t fit(const void *ctx, int64_t size)
{
    return unet__graph_size_at_or_above(ctx, size);
}

static void describe(const struct unet_model *m, unet__net *net)
{
    net->run = run_fast;
    net->run_ctx = m;
    net->in_channels = m->cfg.in_channels;
    net->out_channels = m->cfg.out_channels;
    net->same_padding = m->cfg.same_padding;
    net->block_multiple = m->block_multiple;
    net->margin = m->computed_halo;
    net->halo = unet__model_halo(m);
    net->axis_out = axis_out;
    net->fit = fit;
    net->shape_ctx = &m->graph;
    net->workspace = workspace;
    net->reserve = reserve;
}

unet__norm unet__predict_norm(const struct unet_model *m, const struct unet_predict_opts *o)
{
    double a, b;
    unet__predict_opts_norm_params(o, &a, &b);
    return unet__model_norm(m, o->normalize, a, b);
}

int unet__predict_with_model(const struct unet_model *m, const struct unet_predict_opts *opts,
                             const unet__source *src, const unet__sink *sink)
{
    struct unet_predict_opts defaults;
    if (!opts) {
        unet__predict_opts_defaults(&defaults);
        opts = &defaults;
    }
    int rc = unet__predict_opts_check(opts);
    if (rc == UNET_OK)
        rc = unet__model_sync(m);
    if (rc != UNET_OK)
        return rc;
    /* Colour and other channel counts by the one channel rule, before normalisation. */
    unet__channel_source cs;
    rc = unet__channel_source_init(&cs, src, m->cfg.in_channels, opts->channel);
    if (rc != UNET_OK)
        return rc;
    unet__net net;
    describe(m, &net);
    unet__norm norm = unet__predict_norm(m, opts);
    rc = unet__predict_run(&net, opts, &norm, &cs.src, sink);
    unet__channel_source_free(&cs);
    return rc;
}
