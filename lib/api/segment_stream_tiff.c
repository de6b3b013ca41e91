/* unet_segment_tiff: TIFF in, label TIFF out (segment/tiff.c), after the argument checks. */
#include "api/check.h"
#include "core/status.h"
#include "io/tiff.h"
#include "segment/pipeline.h"

UNET_API int unet_segment_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                               const char *input_path, const char *output_path, unsigned flags,
                               uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !input_path || !output_path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_tiff: model or path is NULL");
    int rc = unet__tiff_check_flags(flags);
    if (rc == UNET_OK)
        rc = unet__check_tiff_files(input_path, output_path);
    if (rc != UNET_OK)
        return rc;
    return unet__segment_tiff(m, o, input_path, output_path, flags, num_objects);
}
