/* The element types images cross the API in (unet_dtype_t): their sizes and their conversion
 * to float / double, in one place for every reader (in-memory images, TIFF regions, training
 * data, click sessions). */
#ifndef UNET_CORE_DTYPE_H
#define UNET_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "unet.h"

/* Bytes per element; 0 for a value that is not a unet_dtype_t. */
size_t unet__dtype_size(int dtype);

/* UNET_OK, or UNET_E_INVALID_ARG with a message naming the value. */
int unet__dtype_check(int dtype);

/* Element i of `data` as double (exact for every type). */
static inline double unet__dtype_get(const void *data, int dtype, int64_t i)
{
    switch (dtype) {
    case UNET_U8: return ((const uint8_t *)data)[i];
    case UNET_U16: return ((const uint16_t *)data)[i];
    case UNET_I16: return ((const int16_t *)data)[i];
    case UNET_U32: return ((const uint32_t *)data)[i];
    case UNET_F32: return ((const float *)data)[i];
    default: return ((const double *)data)[i];
    }
}

/* Elements [first, first + n) of `data` converted to float into dst (rounded to nearest for
 * U32 and F64). */
void unet__dtype_to_float(const void *data, int dtype, int64_t first, int64_t n, float *dst);

#endif
