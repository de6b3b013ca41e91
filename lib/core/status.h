/* Status codes and the thread-local error message. */
#ifndef UNET_CORE_STATUS_H
#define UNET_CORE_STATUS_H

#include "unet.h"

#if defined(__GNUC__)
#define UNET__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UNET__PRINTF(a, b)
#endif

/* "s" after a count that is not 1: "%d channel%s", n, UNET__PLURAL(n). */
#define UNET__PLURAL(n) ((n) == 1 ? "" : "s")

/* Record a formatted message for unet_last_error() on this thread and return `status`. */
int unet__fail(int status, const char *fmt, ...) UNET__PRINTF(2, 3);
/* Clear this thread's message (called at the start of every public entry point). */
void unet__clear_error(void);
/* This thread's message (unet_last_error). */
const char *unet__last_error(void);
/* Prefix the current message with "context: " (keeps the status). */
int unet__fail_context(int status, const char *context);

#endif
