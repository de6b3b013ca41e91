/* The scale segmentation would resize an image by (segment/scale.h), of a stream, an image in
 * memory or a TIFF file: hosts show it, the CLI prints it and then passes it on, so the image
 * is measured once. */
#include "api/check.h"
#include "core/status.h"
#include "segment/pipeline.h"

/* A call's start: no message, outputs 0. */
static void begin(double *scale, double *diameter)
{
    unet__clear_error();
    if (scale)
        *scale = 0;
    if (diameter)
        *diameter = 0;
}

/* The outputs of a successful choice. */
static int answer(int rc, const unet__scale_choice *c, double *scale, double *diameter)
{
    if (rc != UNET_OK)
        return rc;
    *scale = c->scale;
    if (diameter)
        *diameter = c->diameter;
    return UNET_OK;
}

UNET_API int unet_segment_scale_stream(const unet_model_t *m, const unet_segment_opts_t *o,
                                       int64_t channels, int64_t height, int64_t width,
                                       unet_read_fn read, void *read_user, double *scale,
                                       double *diameter)
{
    begin(scale, diameter);
    if (!m || !read || !scale)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_scale_stream: model, read or scale "
                                              "is NULL");
    int64_t dims[3] = {channels, height, width};
    int rc = unet__check_sizes("image", 3, dims);
    if (rc != UNET_OK)
        return rc;
    unet__scale_choice c;
    rc = unet__segment_scale(m, o, channels, height, width, read, read_user, &c);
    return answer(rc, &c, scale, diameter);
}

UNET_API int unet_segment_scale(const unet_model_t *m, const unet_segment_opts_t *o,
                                const void *input, unet_dtype_t dtype, int ndim,
                                const int64_t *shape, double *scale, double *diameter)
{
    begin(scale, diameter);
    if (!m || !input || !shape || !scale)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_scale: model, input, shape or "
                                              "scale is NULL");
    int64_t d[4];
    int rc = unet__check_image("input", dtype, ndim, shape, 3, d);
    if (rc != UNET_OK)
        return rc;
    unet__memory_image im = {input, dtype, d[1], d[2], d[3]};
    unet__scale_choice c;
    rc = unet__segment_scale(m, o, d[1], d[2], d[3], unet__memory_read, &im, &c);
    return answer(rc, &c, scale, diameter);
}

UNET_API int unet_segment_scale_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                                     const char *input_path, double *scale,
                                     double *diameter)
{
    begin(scale, diameter);
    if (!m || !input_path || !scale)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_scale_tiff: model, path or scale "
                                              "is NULL");
    unet__scale_choice c;
    int rc = unet__segment_scale_tiff(m, o, input_path, &c);
    return answer(rc, &c, scale, diameter);
}
