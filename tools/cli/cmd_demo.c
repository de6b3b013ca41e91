/* unet demo: the built-in model on a generated sample, with what it found and how well. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char *const usage_demo =
    "usage: unet demo [--size N] [--threads N]\n"
    "Generates an N x N synthetic fluorescence-nuclei image (default 256; as unet sample\n"
    "--seed 7), predicts it with the built-in model \"nuclei\", segments it and prints what it\n"
    "found, with the instance F1 against the image's true labels.\n";

int cmd_demo(int argc, char **argv)
{
    long long size = 256, threads = 0;
    int exit_code;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = cli_next_value(argc, argv, &i, usage_demo, &exit_code);
        if (!val)
            return exit_code;
        if (strcmp(opt, "--size") == 0) {
            if ((size = cli_parse_count(val, 8192)) < 16)
                return cli_fail_usage("--size must be 16 to 8192", val);
        } else if (strcmp(opt, "--threads") == 0) {
            if ((threads = cli_parse_count(val, 1024)) < 0)
                return cli_fail_usage("--threads must be 0 to 1024", val);
        } else
            return cli_fail_usage("unknown option for demo", opt);
    }
    size_t n = (size_t)size;
    uint16_t *img = malloc(n * n * sizeof *img);
    uint32_t *truth = malloc(n * n * sizeof *truth), *labels = malloc(n * n * sizeof *labels);
    float *prob = NULL; /* every output channel; the first is the foreground probability */
    int channels = 1;
    unet_model_t *m = NULL;
    unet_sample_opts_t *so = NULL;
    unet_segment_opts_t *seg = NULL;
    uint32_t nuclei = 0, found = 0;
    const char *what = "demo";
    int rc = img && truth && labels ? UNET_OK : UNET_E_NOMEM;
    if (rc == UNET_OK && (rc = unet_model_load_builtin("nuclei", &m)) != UNET_OK)
        what = "demo: built-in model";
    if (rc == UNET_OK && (rc = unet_model_out_channels(m, &channels)) == UNET_OK &&
        !(prob = malloc((size_t)channels * n * n * sizeof *prob)))
        rc = UNET_E_NOMEM;
    if (rc == UNET_OK)
        rc = unet_sample_opts_create(&so);
    if (rc == UNET_OK)
        rc = unet_sample_opts_set_seed(so, 7);
    if (rc == UNET_OK)
        rc = unet_sample_nuclei(so, size, size, img, truth, &nuclei);
    if (rc == UNET_OK)
        rc = unet_segment_opts_create(&seg);
    if (rc == UNET_OK)
        rc = unet_segment_opts_set_threads(seg, (int)threads);
    if (rc != UNET_OK)
        goto done;
    printf("libunet %s demo\n", unet_version_string());
    printf("model: built-in \"nuclei\"\n");
    cli_print_model(m);
    printf("image: %zu x %zu uint16, %u synthetic nuclei (unet sample --seed 7)\n", n, n, nuclei);
    int64_t shape[2] = {size, size};
    unet_predict_opts_t *po = NULL;
    double t0 = cli_now_seconds();
    rc = unet_predict_opts_create(&po);
    if (rc == UNET_OK)
        rc = unet_predict_opts_set_threads(po, (int)threads);
    if (rc == UNET_OK)
        rc = unet_predict(m, po, img, UNET_U16, 2, shape, prob, (size_t)channels * n * n);
    unet_predict_opts_free(po);
    double t1 = cli_now_seconds();
    if (rc == UNET_OK)
        rc = unet_segment(m, seg, img, UNET_U16, 2, shape, labels, n * n, &found);
    double t2 = cli_now_seconds();
    double f1 = 0;
    if (rc == UNET_OK)
        rc = unet_instance_f1(labels, truth, 2, shape, 0.5, &f1, NULL, NULL, NULL);
    if (rc == UNET_OK) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < n * n; i++) {
            lo = prob[i] < lo ? prob[i] : lo;
            hi = prob[i] > hi ? prob[i] : hi;
            sum += prob[i];
        }
        printf("predicted in %.3f s: %d x %zu x %zu float32 outputs, foreground probability min "
               "%.4f, mean %.4f, max %.4f\n", t1 - t0, channels, n, n, lo, sum / (double)(n * n),
               hi);
        printf("segmented in %.3f s: %u objects, instance F1 %.3f at IoU 0.5 against the true "
               "labels\n", t2 - t1, found, f1);
    }
done:
    free(img);
    free(truth);
    free(labels);
    free(prob);
    unet_sample_opts_free(so);
    unet_segment_opts_free(seg);
    unet_model_free(m);
    return rc == UNET_OK ? 0 : cli_fail_lib(what, rc);
}
