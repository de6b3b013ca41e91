/* The post-processing options object behind unet_post_opts_t (table in post/opts.c). */
#ifndef UNET_POST_OPTS_H
#define UNET_POST_OPTS_H

#include <stdint.h>

#include "core/opts_table.h"

struct unet_post_opts {
    int threads;
    int connectivity;
    double threshold;
    int min_distance;
    int64_t min_size, max_size;
    char *json, *describe; /* cached strings returned to the caller */
};

extern const unet__opts_table unet__post_opts_table;

#endif
