/* The thread count of a call: every entry point takes one (0 = all the OpenMP default). */
#ifndef UNET_CORE_THREADS_H
#define UNET_CORE_THREADS_H

/* The most threads one call uses (the documented range of the `threads` option). */
#define UNET__MAX_THREADS 1024

/* num_threads <= 0: omp_get_max_threads(); anything above UNET__MAX_THREADS is capped. */
int unet__resolve_threads(int num_threads);

#endif
