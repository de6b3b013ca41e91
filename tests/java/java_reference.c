/* Reference outputs of the C library for the Java binding's test: a synthetic nuclei image
 * (seed 7, 16-bit, 200 x 328), the built-in model's prediction of it and its segmentation,
 * all with threads = 2, written as raw little-endian files: image.u16, predict.f32,
 * labels.u32 (in the output folder given). The Java test runs the same calls through JNI on
 * the same image and compares every value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unet.h>

enum { H = 200, W = 328 };

static int write_file(const char *dir, const char *name, const void *data, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "java_reference: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static int fail(const char *what, int status)
{
    fprintf(stderr, "java_reference: %s: %s (%s)\n", what, unet_status_string(status),
            unet_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: java_reference OUTPUT_DIR\n");
        return 2;
    }
    static uint16_t image[H * W];
    static uint32_t labels[H * W];
    float *prob = NULL; /* every output channel of the model */
    int channels = 0;
    unet_sample_opts_t *sample = NULL;
    unet_predict_opts_t *popts = NULL;
    unet_segment_opts_t *sopts = NULL;
    unet_model_t *model = NULL;
    int st;
    uint32_t count = 0;
    const int64_t shape[2] = {H, W};
    if ((st = unet_sample_opts_create(&sample)) || (st = unet_sample_opts_set_seed(sample, 7)) ||
        (st = unet_sample_nuclei(sample, H, W, image, NULL, NULL)))
        return fail("sample", st);
    if ((st = unet_model_load_builtin("nuclei", &model)))
        return fail("built-in model", st);
    if ((st = unet_model_out_channels(model, &channels)))
        return fail("output channels", st);
    if (!(prob = malloc((size_t)channels * H * W * sizeof *prob)))
        return fail("predict", UNET_E_NOMEM);
    if ((st = unet_predict_opts_create(&popts)) || (st = unet_predict_opts_set_threads(popts, 2)) ||
        (st = unet_predict(model, popts, image, UNET_U16, 2, shape, prob,
                           (size_t)channels * H * W)))
        return fail("predict", st);
    if ((st = unet_segment_opts_create(&sopts)) || (st = unet_segment_opts_set_threads(sopts, 2)) ||
        (st = unet_segment(model, sopts, image, UNET_U16, 2, shape, labels, H * W, &count)))
        return fail("segment", st);
    int err = write_file(argv[1], "image.u16", image, sizeof image) ||
              write_file(argv[1], "predict.f32", prob, (size_t)channels * H * W * sizeof *prob) ||
              write_file(argv[1], "labels.u32", labels, sizeof labels);
    printf("%u objects\n", count);
    unet_segment_opts_free(sopts);
    unet_predict_opts_free(popts);
    unet_sample_opts_free(sample);
    unet_model_free(model);
    free(prob);
    return err;
}
