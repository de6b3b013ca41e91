/* The public predict options object: argument checks, then the key table of predict/;
 * cancel is thread-safe. */
#include <stdlib.h>

#include "core/status.h"
#include "predict/predict.h"

typedef struct unet_predict_opts P;

UNET_API int unet_predict_opts_create(unet_predict_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating predict options");
    unet__predict_opts_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_predict_opts_free(unet_predict_opts_t *opts)
{
    if (!opts)
        return;
    free(opts->json);
    free(opts->describe);
    free(opts);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "predict options are NULL");                 \
    } while (0)

UNET_API int unet_predict_opts_set(unet_predict_opts_t *o, const char *key, const char *value)
{
    CHECK_OPTS(o);
    if (!key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_set: key or value is NULL");
    return unet__opts_set_text(&unet__predict_opts_table, o, key, value);
}

UNET_API int unet_predict_opts_set_json(unet_predict_opts_t *o, const char *json_object)
{
    CHECK_OPTS(o);
    if (!json_object)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_set_json: json is NULL");
    return unet__opts_set_json(&unet__predict_opts_table, o, json_object);
}

UNET_API int unet_predict_opts_json(const unet_predict_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_json: opts or json is NULL");
    /* The cache is not part of the options' value. */
    return unet__opts_json(&unet__predict_opts_table, o, &((P *)o)->json, json);
}

UNET_API int unet_predict_opts_describe(const unet_predict_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_describe: opts or json is "
                                              "NULL");
    return unet__opts_describe(&unet__predict_opts_table, &((P *)o)->describe, json);
}

UNET_API int unet_predict_opts_set_threads(unet_predict_opts_t *o, int num_threads)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "threads", num_threads);
}

UNET_API int unet_predict_opts_set_border(unet_predict_opts_t *o, unet_border_t border)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "border", (int64_t)border);
}

UNET_API int unet_predict_opts_set_normalize(unet_predict_opts_t *o, unet_normalize_t mode,
                                             double a, double b)
{
    CHECK_OPTS(o);
    return unet__predict_opts_set_normalize(o, mode, a, b);
}

UNET_API int unet_predict_opts_set_tile(unet_predict_opts_t *o, int64_t tile)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "tile", tile);
}

UNET_API int unet_predict_opts_set_halo(unet_predict_opts_t *o, int64_t halo, int unsafe)
{
    CHECK_OPTS(o);
    int rc = unet__opts_set_i64(&unet__predict_opts_table, o, "halo", halo);
    if (rc == UNET_OK)
        o->unsafe_halo = unsafe != 0;
    return rc;
}

UNET_API int unet_predict_opts_set_blend(unet_predict_opts_t *o, int64_t width)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "blend", width);
}

UNET_API int unet_predict_opts_set_batch(unet_predict_opts_t *o, int tiles_per_batch)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "batch", tiles_per_batch);
}

UNET_API int unet_predict_opts_set_precise(unet_predict_opts_t *o, int precise)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__predict_opts_table, o, "precise", precise != 0);
}

UNET_API int unet_predict_opts_set_progress(unet_predict_opts_t *o, unet_progress_fn fn,
                                            void *user)
{
    CHECK_OPTS(o);
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}

UNET_API int unet_predict_opts_cancel(unet_predict_opts_t *o)
{
    /* No error-message bookkeeping here: this may run on any thread at any time. */
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 1);
    return UNET_OK;
}

UNET_API int unet_predict_opts_reset_cancel(unet_predict_opts_t *o)
{
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 0);
    return UNET_OK;
}
