/* The border mode and halo of a prediction (see model.h): the tiled engine and click sessions
 * both call this, so that a click window reproduces the whole-image prediction exactly. */
#include "core/status.h"
#include "model/model.h"

int unet__resolve_edges(bool same_padding, int model_halo, int margin, int border,
                        int64_t halo, bool unsafe, int *border_out, int64_t *halo_out)
{
    if (border == UNET_BORDER_DEFAULT)
        border = same_padding ? UNET_BORDER_NETWORK : UNET_BORDER_REFLECT;
    if (border == UNET_BORDER_NETWORK && !same_padding)
        return unet__fail(UNET_E_INVALID_ARG, "border mode 'network' needs a same-padding "
                                              "model; use 'reflect' or 'zero'");
    if (halo < 0) {
        halo = model_halo;
    } else {
        if (!same_padding && halo != model_halo)
            return unet__fail(UNET_E_INVALID_ARG, "a valid-padding model's halo is fixed at %d "
                                                  "px (asked for %lld)",
                              model_halo, (long long)halo);
        if (halo < margin && !unsafe)
            return unet__fail(UNET_E_INVALID_ARG, "halo %lld is below the model's "
                                                  "receptive-field margin %d: tiles would "
                                                  "differ from whole-image prediction (allow "
                                                  "it explicitly with the unsafe flag)",
                              (long long)halo, margin);
    }
    *border_out = border;
    *halo_out = halo;
    return UNET_OK;
}
