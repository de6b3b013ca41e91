/* The model object's calls: creation, getters, parameters, metadata, shapes and the forward
 * pass (argument checks, then model/). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict/predict.h"
#include "core/alloc.h"
#include "core/status.h"
#include "model/model.h"

UNET_API int unet_model_create(const char *config_json, uint64_t seed, unet_model_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_create: out is NULL");
    *out = NULL;
    return unet__model_create(config_json, seed, out);
}

UNET_API void unet_model_free(unet_model_t *m)
{
    unet__model_free(m);
}

#define GETTER(fn, type, expr)                                                                 \
    UNET_API int fn(const unet_model_t *m, type *out)                                          \
    {                                                                                          \
        unet__clear_error();                                                                   \
        if (out)                                                                               \
            *out = 0;                                                                          \
        if (!m || !out)                                                                        \
            return unet__fail(UNET_E_INVALID_ARG, #fn ": model or output is NULL");            \
        *out = (expr);                                                                         \
        return UNET_OK;                                                                        \
    }

GETTER(unet_model_ndim, int, m->cfg.ndim)
GETTER(unet_model_in_channels, int, m->cfg.in_channels)
GETTER(unet_model_out_channels, int, m->cfg.out_channels)
GETTER(unet_model_depth, int, m->cfg.depth)
GETTER(unet_model_halo, int, unet__model_halo(m))
GETTER(unet_model_block_multiple, int, m->block_multiple)
GETTER(unet_model_is_same_padding, int, m->cfg.same_padding ? 1 : 0)
GETTER(unet_model_tensor_count, int, m->graph.nparams)

static int64_t param_count(const unet_model_t *m)
{
    int64_t total = 0;
    for (int i = 0; i < m->graph.nparams; i++)
        total += m->graph.params[i].numel;
    return total;
}
GETTER(unet_model_param_count, int64_t, param_count(m))

/* A JSON string cached by the model, valid until its next change. */
static int cached_json(const unet_model_t *m, const char **json, bool metadata, const char *fn)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!m || !json)
        return unet__fail(UNET_E_INVALID_ARG, "%s: model or json is NULL", fn);
    int rc = unet__model_sync(m);
    if (rc == UNET_OK)
        *json = metadata ? m->meta_json : m->arch_json;
    return rc;
}

UNET_API int unet_model_architecture(const unet_model_t *m, const char **json)
{
    return cached_json(m, json, false, "unet_model_architecture");
}

UNET_API int unet_model_metadata(const unet_model_t *m, const char **json)
{
    return cached_json(m, json, true, "unet_model_metadata");
}

UNET_API int unet_model_set_metadata(unet_model_t *m, const char *key, const char *json_value)
{
    unet__clear_error();
    if (!m || !key)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_set_metadata: model or key is NULL");
    json_t *value = NULL;
    if (json_value) {
        json_error_t err;
        value = json_loads(json_value, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        if (!value)
            return unet__fail(UNET_E_INVALID_ARG, "metadata '%.40s': invalid JSON: %s", key,
                              err.text);
    }
    int rc = unet__model_set_section(m, key, value, UNET_E_INVALID_ARG);
    json_decref(value);
    if (rc == UNET_OK)
        rc = unet__model_refresh(m);
    return rc;
}

/* ---- parameter tensors ---- */

UNET_API int unet_model_tensor_info(const unet_model_t *m, int index, const char **name,
                                    int *ndim, int64_t shape[4])
{
    unet__clear_error();
    if (name)
        *name = NULL;
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_tensor_info: model is NULL");
    if (index < 0 || index >= m->graph.nparams)
        return unet__fail(UNET_E_INVALID_ARG, "tensor index %d is out of range [0, %d)", index,
                          m->graph.nparams);
    const unet__param_spec *ps = &m->graph.params[index];
    if (name)
        *name = ps->name;
    if (ndim)
        *ndim = ps->ndim;
    if (shape)
        for (int i = 0; i < 4; i++)
            shape[i] = i < ps->ndim ? ps->shape[i] : 0;
    return UNET_OK;
}

static int find_tensor(const unet_model_t *m, const char *name, size_t count)
{
    if (!m || !name)
        return unet__fail(UNET_E_INVALID_ARG, "model or tensor name is NULL");
    int i = unet__graph_find_param(&m->graph, name);
    if (i < 0)
        return unet__fail(UNET_E_INVALID_ARG, "the model has no tensor '%.60s'", name);
    if ((int64_t)count != m->graph.params[i].numel)
        return unet__fail(UNET_E_SHAPE, "tensor '%s' has %lld elements, not %zu", name,
                          (long long)m->graph.params[i].numel, count);
    return i;
}

UNET_API int unet_model_get_tensor(const unet_model_t *m, const char *name, float *out,
                                   size_t count)
{
    unet__clear_error();
    int i = find_tensor(m, name, count);
    if (i < 0)
        return i;
    if (!out && count)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_get_tensor: out is NULL");
    memcpy(out, m->params[i], count * sizeof(float));
    return UNET_OK;
}

UNET_API int unet_model_set_tensor(unet_model_t *m, const char *name, const float *data,
                                   size_t count)
{
    unet__clear_error();
    int i = find_tensor(m, name, count);
    if (i < 0)
        return i;
    if (!data && count)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_set_tensor: data is NULL");
    for (size_t j = 0; j < count; j++)
        if (!isfinite(data[j]))
            return unet__fail(UNET_E_INVALID_ARG, "tensor '%s': element %zu is not finite",
                              name, j);
    memcpy(m->params[i], data, count * sizeof(float));
    return unet__model_refresh(m);
}

/* ---- shapes and forward ---- */

/* Check one spatial size; on failure, name the nearest sizes the network accepts. */
static int check_axis(const unet_model_t *m, const char *axis, int64_t size, int64_t *out)
{
    if (unet__graph_axis_size(&m->graph, size, out, NULL) == UNET_OK)
        return UNET_OK;
    int64_t below = size > 1 ? unet__graph_size_at_or_below(&m->graph, size - 1) : 0;
    int64_t above = unet__graph_size_at_or_above(&m->graph, size + 1);
    const char *pad = m->cfg.same_padding ? "same" : "valid";
    if (below > 0 && above > 0)
        return unet__fail(UNET_E_SHAPE,
                          "%s %lld is not accepted by the network (%s padding, block multiple "
                          "%d): nearest accepted sizes are %lld and %lld",
                          axis, (long long)size, pad, m->block_multiple, (long long)below,
                          (long long)above);
    if (above > 0)
        return unet__fail(UNET_E_SHAPE,
                          "%s %lld is not accepted by the network (%s padding, block multiple "
                          "%d): the smallest accepted size is %lld",
                          axis, (long long)size, pad, m->block_multiple, (long long)above);
    return unet__fail(UNET_E_SHAPE, "%s %lld is not accepted by the network", axis,
                      (long long)size);
}

static int check_shape(const unet_model_t *m, int ndim, const int64_t *in, int64_t *out)
{
    if (!m || !in || !out)
        return unet__fail(UNET_E_INVALID_ARG, "model, shape or output shape is NULL");
    if (ndim != 2 + m->cfg.ndim)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; the model takes %d (N, C, H, "
                                        "W)", ndim, 2 + m->cfg.ndim);
    if (in[0] < 1 || in[0] > (1 << 20))
        return unet__fail(UNET_E_SHAPE, "batch size %lld is out of range [1, %d]",
                          (long long)in[0], 1 << 20);
    if (in[1] != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "input has %lld channel%s; the model takes %d",
                          (long long)in[1], UNET__PLURAL(in[1]), m->cfg.in_channels);
    out[0] = in[0];
    out[1] = m->cfg.out_channels;
    static const char *const names[] = {"height", "width"};
    for (int i = 2; i < ndim; i++) {
        int rc = check_axis(m, names[i - 2], in[i], &out[i]);
        if (rc != UNET_OK)
            return rc;
    }
    int64_t total;
    if (!unet__product(in, ndim, INT64_MAX / 64, &total) ||
        !unet__product(out, ndim, INT64_MAX / 64, &total))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)in[0], (long long)in[1], (long long)in[2],
                          (long long)in[3]);
    return UNET_OK;
}

