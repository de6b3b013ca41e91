/* libFuzzer target for model files (safetensors container + libunet metadata + tensors):
 * unet_model_load_memory must either load a model that saves and reloads to the same bytes,
 * or fail with a known status and a message. Anything else traps.
 * With UNET_FUZZ_SEED_DIR set, start-up writes a few small valid models there as seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unet.h"

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void write_seed(const char *dir, const char *name, const char *config)
{
    unet_model_t *m;
    if (unet_model_create(config, 1, &m) != UNET_OK)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unet_model_save(m, path);
    unet_model_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("UNET_FUZZ_SEED_DIR");
    if (dir && *dir) {
        mkdir(dir, 0755);
        write_seed(dir, "tiny.unet", "{\"depth\":1,\"base_features\":1,\"block\":\"c\"}");
        write_seed(dir, "bn.unet", "{\"depth\":2,\"base_features\":2,\"block\":\"cbr\"}");
        write_seed(dir, "valid.unet", "{\"depth\":2,\"base_features\":2,\"padding\":\"valid\","
                                      "\"upsample\":\"bilinear\",\"upsample_conv\":true}");
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unet_model_t *m = NULL;
    int rc = unet_model_load_memory(data, size, NULL, &m);
    if (rc != UNET_OK) {
        require(m == NULL);
        require(rc == UNET_E_FORMAT || rc == UNET_E_UNSUPPORTED || rc == UNET_E_NOMEM);
        require(unet_last_error()[0] != '\0');
        return 0;
    }
    /* A file that loads saves to bytes that load again to the same bytes. */
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    require(unet_model_save_memory(m, &a, &na) == UNET_OK);
    unet_model_t *m2 = NULL;
    require(unet_model_load_memory(a, na, NULL, &m2) == UNET_OK);
    require(unet_model_save_memory(m2, &b, &nb) == UNET_OK);
    require(na == nb && memcmp(a, b, na) == 0);
    unet_buffer_free(a);
    unet_buffer_free(b);
    unet_model_free(m2);
    unet_model_free(m);
    return 0;
}
