/* Loading and saving models (the file format is model/file.c). */
#include <stdlib.h>

#include "core/status.h"
#include "model/model.h"

UNET_API int unet_model_load_memory(const void *data, size_t size, const char *config_json,
                                    unet_model_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load_memory: data is NULL");
    return unet__model_parse(data, size, config_json, out);
}

static int load_path(const char *path, const char *config_json, unet_model_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load: out is NULL");
    *out = NULL;
    if (!path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load: path is NULL");
    return unet__model_read_file(path, config_json, out);
}

UNET_API int unet_model_load(const char *path, unet_model_t **out)
{
    return load_path(path, NULL, out);
}

UNET_API int unet_model_load_with_config(const char *path, const char *config_json,
                                         unet_model_t **out)
{
    if (!config_json) {
        unet__clear_error();
        if (out)
            *out = NULL;
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load_with_config: config is NULL");
    }
    return load_path(path, config_json, out);
}

UNET_API int unet_model_save_memory(const unet_model_t *m, void **data, size_t *size)
{
    unet__clear_error();
    if (data)
        *data = NULL;
    if (size)
        *size = 0;
    if (!m || !data || !size)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_save_memory: NULL argument");
    return unet__model_serialize(m, data, size);
}

UNET_API void unet_buffer_free(void *data)
{
    free(data);
}

UNET_API int unet_model_save(const unet_model_t *m, const char *path)
{
    unet__clear_error();
    if (!path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_save: path is NULL");
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_save: model is NULL");
    return unet__model_write_file(m, path);
}
