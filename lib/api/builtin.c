/* Built-in models: model files compiled into libunet.so at build time (tools/embed_model.py,
 * meson option default_model), loaded from memory by name so no host ships a model file. */
#include <string.h>

#include "core/status.h"

#ifdef UNET_BUILTIN_NUCLEI
extern const unsigned char unet__builtin_nuclei[];
extern const size_t unet__builtin_nuclei_size;
static const char *const names[] = {"nuclei"};
static const unsigned char *const data[] = {unet__builtin_nuclei};
static const size_t *const sizes[] = {&unet__builtin_nuclei_size};
#define COUNT 1
#else
static const char *const names[] = {NULL};
#define COUNT 0
#endif

UNET_API int unet_model_builtin_names(const char *const **out, size_t *count)
{
    unet__clear_error();
    if (out)
        *out = NULL;
    if (count)
        *count = 0;
    if (!out || !count)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_builtin_names: names or count is "
                                              "NULL");
    *out = names;
    *count = COUNT;
    return UNET_OK;
}

UNET_API int unet_model_load_builtin(const char *name, unet_model_t **out)
{
    unet__clear_error();
    if (out)
        *out = NULL;
    if (!name || !out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_model_load_builtin: name or out is NULL");
#if COUNT == 0
    return unet__fail(UNET_E_UNSUPPORTED, "this libunet was built without built-in models "
                                          "(meson option default_model); cannot load '%.60s'",
                      name);
#else
    for (int i = 0; i < COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return unet_model_load_memory(data[i], *sizes[i], NULL, out);
    char known[256] = "";
    for (int i = 0; i < COUNT; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, names[i], sizeof known - strlen(known) - 1);
    }
    return unet__fail(UNET_E_INVALID_ARG, "unknown built-in model '%.60s' (known: %s)", name,
                      known);
#endif
}
