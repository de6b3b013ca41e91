/* unet_sample_nuclei's work (opts.h): the scene the options choose, generated at 16 bits of
 * labels and handed out as 32-bit labels. */
#include <stdlib.h>

#include "core/status.h"
#include "sample/nuclei.h"
#include "sample/opts.h"
#include "sample/wide.h"

int unet__sample_image(const struct unet_sample_opts *opts, int64_t height, int64_t width,
                       uint16_t *image, uint32_t *labels, uint32_t *num_objects)
{
    unet__sample_wide_opts wide;
    int rc = unet__sample_scene(opts, &wide);
    if (rc < 0)
        return rc;
    size_t n = (size_t)height * (size_t)width;
    /* The generator numbers nuclei in 16 bits (at most 65535 fit in 8192^2). */
    uint16_t *lab16 = malloc(n * sizeof *lab16);
    if (!lab16)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld sample",
                          (long long)height, (long long)width);
    int count = 0;
    if (rc == 1)
        rc = unet__sample_wide((int)width, (int)height, (uint64_t)opts->seed, opts->bits, &wide,
                               image, lab16, &count);
    else
        rc = unet__sample_nuclei((int)width, (int)height, (uint64_t)opts->seed, opts->bits,
                                 image, lab16, &count);
    if (rc == UNET_OK && labels)
        for (size_t i = 0; i < n; i++)
            labels[i] = lab16[i];
    free(lab16);
    if (rc != UNET_OK)
        return unet__fail(rc, "out of memory for a %lld x %lld sample", (long long)height,
                          (long long)width);
    *num_objects = (uint32_t)count;
    return UNET_OK;
}
