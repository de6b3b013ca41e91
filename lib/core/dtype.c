#include "core/dtype.h"

#include <string.h>

#include "core/status.h"

size_t unet__dtype_size(int dtype)
{
    switch (dtype) {
    case UNET_U8: return 1;
    case UNET_U16:
    case UNET_I16: return 2;
    case UNET_U32:
    case UNET_F32: return 4;
    case UNET_F64: return 8;
    default: return 0;
    }
}

int unet__dtype_check(int dtype)
{
    if (unet__dtype_size(dtype) == 0)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    return UNET_OK;
}

/* One loop per type, so that each vectorises. */
void unet__dtype_to_float(const void *data, int dtype, int64_t first, int64_t n, float *dst)
{
    switch (dtype) {
    case UNET_U8: {
        const uint8_t *s = (const uint8_t *)data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = s[i];
        break;
    }
    case UNET_U16: {
        const uint16_t *s = (const uint16_t *)data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = s[i];
        break;
    }
    case UNET_I16: {
        const int16_t *s = (const int16_t *)data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = s[i];
        break;
    }
    case UNET_U32: {
        const uint32_t *s = (const uint32_t *)data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = (float)s[i];
        break;
    }
    case UNET_F32:
        memcpy(dst, (const float *)data + first, (size_t)n * sizeof *dst);
        break;
    default: {
        const double *s = (const double *)data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = (float)s[i];
        break;
    }
    }
}
