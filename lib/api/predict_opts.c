/* The public predict options object: the calls of api/opts_api.h and two setters of
 * predict/ that set keys together. */
#include "api/opts_api.h"
#include "core/status.h"
#include "predict/predict.h"

static const unet__opts_table *const table = &unet__predict_opts_table;

UNET__OPTS_API(unet_predict_opts, table)
UNET__OPTS_SETTER(unet_predict_opts, table, threads, int, i64)
UNET__OPTS_SETTER(unet_predict_opts, table, border, unet_border_t, i64)
UNET__OPTS_SETTER(unet_predict_opts, table, tile, int64_t, i64)
UNET__OPTS_SETTER(unet_predict_opts, table, blend, int64_t, i64)
UNET__OPTS_SETTER(unet_predict_opts, table, batch, int, i64)
UNET__OPTS_SETTER(unet_predict_opts, table, precise, int, bool)
UNET__OPTS_SETTER(unet_predict_opts, table, max_pixels, int64_t, i64)
UNET__OPTS_PROGRESS(unet_predict_opts, table, unet_progress_fn)
UNET__OPTS_CANCEL(unet_predict_opts)

UNET_API int unet_predict_opts_set_normalize(unet_predict_opts_t *o, unet_normalize_t mode,
                                             double a, double b)
{
    int rc = unet__opts_api_check(table, o);
    return rc != UNET_OK ? rc : unet__predict_opts_set_normalize(o, mode, a, b);
}

UNET_API int unet_predict_opts_set_halo(unet_predict_opts_t *o, int64_t halo, int unsafe)
{
    int rc = unet__opts_api_check(table, o);
    return rc != UNET_OK ? rc : unet__predict_opts_set_halo(o, halo, unsafe);
}
