/* unet demo: the main job until a trained default model ships. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "synth.h"

static const char *const usage_demo =
    "usage: unet demo [--size N] [--threads N]\n"
    "Creates the default U-Net (depth 4, 32 base features, random weights), generates an\n"
    "N x N synthetic fluorescence-nuclei image (default 256), predicts it whole and prints\n"
    "what it did. Until a trained default model ships, the output is not a segmentation.\n";

int cmd_demo(int argc, char **argv)
{
    long long size = 256, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage_demo, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return cli_fail_usage("missing value for option", argv[i]);
        if (strcmp(argv[i], "--size") == 0) {
            if ((size = cli_parse_count(argv[++i], SYNTH_MAX_SIZE)) < 1)
                return cli_fail_usage("--size must be 1 to 8192", argv[i]);
        } else if (strcmp(argv[i], "--threads") == 0) {
            if ((threads = cli_parse_count(argv[++i], 1024)) < 0)
                return cli_fail_usage("--threads must be 0 to 1024", argv[i]);
        } else
            return cli_fail_usage("unknown option for demo", argv[i]);
    }
    unet_model_t *m;
    int rc = unet_model_create("{\"final_activation\": \"sigmoid\"}", 1, &m);
    if (rc != UNET_OK)
        return cli_fail_lib("demo", rc);
    rc = unet_model_set_metadata(m, "preprocessing",
                                 "{\"normalize\": \"percentile\", \"low\": 1, \"high\": 99.8}");
    size_t n = (size_t)size;
    uint16_t *img = malloc(n * n * sizeof *img);
    float *out = malloc(n * n * sizeof *out);
    unet_predict_opts_t *opts = NULL;
    if (rc == UNET_OK)
        rc = unet_predict_opts_create(&opts);
    if (rc == UNET_OK)
        rc = unet_predict_opts_set_threads(opts, (int)threads);
    if (rc != UNET_OK || !img || !out) {
        free(img);
        free(out);
        unet_predict_opts_free(opts);
        unet_model_free(m);
        return rc != UNET_OK ? cli_fail_lib("demo", rc) : cli_fail_usage("out of memory", NULL);
    }
    int nuclei = 0;
    if (synth_nuclei((int)n, (int)n, 7, 16, img, NULL, &nuclei) != 0) /* as `unet sample` */
        memset(img, 0, n * n * sizeof *img);
    printf("libunet %s demo\n", unet_version_string());
    printf("model: default U-Net, untrained (random He weights, seed 1)\n");
    cli_print_model(m);
    printf("image: %zu x %zu uint16, %d synthetic nuclei (unet sample --seed 7)\n", n, n, nuclei);
    int64_t shape[2] = {(int64_t)n, (int64_t)n};
    double t0 = cli_now_seconds();
    rc = unet_predict(m, opts, img, UNET_U16, 2, shape, out, n * n);
    double dt = cli_now_seconds() - t0;
    if (rc == UNET_OK) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < n * n; i++) {
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
            sum += out[i];
        }
        printf("predicted whole image (percentile normalisation 1-99.8, border 'network', "
               "reference engine) in %.3f s\n", dt);
        printf("output: %zu x %zu float32 probabilities, min %.4f, mean %.4f, max %.4f\n", n, n,
               lo, sum / (double)(n * n), hi);
    }
    free(img);
    free(out);
    unet_predict_opts_free(opts);
    unet_model_free(m);
    return rc == UNET_OK ? 0 : cli_fail_lib("demo", rc);
}

