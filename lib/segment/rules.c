/* How a model's output becomes instances: the rules of its `output` metadata, shared by
 * unet_segment (segment/pipeline.c) and click-to-segment (click/session.c). See segment.h. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/status.h"
#include "model/model.h"
#include "segment/segment.h"

double unet__meta_number(const json_t *output, const char *key, double fallback)
{
    json_t *v = output ? json_object_get(output, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : fallback;
}

bool unet__meta_is(const json_t *output, const char *key, const char *value)
{
    const char *s = output ? json_string_value(json_object_get(output, key)) : NULL;
    return s && strcmp(s, value) == 0;
}

int unet__seg_rules_from_model(const struct unet_model *m, const char *who, unet__seg_rules *r)
{
    const json_t *out = m->output;
    memset(r, 0, sizeof *r);
    if (unet__meta_is(out, "task", "restoration"))
        return unet__fail(UNET_E_UNSUPPORTED, "the model restores images (output task "
                                              "'restoration'); %s needs a foreground, "
                                              "3-class or distance model", who);
    const int C = m->cfg.out_channels;
    if (C == 1) {
        r->kind = UNET__SEG_PROB;
        r->logits = m->cfg.final_activation == UNET__FINAL_NONE &&
                    !unet__meta_is(out, "type", "probability");
    } else if (C == 3 && (unet__meta_is(out, "target", "3class") ||
                          unet__meta_is(out, "type", "3class") ||
                          (!unet__meta_is(out, "target", "classes") &&
                           m->cfg.final_activation == UNET__FINAL_SOFTMAX))) {
        r->kind = UNET__SEG_3CLASS;
    } else if (C == 2 && unet__meta_is(out, "target", "distance")) {
        r->kind = UNET__SEG_DISTANCE;
        r->logits = m->cfg.final_activation == UNET__FINAL_NONE;
    } else {
        const char *target = out ? json_string_value(json_object_get(out, "target")) : NULL;
        return unet__fail(UNET_E_UNSUPPORTED, "a model with %d output channels (output target "
                                              "'%s') cannot give instances: %s needs 1 "
                                              "foreground, 3 class (3class) or 2 distance "
                                              "(distance) channels",
                          C, target ? target : "unset", who);
    }
    r->threshold = unet__meta_number(out, "threshold", 0.5);
    r->min_distance = unet__meta_number(out, "min_distance", 4);
    r->min_size = unet__meta_number(out, "min_size", 16);
    r->seed_level = unet__meta_number(out, "seed_level", 0.5);
    r->components = unet__meta_is(out, "instances", "components");
    return UNET_OK;
}

int unet__seg_rules_check(double threshold, double min_distance, double min_size)
{
    if (!(threshold >= 0 && threshold <= 1) || !(min_distance >= 1 && min_distance <= 1000) ||
        !(min_size >= 0 && min_size <= 2147483648.0))
        return unet__fail(UNET_E_FORMAT, "model output metadata: threshold %g, min_distance %g "
                                         "or min_size %g out of range",
                          threshold, min_distance, min_size);
    return UNET_OK;
}

typedef unet__instance_opts I;

const unet__opt unet__instance_opt_entries[] = {
    {UNET__OPT_AT(I, threshold), .type = UNET__OPT_DOUBLE, .def = NAN, .min = 0, .max = 1,
     .special = {{"auto", NAN, false}},
     .help = "foreground probability threshold (auto: the model's, else 0.5)"},
    {UNET__OPT_AT(I, min_distance), .type = UNET__OPT_INT, .def = 0, .min = 1, .max = 1000,
     .special = {{"auto", 0, false}},
     .help = "pixels between watershed seeds (auto: the model's, else 4)"},
    {UNET__OPT_AT(I, split), .type = UNET__OPT_BOOL, .def = -1,
     .special = {{"auto", -1, false}},
     .help = "watershed split of touching objects; false: connected components (auto: false "
             "when the model's output says \"instances\": \"components\", else true)"},
    {UNET__OPT_AT(I, min_size), .type = UNET__OPT_I64, .def = -1, .min = 0,
     .max = 2147483648.0, .special = {{"auto", -1, false}},
     .help = "objects of fewer pixels are removed (auto: the model's, else 16)"},
};
_Static_assert(sizeof unet__instance_opt_entries / sizeof unet__instance_opt_entries[0] ==
                   UNET__INSTANCE_OPT_COUNT, "UNET__INSTANCE_OPT_COUNT counts the entries");

int unet__instance_resolve(const unet__seg_rules *r, const unet__instance_opts *o,
                           unet__instance_params *p)
{
    p->threshold = o && !isnan(o->threshold) ? o->threshold : r->threshold;
    p->min_distance = o && o->min_distance > 0 ? o->min_distance : r->min_distance;
    p->min_size = o && o->min_size >= 0 ? (double)o->min_size : r->min_size;
    p->split = o && o->split >= 0 ? o->split != 0 : !r->components;
    p->seed_level = r->seed_level;
    if (!(p->seed_level >= 0 && p->seed_level <= 1))
        return unet__fail(UNET_E_FORMAT, "model output metadata: seed_level %g out of range "
                                         "[0, 1]", p->seed_level);
    return unet__seg_rules_check(p->threshold, p->min_distance, p->min_size);
}

int unet__seg_params_from_model(const struct unet_model *m, const char *who,
                                const unet__instance_opts *o, unet__seg_params *p)
{
    memset(p, 0, sizeof *p);
    unet__seg_rules r;
    unet__instance_params ip;
    int rc = unet__seg_rules_from_model(m, who, &r);
    if (rc == UNET_OK)
        rc = unet__instance_resolve(&r, o, &ip);
    if (rc != UNET_OK)
        return rc;
    p->kind = r.kind;
    p->logits = r.logits;
    p->threshold = (float)ip.threshold;
    p->seed_level = (float)ip.seed_level;
    p->min_distance = (int)ip.min_distance;
    p->min_size = (int64_t)ip.min_size;
    p->split = ip.split;
    p->rank = 1; /* 4-connected objects, as unet_watershed's default */
    return UNET_OK;
}
