/* Segment options: a copy of the predict options, the instance options shared with click
 * sessions, and the segment entries (scale, pixel size, strips), in one table. */
#include <stddef.h>

#include "segment/pipeline.h"

#define MAX_ROWS ((int64_t)1 << 31)

typedef struct unet_segment_opts S;

static const unet__opt segment_entries[] = {
    {UNET__OPT_AT(S, scale), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0.05, .max = 20,
     .special = {{"auto", 0, true}},
     .help = "resize factor applied before prediction (0 / auto: from the diameter, else "
             "image pixel size / the model's pixel_size when both are known, else estimated "
             "from the image when the model records its training diameter, else 1)"},
    UNET__SCALE_DIAMETER_OPT(S),
    {UNET__OPT_AT(S, pixel_size), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1e30,
     .help = "the image's pixel size in the unit of the model's pixel_size (0: unknown)"},
    {UNET__OPT_AT(S, strip_rows), .type = UNET__OPT_I64, .def = 0, .min = 1, .max = MAX_ROWS,
     .special = {{"auto", 0, true}},
     .help = "rows per strip of the (scaled) image (0 / auto: about 4 Mpixels)"},
    {UNET__OPT_AT(S, strip_overlap), .type = UNET__OPT_I64, .def = 0, .min = 1,
     .max = MAX_ROWS, .special = {{"auto", 0, true}},
     .help = "rows of context between strips (0 / auto: 128); objects shorter are exact"},
};

static const unet__opts_section segment_sections[] = {
    {unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, offsetof(S, predict), "predict"},
    {unet__instance_opt_entries, UNET__INSTANCE_OPT_COUNT, offsetof(S, inst), NULL},
    UNET__OPTS_OWN(segment_entries),
};

static void init_flags(void *p)
{
    S *o = p;
    unet__predict_opts_init_flags(&o->predict);
    atomic_init(&o->cancel, 0);
}

const unet__opts_table unet__segment_opts_table = {
    .what = "segment", .api = "unet_segment_opts", .sections = segment_sections,
    .nsections = 3, UNET__OPTS_OBJECT(S), .init = init_flags,
};
