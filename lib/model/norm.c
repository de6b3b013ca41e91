/* The normalisation a prediction uses (see model.h): the caller's, or the model's metadata. */
#include <string.h>

#include "model/model.h"

unet__norm unet__model_norm(const struct unet_model *m, int mode, double a, double b)
{
    unet__norm n = {mode, a, b, 1e-6};
    if (n.mode != UNET_NORMALIZE_MODEL)
        return n;
    n.mode = UNET_NORMALIZE_NONE;
    json_t *pp = m->preprocessing;
    const char *name = pp ? json_string_value(json_object_get(pp, "normalize")) : NULL;
    if (!name)
        return n;
    if (strcmp(name, "zmuv") == 0) {
        n.mode = UNET_NORMALIZE_ZMUV;
        if (json_object_get(pp, "eps"))
            n.eps = json_number_value(json_object_get(pp, "eps"));
    } else if (strcmp(name, "percentile") == 0) {
        n.mode = UNET_NORMALIZE_PERCENTILE;
        n.a = json_object_get(pp, "low") ? json_number_value(json_object_get(pp, "low")) : 1.0;
        n.b = json_object_get(pp, "high") ? json_number_value(json_object_get(pp, "high")) : 99.8;
    } else if (strcmp(name, "fixed") == 0) {
        n.mode = UNET_NORMALIZE_FIXED;
        n.a = json_number_value(json_object_get(pp, "mean"));
        n.b = json_number_value(json_object_get(pp, "std"));
    }
    return n;
}
