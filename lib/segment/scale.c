/* The scale rules of segmentation and click-to-segment (scale.h). */
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "model/model.h"
#include "segment/scale.h"

int unet__scale_rules(const struct unet_model *m, const char *who, double scale,
                      double diameter, double pixel_size, unet__scale_choice *c)
{
    memset(c, 0, sizeof *c);
    c->model_diameter = unet__meta_number(m->output, "diameter", 0);
    if (!(c->model_diameter > 0 && c->model_diameter < 1e6))
        c->model_diameter = 0;
    double model_px = unet__meta_number(m->output, "pixel_size", 0);
    c->scale = 1;
    if (scale > 0) {
        c->scale = scale;
        c->from = UNET__SCALE_FROM_OPTION;
        c->diameter = diameter > 0 ? diameter : 0; /* recorded only */
    } else if (diameter > 0) {
        if (c->model_diameter <= 0)
            return unet__fail(UNET_E_INVALID_ARG, "%s option diameter = %g needs a model that "
                                                  "records its training diameter (output "
                                                  "metadata \"diameter\"); this one does not: "
                                                  "give the scale instead",
                              who, diameter);
        c->diameter = diameter;
        c->scale = c->model_diameter / diameter;
        c->from = UNET__SCALE_FROM_DIAMETER;
    } else if (pixel_size > 0 && model_px > 0) {
        c->scale = pixel_size / model_px;
        c->from = UNET__SCALE_FROM_PIXEL_SIZE;
    } else if (c->model_diameter > 0) {
        c->from = UNET__SCALE_FROM_ESTIMATE;
        c->pending = true;
    } else {
        c->from = UNET__SCALE_FROM_DEFAULT;
    }
    if (!(c->scale >= 0.05 && c->scale <= 20))
        return unet__fail(UNET_E_INVALID_ARG, "scale %g (from the %s options: scale %g, "
                                              "diameter %g, pixel size %g; model diameter %g, "
                                              "pixel size %g) is out of range [0.05, 20]",
                          c->scale, who, scale, diameter, pixel_size, c->model_diameter,
                          model_px);
    return UNET_OK;
}

int unet__scale_estimate(const unet__autoscale_job *job, unet__scale_choice *c)
{
    if (!c->pending)
        return UNET_OK;
    unet__autoscale a;
    int rc = unet__estimate_diameter(job, &a);
    if (rc != UNET_OK)
        return rc;
    c->pending = false;
    c->diameter = a.diameter;
    c->scale = unet__scale_for_diameter(c->model_diameter, a.diameter);
    return UNET_OK;
}

int unet__scale_describe(const unet__scale_choice *c, char *buf, size_t size)
{
    int n = snprintf(buf, size, "{\"libunet\":{\"scale\":%.6g", c->scale);
    if (n > 0 && (size_t)n < size && c->diameter > 0)
        n += snprintf(buf + n, size - (size_t)n, ",\"diameter\":%.6g", c->diameter);
    if (n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "}}");
    if (n < 0 || (size_t)n >= size)
        return unet__fail(UNET_E_INTERNAL, "scale description longer than %zu bytes", size);
    return UNET_OK;
}
