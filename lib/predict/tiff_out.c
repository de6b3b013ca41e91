/* Predictions into new TIFF files (tiff_source.h): the streaming predictor drained into the
 * strip writer, fed by the TIFF region reader or by an image in memory. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"
#include "predict/channels.h"
#include "predict/tiff_source.h"

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

/* Predict `src` into a new TIFF at output_path (planes as pages, output channels as samples):
 * U8 / U16 scaled by 255 / 65535 when the model outputs probabilities; on failure no file is
 * left. */
static int predict_into_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
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

int unet__predict_tiff_file(const unet_model_t *m, const unet_predict_opts_t *opts,
                            const char *input_path, const char *output_path,
                            unet_dtype_t output_dtype, unsigned flags)
{
    unet__tiff_source in;
    int rc = unet__tiff_source_open(&in, input_path, opts);
    if (rc == UNET_OK) /* refused before the output file is started */
        rc = unet__channel_check(in.channels, m->cfg.in_channels, opts);
    if (rc == UNET_OK) {
        unet__tiff_write_opts wopts;
        unet__tiff_write_opts_init(&wopts, flags, in.info);
        wopts.threads = opts ? opts->threads : 0;
        unet__source src = {in.planes, in.channels, in.info->height, in.info->width,
                            unet__tiff_source_read, &in};
        rc = predict_into_tiff(m, opts, &src, &wopts, output_path, output_dtype);
    }
    unet__tiff_source_close(&in);
    return rc;
}

int unet__predict_memory_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                              const void *input, unet_dtype_t dtype, const int64_t dims[4],
                              const char *output_path, unet_dtype_t output_dtype,
                              unsigned flags)
{
    unet__memory_image im = {input, dtype, dims[1], dims[2], dims[3]};
    unet__source src = {dims[0], dims[1], dims[2], dims[3], unet__memory_read, &im};
    unet__tiff_write_opts wopts;
    unet__tiff_write_opts_init(&wopts, flags, NULL);
    wopts.threads = opts ? opts->threads : 0;
    return predict_into_tiff(m, opts, &src, &wopts, output_path, output_dtype);
}
