/* The memory budget of one call and the max_pixels refusal (see budget.h). */
#include "core/budget.h"

#include <sys/resource.h>
#include <unistd.h>

#include "core/status.h"

uint64_t unet__memory_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t budget = pages > 0 && page > 0 ? unet__sat_mul((uint64_t)pages, (uint64_t)page)
                                            : UINT64_MAX;
    static const int limits[] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit rl;
        if (getrlimit(limits[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            (uint64_t)rl.rlim_cur < budget)
            budget = (uint64_t)rl.rlim_cur;
    }
    return budget;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

int unet__check_budget(uint64_t bytes, const char *what, const char *hint)
{
    uint64_t budget = unet__memory_budget();
    if (bytes <= budget)
        return UNET_OK;
    if (bytes == UINT64_MAX)
        return unet__fail(UNET_E_NOMEM, "%s needs more memory than can be counted (the memory "
                                        "budget is %.0f MiB)%s",
                          what, mib(budget), hint);
    return unet__fail(UNET_E_NOMEM, "%s needs %.0f MiB, more than the memory budget of %.0f MiB"
                                    "%s",
                      what, mib(bytes), mib(budget), hint);
}

int unet__check_max_pixels(uint64_t pixels, int64_t max_pixels, const char *what)
{
    if (max_pixels <= 0 || pixels <= (uint64_t)max_pixels)
        return UNET_OK;
    if (pixels == UINT64_MAX)
        return unet__fail(UNET_E_INVALID_ARG, "%s has more pixels than can be counted, more "
                                              "than max_pixels (%lld)", what,
                          (long long)max_pixels);
    return unet__fail(UNET_E_INVALID_ARG, "%s has %llu pixels, more than max_pixels (%lld); "
                                          "raise it with max_pixels / --max-pixels",
                      what, (unsigned long long)pixels, (long long)max_pixels);
}
