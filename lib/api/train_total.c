/* unet_trainer_set_total_steps: argument checks, then the trainer of train/. */
#include "core/status.h"
#include "train/trainer_internal.h"

UNET_API int unet_trainer_set_total_steps(unet_trainer_t *t, int64_t total_steps)
{
    unet__clear_error();
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_set_total_steps: trainer is NULL");
    if (total_steps < 1 || total_steps > 1000000000)
        return unet__fail(UNET_E_INVALID_ARG, "total steps %lld is out of range [1, 1e9]",
                          (long long)total_steps);
    unet__trainer_set_total(t, total_steps);
    return UNET_OK;
}
