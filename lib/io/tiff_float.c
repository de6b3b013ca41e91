/* TIFF regions as float: the one conversion every reader of image files uses (prediction,
 * streamed segmentation, whole-image reads, training folders). */
#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "io/tiff.h"

int unet__tiff_read_region_float(unet__tiff_reader *r, int64_t page, int64_t y0, int64_t x0,
                                 int64_t h, int64_t w, void **scratch, size_t *scratch_bytes,
                                 float *dst)
{
    const unet__tiff_info *info = unet__tiff_reader_info(r);
    const int64_t n = (int64_t)info->channels * h * w;
    size_t bytes;
    if (n < 0 || !unet__mul_size((size_t)n, unet__dtype_size(info->dtype), &bytes) ||
        !unet__reserve_aligned(scratch, scratch_bytes, bytes))
        return unet__fail(UNET_E_NOMEM, "out of memory reading a %lld x %lld region",
                          (long long)h, (long long)w);
    int rc = unet__tiff_read_region(r, page, y0, x0, h, w, *scratch);
    if (rc != UNET_OK)
        return rc;
    unet__dtype_to_float(*scratch, info->dtype, 0, n, dst);
    return UNET_OK;
}
