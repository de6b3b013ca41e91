/* The public training options object: argument checks, then the key table of train/. */
#include <stdlib.h>

#include "core/status.h"
#include "train/train_opts.h"

typedef struct unet_train_opts T;

UNET_API int unet_train_opts_create(unet_train_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory for training options");
    unet__train_opts_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_train_opts_free(unet_train_opts_t *o)
{
    if (!o)
        return;
    free(o->json);
    free(o->describe);
    free(o);
}

UNET_API int unet_train_opts_set(unet_train_opts_t *o, const char *key, const char *value)
{
    unet__clear_error();
    if (!o || !key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set: NULL argument");
    return unet__train_opts_set(o, key, value);
}

UNET_API int unet_train_opts_set_json(unet_train_opts_t *o, const char *text)
{
    unet__clear_error();
    if (!o || !text)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set_json: NULL argument");
    return unet__opts_set_json(&unet__train_opts_table, o, text);
}

UNET_API int unet_train_opts_json(const unet_train_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_json: opts or json is NULL");
    /* The cache is not part of the options' value. */
    return unet__opts_json(&unet__train_opts_table, o, &((T *)o)->json, json);
}

UNET_API int unet_train_opts_describe(const unet_train_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_describe: opts or json is NULL");
    return unet__opts_describe(&unet__train_opts_table, &((T *)o)->describe, json);
}

UNET_API int unet_train_opts_set_progress(unet_train_opts_t *o, unet_train_progress_fn fn,
                                          void *user)
{
    unet__clear_error();
    if (!o)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set_progress: opts is NULL");
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}
