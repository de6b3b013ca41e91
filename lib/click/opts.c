/* Click options: a copy of the predict options, the instance options segment options have
 * too, the session's search limits and its scale, in one table. */
#include <stddef.h>
#include <string.h>

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
    {UNET__OPT_AT(C, diameter), .type = UNET__OPT_DOUBLE, .def = 0, .min = 1, .max = 1e5,
     .special = {{"auto", 0, true}},
     .help = "typical object diameter in image pixels: the scale becomes the model's "
             "training diameter / this (0 / auto: unknown; an explicit scale wins)"},
};

static const unet__opts_section click_sections[] = {
    {unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, offsetof(C, predict)},
    {unet__instance_opt_entries, UNET__INSTANCE_OPT_COUNT, offsetof(C, inst)},
    {click_entries, (int)(sizeof click_entries / sizeof click_entries[0]), 0},
};
const unet__opts_table unet__click_opts_table = {"click", click_sections, 3, sizeof(C)};

void unet__click_opts_defaults(C *o)
{
    memset(o, 0, sizeof *o);
    unet__predict_opts_defaults(&o->predict);
    unet__opts_defaults(&unet__click_opts_table, o);
}

void unet__click_opts_copy(C *dst, const C *src)
{
    for (int i = 0; i < 3; i++)
        unet__opts_copy(click_sections[i].opts, click_sections[i].count,
                        (char *)dst + click_sections[i].base,
                        (const char *)src + click_sections[i].base);
}
