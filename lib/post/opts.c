/* Post-processing options: the key table. */
#include <stddef.h>

#include "post/opts.h"

typedef struct unet_post_opts O;

static const unet__opt post_entries[] = {
    {UNET__OPT_AT(O, threads), .type = UNET__OPT_INT, .def = 0, .min = 0, .max = 1024,
     .help = "threads for one call (0: all the CPUs the process may use)"},
    {UNET__OPT_AT(O, connectivity), .type = UNET__OPT_INT, .def = 0, .choices = "0 4 8 6 18 26",
     .help = "neighbours that connect: 4 or 8 in 2-D, 6, 18 or 26 in 3-D (0: 4 / 6)"},
    {UNET__OPT_AT(O, threshold), .type = UNET__OPT_DOUBLE, .def = 0.5, .min = 0, .max = 1,
     .help = "foreground is probability > threshold"},
    {UNET__OPT_AT(O, min_distance), .type = UNET__OPT_INT, .def = 4, .min = 1, .max = 1000,
     .help = "pixels between peaks (watershed seeds)"},
    {UNET__OPT_AT(O, min_size), .type = UNET__OPT_I64, .def = 0, .min = 0, .max = 2147483648.0,
     .help = "objects of fewer pixels are removed (unet_filter_sizes)"},
    {UNET__OPT_AT(O, max_size), .type = UNET__OPT_I64, .def = 0, .min = 0,
     .max = 4611686018427387904.0,
     .help = "objects of more pixels are removed (0: no limit; unet_filter_sizes)"},
};
static const unet__opts_section post_sections[] = {UNET__OPTS_OWN(post_entries)};
const unet__opts_table unet__post_opts_table = {
    .what = "post-processing", .api = "unet_post_opts", .sections = post_sections,
    .nsections = 1, UNET__OPTS_OBJECT(O),
};
