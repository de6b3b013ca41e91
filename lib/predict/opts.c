/* Predict options: the key table, defaults, the normalisation setter, and progress reporting. */
#include <math.h>
#include <stddef.h>
#include <time.h>

#include "core/status.h"
#include "predict/predict.h"

#define MAX_TILE ((int64_t)1 << 20)

typedef struct unet_predict_opts P;

const unet__opt unet__predict_opt_entries[] = {
    {UNET__OPT_AT(P, threads), .type = UNET__OPT_INT, .def = 0, .min = 0, .max = 1024,
     .help = "threads for one call (0: all the CPUs the process may use)"},
    {UNET__OPT_AT(P, tile), .type = UNET__OPT_I64, .def = 0, .min = 1, .max = MAX_TILE,
     .special = {{"auto", 0, true}, {"whole", UNET_TILE_WHOLE, true}},
     .help = "tile core size in pixels, a multiple of the model's block multiple (0 / auto: "
             "from the image and a memory budget; -1 / whole: the whole image at once)"},
    {UNET__OPT_AT(P, halo), .type = UNET__OPT_I64, .def = -1, .min = 0, .max = MAX_TILE,
     .special = {{"auto", -1, true}},
     .help = "context read around each tile (-1 / auto: the model's); lowering it below the "
             "receptive field needs unsafe_halo"},
    {UNET__OPT_AT(P, unsafe_halo), .type = UNET__OPT_BOOL, .def = 0,
     .help = "allow a halo below the receptive-field margin (results then differ from "
             "whole-image prediction)"},
    {UNET__OPT_AT(P, blend), .type = UNET__OPT_I64, .def = 0, .min = 0, .max = MAX_TILE,
     .help = "pixels of sin^2 blending on each side of a tile seam (0: exact stitching)"},
    {UNET__OPT_AT(P, batch), .type = UNET__OPT_INT, .def = 1, .min = 1, .max = UNET__MAX_BATCH,
     .help = "tiles run through the network together"},
    {UNET__OPT_AT(P, border), .type = UNET__OPT_NAME, .def = UNET_BORDER_DEFAULT,
     .choices = "auto network reflect zero",
     .help = "how the canvas is padded (auto: network for same padding, else reflect)"},
    {UNET__OPT_AT(P, normalize), .type = UNET__OPT_NAME, .def = UNET_NORMALIZE_MODEL,
     .choices = "auto none zmuv percentile fixed",
     .help = "input normalisation (auto: the model's preprocessing metadata)"},
    {UNET__OPT_AT(P, norm_low), .type = UNET__OPT_DOUBLE, .def = 1, .min = 0, .max = 100,
     .help = "low percentile (normalize percentile)"},
    {UNET__OPT_AT(P, norm_high), .type = UNET__OPT_DOUBLE, .def = 99.8, .min = 0, .max = 100,
     .help = "high percentile (normalize percentile)"},
    {UNET__OPT_AT(P, norm_mean), .type = UNET__OPT_DOUBLE, .def = 0, .min = -1e30, .max = 1e30,
     .help = "mean subtracted (normalize fixed)"},
    {UNET__OPT_AT(P, norm_std), .type = UNET__OPT_DOUBLE, .def = 1, .min = 1e-30, .max = 1e30,
     .help = "standard deviation divided by (normalize fixed)"},
    {UNET__OPT_AT(P, precise), .type = UNET__OPT_BOOL, .def = 0,
     .help = "direct convolutions everywhere (no Winograd; slower, within ~1e-5 otherwise)"},
    {UNET__OPT_AT(P, tta), .type = UNET__OPT_BOOL, .def = 0,
     .help = "test-time augmentation: every tile's output averaged over its four flips (none, "
             "left-right, up-down, both; 4x the network time)"},
    {UNET__OPT_AT(P, max_pixels), .type = UNET__OPT_I64, .def = 0, .min = 1,
     .max = (double)((int64_t)1 << 62), .special = {{"auto", 0, true}},
     .help = "largest image a call accepts, in pixels (planes x height x width; 0 / auto: no "
             "limit where the image streams, 2^28 where it is held whole in memory: "
             "unet_tiff_read, the CLI's --overlay and --measure)"},
    {UNET__OPT_AT(P, channel), .type = UNET__OPT_I64, .def = -1, .min = 0, .max = 65535,
     .special = {{"auto", -1, true}},
     .help = "the image channel (0-based) a one-channel model reads (-1 / auto: the channel "
             "rule: colour gives its luminance, as many channels as the model takes are read "
             "as they are)"},
    {UNET__OPT_AT(P, pages), .type = UNET__OPT_NAME, .def = UNET__PAGES_PLANES,
     .choices = "planes channels",
     .help = "what the pages of a multi-page TIFF file are: planes (Z or T, each predicted "
             "or segmented alone) or channels"},
};
_Static_assert(sizeof unet__predict_opt_entries / sizeof unet__predict_opt_entries[0] ==
                   UNET__PREDICT_OPT_COUNT, "UNET__PREDICT_OPT_COUNT is the number of entries");

