/* Sample options: the key table, and which scene they ask for. */
#include "sample/opts.h"

#include <math.h>
#include <stddef.h>

#include "core/status.h"

typedef struct unet_sample_opts O;

static const unet__opt sample_entries[] = {
    {UNET__OPT_AT(O, seed), .type = UNET__OPT_I64, .def = 0, .min = 0,
     .max = 9007199254740992.0, .help = "the same seed (and size and options) gives the same "
                                        "image"},
    {UNET__OPT_AT(O, bits), .type = UNET__OPT_INT, .def = 16, .choices = "8 12 16",
     .help = "the image's values lie in [0, 2^bits)"},
    {UNET__OPT_AT(O, scene), .type = UNET__OPT_NAME, .def = UNET__SCENE_AUTO,
     .choices = "auto classic wide",
     .help = "classic: the images the built-in model was trained on (nuclei 10-60 px; they "
             "never change); wide: nuclei of every size in [min_diameter, max_diameter], dense "
             "clusters, unlabelled out-of-focus nuclei and debris, uneven illumination, "
             "several textures per image; auto: wide when nuclei, min_diameter, max_diameter, "
             "clusters or background is set, else classic"},
    {UNET__OPT_AT(O, nuclei), .type = UNET__OPT_INT, .def = -1, .min = 0, .max = 65535,
     .special = {{"auto", -1, false}},
     .help = "how many nuclei to place (0: a field with no nuclei; auto: from a coverage of "
             "3-50% drawn per seed)"},
    {UNET__OPT_AT(O, min_diameter), .type = UNET__OPT_DOUBLE, .def = NAN, .min = 4,
     .max = 400, .special = {{"auto", NAN, false}},
     .help = "px: every nucleus whose label does not touch the image border has an "
             "equivalent diameter sqrt(4 area / pi) of at least this (auto: 8, or "
             "max_diameter - 1 when that is smaller)"},
    {UNET__OPT_AT(O, max_diameter), .type = UNET__OPT_DOUBLE, .def = NAN, .min = 4,
     .max = 400, .special = {{"auto", NAN, false}},
     .help = "px: no nucleus has an equivalent diameter above this; at least min_diameter "
             "+ 1 (auto: 90, or min_diameter + 1 when that is larger)"},
    {UNET__OPT_AT(O, clusters), .type = UNET__OPT_INT, .def = -1, .min = 0, .max = 16,
     .special = {{"auto", -1, false}},
     .help = "dense clusters of 50 or more touching nuclei each (fewer when nuclei is below "
             "50 per cluster or the image is full; auto: none, one or two per seed)"},
    {UNET__OPT_AT(O, background), .type = UNET__OPT_NAME, .def = UNET__BG_AUTO,
     .choices = "auto flat ramp haze debris noise",
     .help = "what lies around the nuclei, never labelled: flat (noise only), ramp (uneven "
             "illumination), haze (dim out-of-focus nuclei, diffuse clouds), debris (specks, "
             "clumps, fibres), noise (few photons, strong and correlated noise, hot pixels); "
             "auto: a mixture drawn per seed"},
};
static const unet__opts_section sample_sections[] = {UNET__OPTS_OWN(sample_entries)};
const unet__opts_table unet__sample_opts_table = {
    .what = "sample", .api = "unet_sample_opts", .sections = sample_sections,
    .nsections = 1, UNET__OPTS_OBJECT(O),
};

int unet__sample_scene(const O *o, unet__sample_wide_opts *w)
{
    int any = o->nuclei >= 0 || !isnan(o->min_diameter) || !isnan(o->max_diameter) ||
              o->clusters >= 0 || o->background != UNET__BG_AUTO;
    if (o->scene == UNET__SCENE_CLASSIC && any)
        return unet__fail(UNET_E_INVALID_ARG, "sample option scene = classic takes none of "
                                              "nuclei, min_diameter, max_diameter, clusters, "
                                              "background (they need scene wide or auto)");
    double lo = o->min_diameter, hi = o->max_diameter;
    /* Labels have whole pixel areas: a range narrower than 1 px may hold none. */
    if (!isnan(lo) && !isnan(hi) && !(hi >= lo + 1))
        return unet__fail(UNET_E_INVALID_ARG, "sample options min_diameter = %g and "
                                              "max_diameter = %g: the range must span at least "
                                              "1 px", lo, hi);
    if (o->nuclei == 0 && o->clusters > 0)
        return unet__fail(UNET_E_INVALID_ARG, "sample option clusters = %d needs nuclei: "
                                              "nuclei is 0", o->clusters);
    w->nuclei = o->nuclei;
    w->min_diameter = !isnan(lo) ? lo : !isnan(hi) && hi < 9 ? hi - 1 : 8;
    w->max_diameter = !isnan(hi) ? hi : w->min_diameter > 89 ? w->min_diameter + 1 : 90;
    w->clusters = o->clusters;
    w->background = o->background;
    return o->scene == UNET__SCENE_WIDE || any;
}
