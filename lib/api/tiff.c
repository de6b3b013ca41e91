/* The public TIFF calls for callers that hold images in memory (the CLI's overlays and
 * measurements, label images), and a file's sizes: argument checks, then io/. */
#include "api/check.h"
#include "core/budget.h"
#include "core/dtype.h"
#include "core/status.h"
#include "io/tiff.h"

UNET_API int unet_tiff_read_limited(const char *path, int64_t max_pixels, float **data,
                                    int64_t shape[3])
{
    unet__clear_error();
    if (data)
        *data = NULL;
    if (!path || !data || !shape)
        return unet__fail(UNET_E_INVALID_ARG, "unet_tiff_read: path, data or shape is NULL");
    if (max_pixels < 0)
        return unet__fail(UNET_E_INVALID_ARG, "max_pixels %lld is negative (0: the default "
                                              "%lld)",
                          (long long)max_pixels, (long long)UNET__WHOLE_IMAGE_MAX_PIXELS);
    return unet__tiff_read_whole(path, max_pixels, data, shape);
}

UNET_API int unet_tiff_read(const char *path, float **data, int64_t shape[3])
{
    return unet_tiff_read_limited(path, 0, data, shape);
}

UNET_API int unet_tiff_write(const char *path, const void *data, unet_dtype_t dtype, int ndim,
                             const int64_t *shape, unsigned flags)
{
    return unet_tiff_write_described(path, data, dtype, ndim, shape, flags, NULL);
}

UNET_API int unet_tiff_write_described(const char *path, const void *data, unet_dtype_t dtype,
                                       int ndim, const int64_t *shape, unsigned flags,
                                       const char *description)
{
    unet__clear_error();
    if (!path || !data || !shape)
        return unet__fail(UNET_E_INVALID_ARG, "unet_tiff_write: path, data or shape is NULL");
    if (description) { /* TIFF ASCII: 7-bit, no control characters but newlines and tabs */
        size_t n = 0;
        for (; description[n] && n <= 65536; n++)
            if ((unsigned char)description[n] > 126 ||
                ((unsigned char)description[n] < 32 && description[n] != '\n' &&
                 description[n] != '\t'))
                return unet__fail(UNET_E_INVALID_ARG, "unet_tiff_write: description byte %zu "
                                                      "(0x%02x) is not printable ASCII",
                                  n, (unsigned char)description[n]);
        if (n > 65536)
            return unet__fail(UNET_E_INVALID_ARG, "unet_tiff_write: description longer than "
                                                  "64 KiB");
    }
    int rc = unet__dtype_check(dtype);
    if (rc == UNET_OK)
        rc = unet__check_ndim("image", "has", ndim, 3);
    if (rc == UNET_OK)
        rc = unet__tiff_check_flags(flags);
    if (rc == UNET_OK)
        rc = unet__check_sizes("image", ndim, shape);
    if (rc != UNET_OK)
        return rc;
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if (C > 65535)
        return unet__fail(UNET_E_SHAPE, "%lld channels are too many for a TIFF", (long long)C);
    unet__tiff_write_opts wo;
    unet__tiff_write_opts_init(&wo, flags, NULL);
    wo.description = description;
    return unet__tiff_write_whole(path, data, dtype, C, H, W, &wo);
}

UNET_API int unet_tiff_info(const char *path, int64_t *planes, int64_t *channels,
                            int64_t *height, int64_t *width, unet_dtype_t *dtype)
{
    unet__clear_error();
    int64_t *outs[4] = {planes, channels, height, width};
    for (int i = 0; i < 4; i++)
        if (outs[i])
            *outs[i] = 0;
    if (dtype)
        *dtype = (unet_dtype_t)0;
    if (!path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_tiff_info: path is NULL");
    unet__tiff_reader *r;
    int rc = unet__tiff_open(path, &r);
    if (rc != UNET_OK)
        return rc;
    const unet__tiff_info *info = unet__tiff_reader_info(r);
    if (planes)
        *planes = info->pages;
    if (channels)
        *channels = info->channels;
    if (height)
        *height = info->height;
    if (width)
        *width = info->width;
    if (dtype)
        *dtype = (unet_dtype_t)info->dtype;
    unet__tiff_close(r);
    return UNET_OK;
}