UNET_API int unet_model_output_shape(const unet_model_t *m, int ndim, const int64_t *in_shape,
                                     int64_t *out_shape)
{
    unet__clear_error();
    int rc = check_shape(m, ndim, in_shape, out_shape);
    if (rc != UNET_OK && out_shape && ndim > 0 && ndim <= 4)
        memset(out_shape, 0, (size_t)ndim * sizeof *out_shape);
    return rc;
}

UNET_API int unet_model_fit_size(const unet_model_t *m, int64_t size, int64_t *input_size,
                                 int64_t *output_size)
{
    unet__clear_error();
    if (input_size)
        *input_size = 0;
    if (output_size)
        *output_size = 0;
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_fit_size: model is NULL");
    if (size < 1 || size > ((int64_t)1 << 31))
        return unet__fail(UNET_E_INVALID_ARG, "size %lld is out of range [1, 2^31]",
                          (long long)size);
    int64_t in = unet__graph_size_at_or_above(&m->graph, size), out = 0;
    if (in <= 0 || unet__graph_axis_size(&m->graph, in, &out, NULL) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "no accepted size at or above %lld", (long long)size);
    if (input_size)
        *input_size = in;
    if (output_size)
        *output_size = out;
    return UNET_OK;
}

UNET_API int unet_model_forward(const unet_model_t *m, const unet_predict_opts_t *opts,
                                const float *input, int ndim, const int64_t *shape,
                                float *output, size_t output_count)
{
    unet__clear_error();
    int64_t out_shape[4], in_count, out_count;
    if (!input || !output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_forward: input or output is NULL");
    if (ndim < 1 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; the model takes 4 (N, C, H, "
                                        "W)", ndim);
    int rc = check_shape(m, ndim, shape, out_shape);
    if (rc != UNET_OK)
        return rc;
    unet__product(shape, ndim, INT64_MAX, &in_count);
    unet__product(out_shape, ndim, INT64_MAX, &out_count);
    if ((int64_t)output_count != out_count)
        return unet__fail(UNET_E_SHAPE, "output buffer has %zu elements; the output shape "
                                        "%lld x %lld x %lld x %lld needs %lld",
                          output_count, (long long)out_shape[0], (long long)out_shape[1],
                          (long long)out_shape[2], (long long)out_shape[3],
                          (long long)out_count);
    for (int64_t i = 0; i < in_count; i++)
        if (!isfinite(input[i]))
            return unet__fail(UNET_E_INVALID_ARG, "input element %lld is %s", (long long)i,
                              isnan(input[i]) ? "NaN" : "infinite");
    /* Of the predict options, the thread count and the choice of convolutions apply. */
    return unet__model_forward(m, input, shape, output, opts ? opts->threads : 0,
                               opts && opts->precise);
}
