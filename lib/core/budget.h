/* Sizes that cannot wrap, and the memory one call may ask for. A size computed from a
 * caller's or a file's claims goes through these before anything is allocated from it: a
 * product that would overflow saturates to UINT64_MAX, which no budget admits, so "too large"
 * and "wrapped" are one refusal with one message. */
#ifndef UNET_CORE_BUDGET_H
#define UNET_CORE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "unet.h"

/* a * b and a + b, or UINT64_MAX when the result does not fit. */
static inline uint64_t unet__sat_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
static inline uint64_t unet__sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
/* a * b * c of non-negative counts, saturating. */
static inline uint64_t unet__sat_mul3(int64_t a, int64_t b, int64_t c)
{
    if (a < 0 || b < 0 || c < 0)
        return UINT64_MAX;
    return unet__sat_mul(unet__sat_mul((uint64_t)a, (uint64_t)b), (uint64_t)c);
}
/* a * b into *out; false (and *out untouched) when it overflows int64. */
static inline bool unet__mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* The whole-image reads' default pixel limit (option max_pixels "auto"): 2^28 pixels, 1 GiB
 * of float32 per channel. Streaming paths have none unless the caller sets one. */
#define UNET__WHOLE_IMAGE_MAX_PIXELS ((int64_t)UNET_MAX_PIXELS_WHOLE)

/* Bytes one call may allocate for its working memory: the machine's physical memory, lowered
 * by the process's RLIMIT_AS / RLIMIT_DATA when those are set. Asked each time (cheap), so no
 * state is kept. */
uint64_t unet__memory_budget(void);

/* UNET_OK when `bytes` fit the budget, else UNET_E_NOMEM with "<what> needs N MiB, more than
 * the memory budget of M MiB<hint>" (hint: "; use a smaller tile" or ""). */
int unet__check_budget(uint64_t bytes, const char *what, const char *hint);

/* UNET_OK when `pixels` <= max_pixels (max_pixels <= 0: no limit), else UNET_E_INVALID_ARG
 * naming the option: "<what> has N pixels, more than max_pixels (M); raise it with max_pixels
 * / --max-pixels". */
int unet__check_max_pixels(uint64_t pixels, int64_t max_pixels, const char *what);

#endif
