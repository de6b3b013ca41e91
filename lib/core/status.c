#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define UNET__MSG_LEN 512

static _Thread_local char last_error[UNET__MSG_LEN];

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
    return last_error;
}

void unet__clear_error(void)
{
    last_error[0] = '\0';
}

int unet__fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

int unet__fail_context(int status, const char *context)
{
    char tmp[UNET__MSG_LEN];
    snprintf(tmp, sizeof tmp, "%.200s: %.300s", context, last_error);
    memcpy(last_error, tmp, sizeof tmp);
    return status;
}
