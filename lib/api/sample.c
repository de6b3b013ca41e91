/* The public sample generator: options (seed, bits, scene and the wide scene's keys) and the
 * image with its labels (argument checks; the work is in sample/sample.c). */
#include "api/opts_api.h"
#include "core/status.h"
#include "sample/nuclei.h"
#include "sample/opts.h"

typedef struct unet_sample_opts O;

static const unet__opts_table *const table = &unet__sample_opts_table;

UNET__OPTS_API(unet_sample_opts, table)

UNET_API int unet_sample_opts_set_seed(unet_sample_opts_t *o, uint64_t seed)
{
    /* Checked as unsigned first: past INT64_MAX the key's check would see a negative seed. */
    int rc = unet__opts_api_check(table, o);
    if (rc == UNET_OK && seed > ((uint64_t)1 << 53))
        rc = unet__fail(UNET_E_INVALID_ARG, "sample option seed = %llu is out of range [0, "
                                            "9007199254740992]", (unsigned long long)seed);
    return rc != UNET_OK ? rc : unet__opts_set_i64(table, o, "seed", (int64_t)seed);
}

UNET_API int unet_sample_nuclei(const unet_sample_opts_t *opts, int64_t height, int64_t width,
                                uint16_t *image, uint32_t *labels, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!image)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_nuclei: image is NULL");
    if (height < 16 || height > UNET__SAMPLE_MAX_SIZE || width < 16 ||
        width > UNET__SAMPLE_MAX_SIZE)
        return unet__fail(UNET_E_SHAPE, "sample size %lld x %lld: each side must be 16 to %d",
                          (long long)height, (long long)width, UNET__SAMPLE_MAX_SIZE);
    O defaults;
    opts = unet__opts_or_defaults(table, opts, &defaults);
    uint32_t count = 0;
    int rc = unet__sample_image(opts, height, width, image, labels, &count);
    if (rc == UNET_OK && num_objects)
        *num_objects = count;
    return rc;
}