static const unet__opts_section sections[] = {
    {unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, 0, NULL},
};

void unet__predict_opts_init_flags(struct unet_predict_opts *o)
{
    atomic_init(&o->cancel, 0);
}

static void init_flags(void *o)
{
    unet__predict_opts_init_flags(o);
}

const unet__opts_table unet__predict_opts_table = {
    .what = "predict", .api = "unet_predict_opts", .sections = sections,
    .nsections = 1, UNET__OPTS_OBJECT(P), .init = init_flags,
};

void unet__predict_opts_defaults(struct unet_predict_opts *o)
{
    unet__opts_init(&unet__predict_opts_table, o);
}

void unet__predict_opts_norm_params(const struct unet_predict_opts *o, double *a, double *b)
{
    bool fixed = o->normalize == UNET_NORMALIZE_FIXED;
    *a = fixed ? o->norm_mean : o->norm_low;
    *b = fixed ? o->norm_std : o->norm_high;
}

int unet__predict_opts_check(const struct unet_predict_opts *o)
{
    if (o->normalize == UNET_NORMALIZE_PERCENTILE && !(o->norm_low < o->norm_high))
        return unet__fail(UNET_E_INVALID_ARG, "percentiles norm_low %g, norm_high %g must "
                                              "satisfy norm_low < norm_high",
                          o->norm_low, o->norm_high);
    return UNET_OK;
}

int unet__predict_opts_set_normalize(struct unet_predict_opts *o, unet_normalize_t mode,
                                     double a, double b)
{
    /* Checked as a whole first: the three keys change together or not at all. */
    switch (mode) {
    case UNET_NORMALIZE_MODEL:
    case UNET_NORMALIZE_NONE:
    case UNET_NORMALIZE_ZMUV:
        break;
    case UNET_NORMALIZE_PERCENTILE:
        if (!(a >= 0 && a < b && b <= 100))
            return unet__fail(UNET_E_INVALID_ARG, "percentiles low %g, high %g must satisfy 0 "
                                                  "<= low < high <= 100", a, b);
        o->norm_low = a;
        o->norm_high = b;
        break;
    case UNET_NORMALIZE_FIXED:
        if (!(isfinite(a) && fabs(a) <= 1e30) || !(b >= 1e-30 && b <= 1e30))
            return unet__fail(UNET_E_INVALID_ARG, "fixed normalisation needs a finite mean "
                                                  "and a std in [1e-30, 1e30] (got %g, %g)",
                              a, b);
        o->norm_mean = a;
        o->norm_std = b;
        break;
    default:
        return unet__fail(UNET_E_INVALID_ARG, "normalisation mode %d is not one of 0..4",
                          (int)mode);
    }
    o->normalize = mode;
    return UNET_OK;
}

int unet__predict_opts_set_halo(struct unet_predict_opts *o, int64_t halo, int unsafe)
{
    int rc = unet__opts_set_i64(&unet__predict_opts_table, o, "halo", halo);
    if (rc == UNET_OK)
        o->unsafe_halo = unsafe != 0;
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Calls the callback at most every 50 ms (and always when forced), never going backwards. */
int unet__progress_report(unet__progress *p, double fraction, const char *stage, bool force)
{
    const struct unet_predict_opts *o = p->opts;
    if (atomic_load(&((struct unet_predict_opts *)o)->cancel))
        return unet__fail(UNET_E_CANCELLED, "prediction cancelled");
    if (!o->progress)
        return UNET_OK;
    if (fraction < p->last_fraction)
        fraction = p->last_fraction;
    if (fraction >= 1.0 && !force)
        fraction = nextafter(1.0, 0.0); /* 1.0 is reserved for success */
    double t = now_seconds();
    if (!force && t - p->last_time < 0.05)
        return UNET_OK;
    p->last_time = t;
    p->last_fraction = fraction;
    if (o->progress(o->progress_user, fraction, stage) != 0)
        return unet__fail(UNET_E_CANCELLED, "prediction cancelled by the progress callback");
    return UNET_OK;
}
