/* The shared argument checks of the exported calls (check.h). */
#include "api/check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/files.h"
#include "core/status.h"
#include "io/tiff.h"

#define MAX_AXIS ((int64_t)1 << 31)

int unet__check_ndim(const char *noun, const char *verb, int ndim, int max_ndim)
{
    if (ndim >= 2 && ndim <= max_ndim)
        return UNET_OK;
    return unet__fail(UNET_E_SHAPE, "%s %s %d dimensions; expected %s", noun, verb, ndim,
                      max_ndim == 4 ? "(H,W), (C,H,W) or (P,C,H,W)" : "(H,W) or (C,H,W)");
}

int unet__check_sizes(const char *noun, int n, const int64_t *sizes)
{
    for (int i = 0; i < n; i++)
        if (sizes[i] < 1 || sizes[i] > MAX_AXIS)
            return unet__fail(UNET_E_SHAPE, "%s dimension %d has size %lld (must be 1 to 2^31)",
                              noun, i, (long long)sizes[i]);
    return UNET_OK;
}

int unet__check_image(const char *noun, unet_dtype_t dtype, int ndim, const int64_t *shape,
                      int max_ndim, int64_t dims[4])
{
    int rc = unet__dtype_check(dtype);
    if (rc == UNET_OK)
        rc = unet__check_ndim(noun, "has", ndim, max_ndim);
    if (rc == UNET_OK)
        rc = unet__check_sizes(noun, ndim, shape);
    if (rc != UNET_OK)
        return rc;
    dims[0] = ndim == 4 ? shape[0] : 1;
    dims[1] = ndim >= 3 ? shape[ndim - 3] : 1;
    dims[2] = shape[ndim - 2];
    dims[3] = shape[ndim - 1];
    return UNET_OK;
}

int unet__check_tiff_output(unet_dtype_t output_dtype, unsigned flags)
{
    if (output_dtype != UNET_F32 && output_dtype != UNET_U8 && output_dtype != UNET_U16)
        return unet__fail(UNET_E_INVALID_ARG, "output type %d is not UNET_F32, UNET_U8 or "
                                              "UNET_U16", output_dtype);
    return unet__tiff_check_flags(flags);
}

int unet__check_tiff_files(const char *input_path, const char *output_path)
{
    /* Same file by device and inode ("./in.tif", links), not by spelling; the output is
     * written beside its target and renamed into place, so a failure never touches it. */
    return unet__refuse_same_file(input_path, output_path);
}

int unet__check_count(const char *what, size_t count, const int64_t *dims, int n)
{
    int64_t need = 0;
    bool fits = unet__product(dims, n, INT64_MAX, &need);
    if (fits && (uint64_t)count == (uint64_t)need)
        return UNET_OK;
    char sizes[128] = "";
    for (int i = 0; i < n; i++) {
        size_t used = strlen(sizes);
        snprintf(sizes + used, sizeof sizes - used, "%s%lld", i ? " x " : "",
                 (long long)dims[i]);
    }
    if (!fits) /* not reached: the callers' sizes fit */
        return unet__fail(UNET_E_SHAPE, "%s has %zu elements; %s needs more than 2^63", what,
                          count, sizes);
    return unet__fail(UNET_E_SHAPE, "%s has %zu elements; %s needs %lld", what, count, sizes,
                      (long long)need);
}
