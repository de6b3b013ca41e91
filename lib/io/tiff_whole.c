/* Whole TIFF images in memory (unet_tiff_read / unet_tiff_write: the CLI's overlays and
 * measurements, label images), and the public TIFF flags as write options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/budget.h"
#include "core/status.h"
#include "io/tiff.h"

int unet__tiff_check_flags(unsigned flags)
{
    if (flags & ~(UNET_TIFF_DEFLATE | UNET_TIFF_BIGTIFF))
        return unet__fail(UNET_E_INVALID_ARG, "unknown TIFF flags 0x%x", flags);
    return UNET_OK;
}

void unet__tiff_write_opts_init(unet__tiff_write_opts *wo, unsigned flags,
                                const unet__tiff_info *like)
{
    memset(wo, 0, sizeof *wo);
    wo->deflate = flags & UNET_TIFF_DEFLATE;
    wo->force_bigtiff = flags & UNET_TIFF_BIGTIFF;
    if (like && like->has_resolution) {
        wo->x_resolution = like->x_resolution;
        wo->y_resolution = like->y_resolution;
        wo->resolution_unit = like->resolution_unit;
    }
}

int unet__tiff_read_whole(const char *path, int64_t max_pixels, float **data, int64_t shape[3])
{
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

int unet__tiff_write_whole(const char *path, const void *data, unet_dtype_t dtype,
                           int64_t channels, int64_t height, int64_t width,
                           const unet__tiff_write_opts *wo)
{
    unet__tiff_writer *w;
    int rc = unet__tiff_writer_open(path, width, height, 1, (int)channels, dtype, wo, &w);
    if (rc != UNET_OK)
        return rc;
    rc = unet__tiff_write_rows(w, 0, 0, height, data); /* (C, H, W) is the rows' layout */
    if (rc != UNET_OK) {
        unet__tiff_writer_discard(w);
        return rc;
    }
    return unet__tiff_writer_close(w);
}
