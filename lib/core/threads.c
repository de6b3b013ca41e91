#include "core/threads.h"

#include <omp.h>

int unet__resolve_threads(int num_threads)
{
    if (num_threads <= 0)
        num_threads = omp_get_max_threads();
    return num_threads > UNET__MAX_THREADS ? UNET__MAX_THREADS : num_threads;
}
