/* The thread-local error message behind unet_last_error, set by unet__fail. */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define UNET__MSG_LEN 512

static _Thread_local char last_error[UNET__MSG_LEN];

const char *unet__last_error(void)
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
