/* unet_predict_tiff: TIFF in, TIFF out (predict/tiff_out.c), after the argument checks. */
#include "api/check.h"
#include "core/status.h"
#include "predict/tiff_source.h"

UNET_API int unet_predict_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                               const char *input_path, const char *output_path,
                               unet_dtype_t output_dtype, unsigned flags)
{
    unet__clear_error();
    if (!m || !input_path || !output_path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_tiff: model or path is NULL");
    int rc = unet__check_tiff_output(output_dtype, flags);
    if (rc == UNET_OK)
        rc = unet__check_tiff_files(input_path, output_path);
    if (rc != UNET_OK)
        return rc;
    return unet__predict_tiff_file(m, opts, input_path, output_path, output_dtype, flags);
}
