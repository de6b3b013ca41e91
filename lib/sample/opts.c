/* Sample options: the key table. */
#include <stddef.h>

#include "sample/opts.h"

typedef struct unet_sample_opts O;

static const unet__opt sample_entries[] = {
    {UNET__OPT_AT(O, seed), .type = UNET__OPT_I64, .def = 0, .min = 0,
     .max = 9007199254740992.0, .help = "the same seed (and size and bits) gives the same image"},
    {UNET__OPT_AT(O, bits), .type = UNET__OPT_INT, .def = 16, .choices = "8 16",
     .help = "the image's values lie in [0, 2^bits)"},
};
static const unet__opts_section sample_sections[] = {
    {sample_entries, (int)(sizeof sample_entries / sizeof sample_entries[0]), 0},
};
const unet__opts_table unet__sample_opts_table = {"sample", sample_sections, 1, sizeof(O)};
