/* Prediction of an image held in memory (any element type, (P, C, H, W)) into a float buffer
 * (P, out_channels, H, W): the region reader and writer the engine streams through. */
#include <string.h>

#include "core/dtype.h"
#include "predict/predict.h"

int unet__memory_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst)
{
    const unet__memory_image *im = user;
    for (int64_t c = 0; c < im->channels; c++)
        for (int64_t i = 0; i < h; i++) {
            int64_t base = ((plane * im->channels + c) * im->height + y + i) * im->width + x;
            float *row = dst + (c * h + i) * w;
            unet__dtype_to_float(im->data, im->dtype, base, w, row);
        }
    return 0;
}

typedef struct memory_output {
    float *data;
    int64_t channels, height, width;
} memory_output;

static int write_memory(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                        const float *src)
{
    const memory_output *out = user;
    for (int64_t c = 0; c < out->channels; c++)
        for (int64_t i = 0; i < h; i++)
            memcpy(out->data + ((plane * out->channels + c) * out->height + y + i) * out->width + x,
                   src + (c * h + i) * w, (size_t)w * sizeof(float));
    return 0;
}

int unet__predict_memory(const struct unet_model *m, const struct unet_predict_opts *opts,
                         const void *input, int dtype, int64_t planes, int64_t channels,
                         int64_t h, int64_t w, float *output)
{
    unet__memory_image im = {input, dtype, channels, h, w};
    memory_output out = {output, m->cfg.out_channels, h, w};
    unet__source src = {planes, channels, h, w, unet__memory_read, &im};
    unet__sink sink = {write_memory, &out};
    return unet__predict_with_model(m, opts, &src, &sink);
}
