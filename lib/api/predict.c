/*
 * The public prediction calls: they describe the model to the tiled engine (predict/) and
 * adapt in-memory images to its region reader and writer.
 */
#include <string.h>

#include "api/model_internal.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "predict/predict.h"

/* Run windows through the fast executor with their canvas origins. Windows whose origins
 * agree modulo the Winograd anchoring period share one call; others run one by one. */
static int run_fast(const void *ctx, const float *in, int64_t n, int64_t h, int64_t w,
                    float *out, int threads, const unet__run_at *at)
{
    const unet_model_t *m = ctx;
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
    const unet_model_t *m = ctx;
    return unet__exec_fast_workspace(&m->fast, n, h, w, unet__resolve_threads(threads), NULL,
                                     bytes);
}

static int axis_out(const void *ctx, int64_t in, int64_t *out)
{
    return unet__graph_axis_size(ctx, in, out, NULL);
}

static int64_t fit(const void *ctx, int64_t size)
{
    return unet__graph_size_at_or_above(ctx, size);
}

static void describe(const unet_model_t *m, unet__net *net)
{
    net->run = run_fast;
    net->run_ctx = m;
    net->in_channels = m->cfg.in_channels;
    net->out_channels = m->cfg.out_channels;
    net->same_padding = m->cfg.same_padding;
    net->block_multiple = m->block_multiple;
    net->margin = m->computed_halo;
    net->halo = m->stated_halo > m->computed_halo ? m->stated_halo : m->computed_halo;
    net->axis_out = axis_out;
    net->fit = fit;
    net->shape_ctx = &m->graph;
    net->workspace = workspace;
}

/* The normalisation in force: the options' override, else the model's metadata. */
unet__norm unet__model_norm(const unet_model_t *m, const struct unet_predict_opts *o)
{
    unet__norm n = {o->normalize, o->norm_a, o->norm_b, 1e-6};
    if (n.mode != UNET_NORMALIZE_MODEL)
        return n;
    n.mode = UNET_NORMALIZE_NONE;
    json_t *pp = m->preprocessing;
    const char *mode = pp ? json_string_value(json_object_get(pp, "normalize")) : NULL;
    if (!mode)
        return n;
    if (strcmp(mode, "zmuv") == 0) {
        n.mode = UNET_NORMALIZE_ZMUV;
        if (json_object_get(pp, "eps"))
            n.eps = json_number_value(json_object_get(pp, "eps"));
    } else if (strcmp(mode, "percentile") == 0) {
        n.mode = UNET_NORMALIZE_PERCENTILE;
        n.a = json_object_get(pp, "low") ? json_number_value(json_object_get(pp, "low")) : 1.0;
        n.b = json_object_get(pp, "high") ? json_number_value(json_object_get(pp, "high")) : 99.8;
    } else if (strcmp(mode, "fixed") == 0) {
        n.mode = UNET_NORMALIZE_FIXED;
        n.a = json_number_value(json_object_get(pp, "mean"));
        n.b = json_number_value(json_object_get(pp, "std"));
    }
    return n;
}

/* ---- in-memory images as a source and a sink ---- */

typedef struct memory_image {
    const void *data;
    int dtype;
    int64_t channels, height, width;
} memory_image;

static int read_memory(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                       float *dst)
{
    const memory_image *im = user;
    for (int64_t c = 0; c < im->channels; c++)
        for (int64_t i = 0; i < h; i++) {
            int64_t base = ((plane * im->channels + c) * im->height + y + i) * im->width + x;
            float *row = dst + (c * h + i) * w;
            unet__dtype_to_float(im->data, im->dtype, base, w, row);
        }
    return 0;
}

typedef struct memory_output {
    float *data;
    int64_t channels, height, width;
} memory_output;

static int write_memory(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                        const float *src)
{
    const memory_output *out = user;
    for (int64_t c = 0; c < out->channels; c++)
        for (int64_t i = 0; i < h; i++)
            memcpy(out->data + ((plane * out->channels + c) * out->height + y + i) * out->width + x,
                   src + (c * h + i) * w, (size_t)w * sizeof(float));
    return 0;
}

/* ---- entry points ---- */

int unet__predict_with_model(const unet_model_t *m, const struct unet_predict_opts *opts,
                             const unet__source *src, const unet__sink *sink)
{
    struct unet_predict_opts defaults;
    if (!opts) {
        unet__predict_opts_defaults(&defaults);
        opts = &defaults;
    }
    int rc = unet__model_sync(m);
    if (rc != UNET_OK)
        return rc;
    unet__net net;
    describe(m, &net);
    unet__norm norm = unet__model_norm(m, opts);
    return unet__predict_run(&net, opts, &norm, src, sink);
}

UNET_API int unet_predict(const unet_model_t *m, const unet_predict_opts_t *opts,
                          const void *input, int dtype, int ndim, const int64_t *shape,
                          float *output, size_t output_count)
{
    unet__clear_error();
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: model is NULL");
    if (!input || !shape || !output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: input, shape or output is NULL");
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim < 2 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; expected (H,W), (C,H,W) or "
                                        "(P,C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "input dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t planes = ndim == 4 ? shape[0] : 1, channels = ndim >= 3 ? shape[ndim - 3] : 1;
    int64_t h = shape[ndim - 2], w = shape[ndim - 1];
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "input has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    int64_t dims[4] = {planes, m->cfg.out_channels > channels ? m->cfg.out_channels : channels,
                       h, w}, count;
    if (!unet__product(dims, 4, INT64_MAX / 64, &count))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)planes, (long long)channels, (long long)h, (long long)w);
    dims[1] = m->cfg.out_channels;
    unet__product(dims, 4, INT64_MAX, &count);
    if ((int64_t)output_count != count)
        return unet__fail(UNET_E_SHAPE, "output buffer has %zu elements; %lld x %d x %lld x "
                                        "%lld needs %lld",
                          output_count, (long long)planes, m->cfg.out_channels, (long long)h,
                          (long long)w, (long long)count);
    memory_image im = {input, dtype, channels, h, w};
    memory_output out = {output, m->cfg.out_channels, h, w};
    unet__source src = {planes, channels, h, w, read_memory, &im};
    unet__sink sink = {write_memory, &out};
    return unet__predict_with_model(m, opts, &src, &sink);
}

UNET_API int unet_predict_stream(const unet_model_t *m, const unet_predict_opts_t *opts,
                                 int64_t planes, int64_t channels, int64_t height,
                                 int64_t width, unet_read_fn read, void *read_user,
                                 unet_write_fn write, void *write_user)
{
    unet__clear_error();
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_stream: model is NULL");
    if (!read || !write)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_stream: read or write callback is "
                                              "NULL");
    int64_t dims[4] = {planes, channels, height, width};
    for (int i = 0; i < 4; i++)
        if (dims[i] < 1 || dims[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)dims[i]);
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "image has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    unet__source src = {planes, channels, height, width, read, read_user};
    unet__sink sink = {write, write_user};
    return unet__predict_with_model(m, opts, &src, &sink);
}
