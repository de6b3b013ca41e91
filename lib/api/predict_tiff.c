/* TIFF in, TIFF out: the streaming predictor fed by the TIFF region reader and drained into
 * the strip writer. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/files.h"
#include "core/dtype.h"
#include "core/status.h"
#include "api/tiff_source.h"
#include "io/tiff.h"
#include "model/model.h"
#include "predict/channels.h"
#include "predict/predict.h"

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

typedef struct tiff_sink {
    unet__tiff_writer *writer;
    int dtype, channels;
    double scale; /* applied before rounding to an integer type */
    void *scratch;
    size_t scratch_bytes;
} tiff_sink;

/* Round and clip to an integer type's range. */
static double to_range(double v, double max)
{
    v = nearbyint(v);
    return v < 0 ? 0 : v > max ? max : v;
}

static int write_tiff(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      const float *src)
{
    tiff_sink *s = user;
    (void)x; /* the engine writes whole rows: x is 0 and w the image width */
    if (s->dtype == UNET_F32)
        return unet__tiff_write_rows(s->writer, plane, y, h, src);
    int64_t n = s->channels * h * w;
    if (!unet__reserve_aligned(&s->scratch, &s->scratch_bytes,
                               (size_t)n * unet__dtype_size(s->dtype)))
        return unet__fail(UNET_E_NOMEM, "out of memory writing %lld rows", (long long)h);
    for (int64_t i = 0; i < n; i++) {
        double v = src[i] * s->scale;
        if (s->dtype == UNET_U8)
            ((uint8_t *)s->scratch)[i] = (uint8_t)to_range(v, 255);
        else
            ((uint16_t *)s->scratch)[i] = (uint16_t)to_range(v, 65535);
    }
    return unet__tiff_write_rows(s->writer, plane, y, h, s->scratch);
}

int unet__predict_into_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                            const unet__source *src, const unet__tiff_write_opts *wopts,
                            const char *output_path, unet_dtype_t output_dtype)
{
    tiff_sink out = {0};
    out.dtype = output_dtype;
    out.channels = m->cfg.out_channels;
    bool probabilities = m->cfg.final_activation != UNET__FINAL_NONE;
    out.scale = output_dtype == UNET_U8 && probabilities    ? 255.0
                : output_dtype == UNET_U16 && probabilities ? 65535.0
                                                            : 1.0;
    int rc = unet__tiff_writer_open(output_path, src->width, src->height, src->planes,
                                    m->cfg.out_channels, output_dtype, wopts, &out.writer);
    if (rc == UNET_OK) {
        unet__sink sink = {write_tiff, &out};
        rc = unet__predict_with_model(m, opts, src, &sink);
        if (rc == UNET_OK)
            rc = unet__tiff_writer_close(out.writer);
        else
            unet__tiff_writer_discard(out.writer);
    }
    unet__free_aligned(out.scratch);
    return rc;
}

int unet__predict_tiff_check(unet_dtype_t output_dtype, unsigned flags)
{
    if (output_dtype != UNET_F32 && output_dtype != UNET_U8 && output_dtype != UNET_U16)
        return unet__fail(UNET_E_INVALID_ARG, "output type %d is not UNET_F32, UNET_U8 or "
                                              "UNET_U16", output_dtype);
    if (flags & ~(UNET_TIFF_DEFLATE | UNET_TIFF_BIGTIFF))
        return unet__fail(UNET_E_INVALID_ARG, "unknown TIFF flags 0x%x", flags);
    return UNET_OK;
}

UNET_API int unet_predict_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                               const char *input_path, const char *output_path,
                               unet_dtype_t output_dtype, unsigned flags)
{
    unet__clear_error();
    if (!m || !input_path || !output_path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_tiff: model or path is NULL");
    int rc = unet__predict_tiff_check(output_dtype, flags);
    if (rc != UNET_OK)
        return rc;
    /* Same file by device and inode ("./in.tif", links), not by spelling; the output is
     * written beside its target and renamed into place, so a failure never touches it. */
    rc = unet__refuse_same_file(input_path, output_path);
    if (rc != UNET_OK)
        return rc;
    unet__tiff_source in;
    rc = unet__tiff_source_open(&in, input_path, opts);
    if (rc == UNET_OK) /* refused before the output file is started */
        rc = unet__channel_check(in.channels, m->cfg.in_channels, opts);
    if (rc == UNET_OK) {
        unet__tiff_write_opts wopts = {0};
        wopts.deflate = flags & UNET_TIFF_DEFLATE;
        wopts.force_bigtiff = flags & UNET_TIFF_BIGTIFF;
        if (in.info->has_resolution) {
            wopts.x_resolution = in.info->x_resolution;
            wopts.y_resolution = in.info->y_resolution;
            wopts.resolution_unit = in.info->resolution_unit;
        }
        unet__source src = {in.planes, in.channels, in.info->height, in.info->width,
                            unet__tiff_source_read, &in};
        rc = unet__predict_into_tiff(m, opts, &src, &wopts, output_path, output_dtype);
    }
    unet__tiff_source_close(&in);
    return rc;
}
