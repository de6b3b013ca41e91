/* Status codes as text and this thread's last error message. */
#include "core/status.h"

UNET_API const char *unet_status_string(int status)
{
    switch (status) {
    case UNET_OK: return "ok";
    case UNET_E_INVALID_ARG: return "invalid argument";
    case UNET_E_IO: return "input/output error";
    case UNET_E_FORMAT: return "malformed file or document";
    case UNET_E_NOMEM: return "out of memory";
    case UNET_E_CANCELLED: return "cancelled";
    case UNET_E_UNSUPPORTED: return "unsupported";
    case UNET_E_SHAPE: return "shape not accepted";
    case UNET_E_INTERNAL: return "internal error";
    default: return "unknown status code";
    }
}

UNET_API const char *unet_last_error(void)
{
    return unet__last_error();
}
