/* The public sample generator: options (seed, bits, scene and the wide scene's keys) and the
 * image with its labels (the work is in sample/). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts_table.h"
#include "core/status.h"
#include "sample/nuclei.h"
#include "sample/wide.h"

struct unet_sample_opts {
    int64_t seed;
    int bits;
    int scene;      /* SCENE_* */
    int nuclei;     /* -1: auto */
    double min_diameter, max_diameter; /* NAN: auto */
    int clusters;   /* -1: auto */
    int background; /* UNET__BG_* (the choices below are in that order) */
    char *json, *describe; /* cached strings returned to the caller */
};

typedef struct unet_sample_opts O;

enum { SCENE_AUTO, SCENE_CLASSIC, SCENE_WIDE };

static const unet__opt sample_entries[] = {
    {UNET__OPT_AT(O, seed), .type = UNET__OPT_I64, .def = 0, .min = 0,
     .max = 9007199254740992.0, .help = "the same seed (and size and options) gives the same "
                                        "image"},
    {UNET__OPT_AT(O, bits), .type = UNET__OPT_INT, .def = 16, .choices = "8 12 16",
     .help = "the image's values lie in [0, 2^bits)"},
    {UNET__OPT_AT(O, scene), .type = UNET__OPT_NAME, .def = SCENE_AUTO,
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
static const unet__opts_section sample_sections[] = {
    {sample_entries, (int)(sizeof sample_entries / sizeof sample_entries[0]), 0},
};
static const unet__opts_table sample_table = {"sample", sample_sections, 1, sizeof(O)};

UNET_API int unet_sample_opts_create(unet_sample_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating sample options");
    unet__opts_defaults(&sample_table, *out);
    return UNET_OK;
}

UNET_API void unet_sample_opts_free(unet_sample_opts_t *o)
{
    if (!o)
        return;
    free(o->json);
    free(o->describe);
    free(o);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "sample options are NULL");                  \
    } while (0)

UNET_API int unet_sample_opts_set(unet_sample_opts_t *o, const char *key, const char *value)
{
    CHECK_OPTS(o);
    if (!key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_set: key or value is NULL");
    return unet__opts_set_text(&sample_table, o, key, value);
}

UNET_API int unet_sample_opts_set_json(unet_sample_opts_t *o, const char *json_object)
{
    CHECK_OPTS(o);
    if (!json_object)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_set_json: json is NULL");
    return unet__opts_set_json(&sample_table, o, json_object);
}

UNET_API int unet_sample_opts_json(const unet_sample_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_json: opts or json is NULL");
    return unet__opts_json(&sample_table, o, &((O *)o)->json, json);
}

UNET_API int unet_sample_opts_describe(const unet_sample_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_opts_describe: opts or json is "
                                              "NULL");
    return unet__opts_describe(&sample_table, &((O *)o)->describe, json);
}

UNET_API int unet_sample_opts_set_seed(unet_sample_opts_t *o, uint64_t seed)
{
    CHECK_OPTS(o);
    if (seed > ((uint64_t)1 << 53))
        return unet__fail(UNET_E_INVALID_ARG, "sample option seed = %llu is out of range [0, "
                                              "9007199254740992]", (unsigned long long)seed);
    return unet__opts_set_i64(&sample_table, o, "seed", (int64_t)seed);
}

/* The wide scene's options with auto resolved: 1 for the wide scene, 0 for the classic one,
 * or an error (set) when the keys contradict each other. */
static int wide_opts(const O *o, unet__sample_wide_opts *w)
{
    int any = o->nuclei >= 0 || !isnan(o->min_diameter) || !isnan(o->max_diameter) ||
              o->clusters >= 0 || o->background != UNET__BG_AUTO;
    if (o->scene == SCENE_CLASSIC && any)
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
    return o->scene == SCENE_WIDE || any;
}

UNET_API int unet_sample_nuclei(const unet_sample_opts_t *opts, int64_t height, int64_t width,
                                uint16_t *image, uint32_t *labels, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!image)
        return unet__fail(UNET_E_INVALID_ARG, "unet_sample_nuclei: image is NULL");
    if (height < 16 || height > UNET__SAMPLE_MAX_SIZE || width < 16 ||
        width > UNET__SAMPLE_MAX_SIZE)
        return unet__fail(UNET_E_SHAPE, "sample size %lld x %lld: each side must be 16 to %d",
                          (long long)height, (long long)width, UNET__SAMPLE_MAX_SIZE);
    O defaults;
    if (!opts) {
        memset(&defaults, 0, sizeof defaults);
        unet__opts_defaults(&sample_table, &defaults);
        opts = &defaults;
    }
    unet__sample_wide_opts wide;
    int rc = wide_opts(opts, &wide);
    if (rc < 0)
        return rc;
    size_t n = (size_t)height * (size_t)width;
    /* The generator numbers nuclei in 16 bits (at most 65535 fit in 8192^2). */
    uint16_t *lab16 = malloc(n * sizeof *lab16);
    if (!lab16)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld sample",
                          (long long)height, (long long)width);
    int count = 0;
    if (rc == 1)
        rc = unet__sample_wide((int)width, (int)height, (uint64_t)opts->seed, opts->bits, &wide,
                               image, lab16, &count);
    else
        rc = unet__sample_nuclei((int)width, (int)height, (uint64_t)opts->seed, opts->bits,
                                 image, lab16, &count);
    if (rc == UNET_OK && labels)
        for (size_t i = 0; i < n; i++)
            labels[i] = lab16[i];
    free(lab16);
    if (rc != UNET_OK)
        return unet__fail(rc, "out of memory for a %lld x %lld sample", (long long)height,
                          (long long)width);
    if (num_objects)
        *num_objects = (uint32_t)count;
    return UNET_OK;
}
