/* The public sample generator: options (seed, bits) and the image with its labels (the work is
 * in sample/). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "sample/nuclei.h"
#include "sample/opts.h"

typedef struct unet_sample_opts O;

UNET_API int unet_sample_opts_create(unet_sample_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating sample options");
    unet__opts_defaults(&unet__sample_opts_table, *out);
    return UNET_OK;
}

UNET_API void unet_sample_opts_free(unet_sample_opts_t *o)
{
    if (!o)
        return;
    free(o->json);
    free(o->describe);
    free(o);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "sample options are NULL");                  \
    } while (0)

UNET_API int unet_sample_opts_set(unet_sample_opts_t *o, const char *key, const char *value)
{
    CHECK_OPTS(o);
    if (!key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_set: key or value is NULL");
    return unet__opts_set_text(&unet__sample_opts_table, o, key, value);
}

UNET_API int unet_sample_opts_set_json(unet_sample_opts_t *o, const char *json_object)
{
    CHECK_OPTS(o);
    if (!json_object)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_set_json: json is NULL");
    return unet__opts_set_json(&unet__sample_opts_table, o, json_object);
}

UNET_API int unet_sample_opts_json(const unet_sample_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_json: opts or json is NULL");
    return unet__opts_json(&unet__sample_opts_table, o, &((O *)o)->json, json);
}

UNET_API int unet_sample_opts_describe(const unet_sample_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_describe: opts or json is "
                                              "NULL");
    return unet__opts_describe(&unet__sample_opts_table, &((O *)o)->describe, json);
}

UNET_API int unet_sample_opts_set_seed(unet_sample_opts_t *o, uint64_t seed)
{
    CHECK_OPTS(o);
    if (seed > ((uint64_t)1 << 53))
        return unet__fail(UNET_E_INVALID_ARG, "sample option seed = %llu is out of range [0, "
                                              "9007199254740992]", (unsigned long long)seed);
    return unet__opts_set_i64(&unet__sample_opts_table, o, "seed", (int64_t)seed);
}

UNET_API int unet_sample_nuclei(const unet_sample_opts_t *opts, int64_t height, int64_t width,
                                uint16_t *image, uint32_t *labels, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!image)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_nuclei: image is NULL");
    if (height < 16 || height > UNET__SAMPLE_MAX_SIZE || width < 16 ||
        width > UNET__SAMPLE_MAX_SIZE)
        return unet__fail(UNET_E_SHAPE, "sample size %lld x %lld: each side must be 16 to %d",
                          (long long)height, (long long)width, UNET__SAMPLE_MAX_SIZE);
    O defaults;
    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        unet__opts_defaults(&unet__sample_opts_table, &defaults);
        opts = &defaults;
    }
    size_t n = (size_t)height * (size_t)width;
    /* The generator numbers nuclei in 16 bits (at most 65535 fit in 8192^2). */
    uint16_t *lab16 = malloc(n * sizeof *lab16);
    if (!lab16)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld sample",
                          (long long)height, (long long)width);
    int count = 0;
    int rc = unet__sample_nuclei((int)width, (int)height, (uint64_t)opts->seed, opts->bits,
                                 image, lab16, &count);
    if (rc == UNET_OK && labels)
        for (size_t i = 0; i < n; i++)
            labels[i] = lab16[i];
    free(lab16);
    if (rc != UNET_OK)
        return unet__fail(rc, "out of memory for a %lld x %lld sample", (long long)height,
                          (long long)width);
    if (num_objects)
        *num_objects = (uint32_t)count;
    return UNET_OK;
}
