/* libFuzzer target: a fuzzed model file is loaded and, when it loads, predicts a small image,
 * so what the loader accepts is run as well as parsed: halo, block multiple, padding,
 * normalisation and output metadata, weights of any value. Every call must end UNET_OK or
 * with a known status and a message; a model that predicts once predicts the same bits again
 * (one thread). Anything else traps. With UNET_FUZZ_SEED_DIR set, start-up writes small valid
 * models of several architectures there; corpus/fuzz_predict holds what longer runs learned. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unet.h"

#define H 24
#define W 20
#define MAX_WINDOW 256 /* models needing larger windows for a 24 x 20 image are only loaded */

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int known_failure(int rc)
{
    return rc == UNET_E_FORMAT || rc == UNET_E_UNSUPPORTED || rc == UNET_E_NOMEM ||
           rc == UNET_E_INVALID_ARG || rc == UNET_E_SHAPE;
}

static void write_seed(const char *dir, const char *name, const char *config, const char *meta,
                       const char *value)
{
    unet_model_t *m;
    if (unet_model_create(config, 1, &m) != UNET_OK)
        return;
    if (meta)
        unet_model_set_metadata(m, meta, value);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unet_model_save(m, path);
    unet_model_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("UNET_FUZZ_SEED_DIR");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0755);
    write_seed(dir, "tiny.unet", "{\"depth\":1,\"base_features\":1,\"block\":\"c\"}", NULL, NULL);
    write_seed(dir, "bn_sigmoid.unet", "{\"depth\":2,\"base_features\":2,\"block\":\"cbr\","
               "\"final_activation\":\"sigmoid\"}", "preprocessing",
               "{\"normalize\":\"percentile\",\"low\":2,\"high\":98}");
    write_seed(dir, "valid_bilinear.unet", "{\"depth\":2,\"base_features\":2,\"padding\":"
               "\"valid\",\"upsample\":\"bilinear\",\"upsample_conv\":true}", "halo", "20");
    write_seed(dir, "gn_softmax.unet", "{\"depth\":2,\"base_features\":8,\"block\":\"cgl\","
               "\"in_channels\":2,\"out_channels\":3,\"final_activation\":\"softmax\","
               "\"downsample\":\"avgpool\",\"upsample\":\"nearest\"}", "preprocessing",
               "{\"normalize\":\"zmuv\"}");
    write_seed(dir, "elu_k5.unet", "{\"depth\":3,\"base_features\":2,\"kernel_size\":5,"
               "\"block\":\"cecd\"}", NULL, NULL);
    return 0;
}

/* A deterministic image with structure and a few extreme values. */
static void fill(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 37 % 101) - 50) * (i % 97 == 0 ? 1e6f : 0.1f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unet_model_t *m = NULL;
    int rc = unet_model_load_memory(data, size, NULL, &m);
    if (rc != UNET_OK) {
        require(m == NULL && known_failure(rc) && unet_last_error()[0] != '\0');
        return 0;
    }
    int in_c = 0, out_c = 0, halo = 0, block = 0;
    require(unet_model_in_channels(m, &in_c) == UNET_OK && in_c >= 1);
    require(unet_model_out_channels(m, &out_c) == UNET_OK && out_c >= 1);
    require(unet_model_halo(m, &halo) == UNET_OK && halo >= 0);
    require(unet_model_block_multiple(m, &block) == UNET_OK && block >= 1);
    int64_t window = 0;
    rc = unet_model_fit_size(m, H + 2 * (int64_t)halo, &window, NULL);
    if (rc != UNET_OK || window > MAX_WINDOW || block > MAX_WINDOW || in_c > 64 || out_c > 64) {
        require(rc == UNET_OK || (known_failure(rc) && unet_last_error()[0] != '\0'));
        unet_model_free(m);
        return 0;
    }
    const int64_t shape[3] = {in_c, H, W};
    const size_t n_in = (size_t)in_c * H * W, n_out = (size_t)out_c * H * W;
    float *in = malloc(n_in * sizeof *in);
    float *a = malloc(n_out * sizeof *a), *b = malloc(n_out * sizeof *b);
    unet_predict_opts_t *o = NULL;
    require(in && a && b && unet_predict_opts_create(&o) == UNET_OK);
    require(unet_predict_opts_set_threads(o, 1) == UNET_OK);
    fill(in, (int64_t)n_in);
    rc = unet_predict(m, o, in, UNET_F32, 3, shape, a, n_out);
    if (rc == UNET_OK) {
        require(unet_predict(m, o, in, UNET_F32, 3, shape, b, n_out) == UNET_OK);
        require(memcmp(a, b, n_out * sizeof *a) == 0);
    } else {
        require(known_failure(rc) && unet_last_error()[0] != '\0');
    }
    unet_predict_opts_free(o);
    free(in);
    free(a);
    free(b);
    unet_model_free(m);
    return 0;
}
