/* Click options: a copy of the predict options, the instance options segment options have
 * too, the session's search limits and its scale, in one table. */
#include <stddef.h>

#include "click/click.h"

#define MAX_AXIS ((int64_t)1 << 31)

typedef struct unet_click_opts C;

static const unet__opt click_entries[] = {
    {UNET__OPT_AT(C, max_extent), .type = UNET__OPT_I64, .def = 1024, .min = 1, .max = MAX_AXIS,
     .help = "the largest window side searched for one object, at least the model's cell "
             "size (64 px for most models)"},
    {UNET__OPT_AT(C, first_window), .type = UNET__OPT_I64, .def = 192, .min = 1,
     .max = MAX_AXIS,
     .help = "side of the window predicted around a click on pixels not yet cached (rounded "
             "out to whole cells)"},
    {UNET__OPT_AT(C, scale), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0.05, .max = 20,
     .special = {{"auto", 0, true}},
     .help = "resize factor applied to the image, as for segment options (0 / auto: from "
             "the diameter, else estimated from the image when the model records its "
             "training diameter, once per session, else 1)"},
    UNET__SCALE_DIAMETER_OPT(C),
};

static const unet__opts_section click_sections[] = {
    {unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, offsetof(C, predict), "predict"},
    {unet__instance_opt_entries, UNET__INSTANCE_OPT_COUNT, offsetof(C, inst), NULL},
    UNET__OPTS_OWN(click_entries),
};

static void init_flags(void *o)
{
    unet__predict_opts_init_flags(&((C *)o)->predict);
}

const unet__opts_table unet__click_opts_table = {
    .what = "click", .api = "unet_click_opts", .sections = click_sections,
    .nsections = 3, UNET__OPTS_OBJECT(C), .init = init_flags,
};
