/* The sample options object behind unet_sample_opts_t (table in sample/opts.c). */
#ifndef UNET_SAMPLE_OPTS_H
#define UNET_SAMPLE_OPTS_H

#include <stdint.h>

#include "core/opts_table.h"

struct unet_sample_opts {
    int64_t seed;
    int bits;
    char *json, *describe; /* cached strings returned to the caller */
};

extern const unet__opts_table unet__sample_opts_table;

#endif
