/* Whole-image TIFF reading and writing for callers that hold images in memory (the CLI's
 * overlays and measurements, label images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/budget.h"
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
    unet__tiff_reader *r;
    int rc = unet__tiff_open(path, &r);
    if (rc != UNET_OK)
        return rc;
    const unet__tiff_info *info = unet__tiff_reader_info(r);
    int64_t dims[3] = {info->channels, info->height, info->width};
    void *raw = NULL;
    size_t raw_bytes = 0;
    float *out = NULL;
    /* The whole page sits in memory twice (as stored, then as float32): its size is checked
     * against max_pixels and the memory budget before a byte of it is read. */
    char what[300];
    snprintf(what, sizeof what, "tiff '%.200s' (%lld x %lld)", path, (long long)info->height,
             (long long)info->width);
    rc = unet__check_max_pixels(unet__sat_mul3(1, info->height, info->width),
                                max_pixels ? max_pixels : UNET__WHOLE_IMAGE_MAX_PIXELS, what);
    uint64_t n = unet__sat_mul3(dims[0], dims[1], dims[2]);
    if (rc == UNET_OK)
        rc = unet__check_budget(unet__sat_mul(n, sizeof(float) + sizeof(double)), what, "");
    if (rc != UNET_OK)
        goto done;
    out = malloc((size_t)n * sizeof *out); /* released by unet_buffer_free (free) */
    if (!out) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory reading '%.200s'", path);
        goto done;
    }
    rc = unet__tiff_read_region_float(r, 0, 0, 0, info->height, info->width, &raw, &raw_bytes,
                                      out);
    if (rc != UNET_OK)
        goto done;
    memcpy(shape, dims, sizeof dims);
    *data = out;
    out = NULL;
done:
    unet__free_aligned(raw);
    free(out);
    unet__tiff_close(r);
    return rc;
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
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "image has %d dimensions; expected (H,W) or (C,H,W)",
                          ndim);
    if (flags & ~(UNET_TIFF_DEFLATE | UNET_TIFF_BIGTIFF))
        return unet__fail(UNET_E_INVALID_ARG, "unknown TIFF flags 0x%x", flags);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if (C > 65535)
        return unet__fail(UNET_E_SHAPE, "%lld channels are too many for a TIFF", (long long)C);
    unet__tiff_write_opts wo = {0};
    wo.deflate = flags & UNET_TIFF_DEFLATE;
    wo.force_bigtiff = flags & UNET_TIFF_BIGTIFF;
    wo.description = description;
    unet__tiff_writer *w;
    int rc = unet__tiff_writer_open(path, W, H, 1, (int)C, (unet_dtype_t)dtype, &wo, &w);
    if (rc != UNET_OK)
        return rc;
    rc = unet__tiff_write_rows(w, 0, 0, H, data); /* (C, H, W) is the rows' layout */
    if (rc != UNET_OK) {
        unet__tiff_writer_discard(w);
        return rc;
    }
    return unet__tiff_writer_close(w);
}
