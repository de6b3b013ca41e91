/* Training options: the key table, setters, JSON, and the public options object. */
#include "train/train_opts.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

typedef enum { K_INT, K_I64, K_DBL, K_BOOL, K_NAME, K_TEXT } kind;

typedef struct key {
    const char *name;
    kind type;
    size_t offset;
    double lo, hi;        /* numbers: inclusive bounds */
    const char *choices;  /* K_NAME: space-separated */
    size_t size;          /* strings: buffer size */
} key;

#define O(f) offsetof(struct unet_train_opts, f)
#define NAME(f, choices) {#f, K_NAME, O(f), 0, 0, choices, sizeof(((struct unet_train_opts *)0)->f)}
#define TEXT(f) {#f, K_TEXT, O(f), 0, 0, NULL, sizeof(((struct unet_train_opts *)0)->f)}

static const key keys[] = {
    {"steps", K_I64, O(steps), 0, 1e9, NULL, 0},
    {"epochs", K_DBL, O(epochs), 0, 1e6, NULL, 0},
    {"batch", K_INT, O(batch), 1, 1024, NULL, 0},
    {"patch", K_INT, O(patch), 8, 4096, NULL, 0},
    {"threads", K_INT, O(threads), 0, 1024, NULL, 0},
    {"seed", K_I64, O(seed), 0, 9007199254740992.0, NULL, 0},
    NAME(loss, "auto mse l1 bce ce dice bce+dice"),
    NAME(target, "auto foreground 3class classes image"),
    {"pos_weight", K_DBL, O(pos_weight), 1e-6, 1e6, NULL, 0},
    TEXT(class_weights),
    {"ignore_label", K_I64, O(ignore_label), -1, 4294967295.0, NULL, 0},
    {"border_weights", K_BOOL, O(border_weights), 0, 1, NULL, 0},
    {"w0", K_DBL, O(w0), 0, 1e6, NULL, 0},
    {"sigma", K_DBL, O(sigma), 0.1, 1e4, NULL, 0},
    NAME(optimizer, "sgd adam adamw"),
    {"lr", K_DBL, O(lr), 0, 10, NULL, 0},
    {"momentum", K_DBL, O(momentum), 0, 0.9999, NULL, 0},
    {"nesterov", K_BOOL, O(nesterov), 0, 1, NULL, 0},
    {"beta1", K_DBL, O(beta1), 0, 0.9999999, NULL, 0},
    {"beta2", K_DBL, O(beta2), 0, 0.9999999, NULL, 0},
    {"eps", K_DBL, O(eps), 1e-30, 1, NULL, 0},
    {"weight_decay", K_DBL, O(weight_decay), 0, 1, NULL, 0},
    {"clip_norm", K_DBL, O(clip_norm), 0, 1e9, NULL, 0},
    NAME(schedule, "constant cosine plateau"),
    {"warmup", K_I64, O(warmup), 0, 1e9, NULL, 0},
    {"min_lr", K_DBL, O(min_lr), 0, 10, NULL, 0},
    {"plateau_factor", K_DBL, O(plateau_factor), 1e-6, 0.999999, NULL, 0},
    {"plateau_patience", K_INT, O(plateau_patience), 0, 1000000, NULL, 0},
    {"plateau_threshold", K_DBL, O(plateau_threshold), 0, 1, NULL, 0},
    {"plateau_cooldown", K_INT, O(plateau_cooldown), 0, 1000000, NULL, 0},
    {"val_fraction", K_DBL, O(val_fraction), 0, 0.9, NULL, 0},
    NAME(normalize, "percentile zmuv none"),
    {"norm_low", K_DBL, O(norm_low), 0, 100, NULL, 0},
    {"norm_high", K_DBL, O(norm_high), 0, 100, NULL, 0},
    {"fg_bias", K_DBL, O(fg_bias), 0, 1, NULL, 0},
    {"aug_flip", K_BOOL, O(aug_flip), 0, 1, NULL, 0},
    {"aug_rot90", K_BOOL, O(aug_rot90), 0, 1, NULL, 0},
    {"aug_elastic", K_DBL, O(aug_elastic), 0, 1, NULL, 0},
    {"elastic_sigma", K_DBL, O(elastic_sigma), 0, 1000, NULL, 0},
    {"elastic_grid", K_INT, O(elastic_grid), 2, 32, NULL, 0},
    {"aug_scale", K_DBL, O(aug_scale), 0, 0.99, NULL, 0},
    {"aug_shift", K_DBL, O(aug_shift), 0, 100, NULL, 0},
    {"aug_gamma", K_DBL, O(aug_gamma), 0, 10, NULL, 0},
    {"noise_gauss", K_DBL, O(noise_gauss), 0, 100, NULL, 0},
    {"noise_poisson", K_DBL, O(noise_poisson), 0, 1e9, NULL, 0},
    {"val_every", K_I64, O(val_every), 0, 1e9, NULL, 0},
    NAME(metric, "auto iou dice f1 psnr ssim loss"),
    {"threshold", K_DBL, O(threshold), 0, 1, NULL, 0},
    {"freeze_encoder", K_BOOL, O(freeze_encoder), 0, 1, NULL, 0},
    {"precise", K_BOOL, O(precise), 0, 1, NULL, 0},
    TEXT(checkpoint_dir),
    TEXT(log),
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

void unet__train_opts_defaults(struct unet_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 1000;
    o->batch = 4;
    o->patch = 128;
    strcpy(o->loss, "auto");
    strcpy(o->target, "auto");
    o->pos_weight = 1;
    o->ignore_label = -1;
    o->w0 = 10;
    o->sigma = 5;
    strcpy(o->optimizer, "adam");
    o->lr = 1e-3;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    strcpy(o->schedule, "cosine");
    o->plateau_factor = 0.5;
    o->plateau_patience = 5;
    o->plateau_threshold = 1e-4;
    o->val_fraction = 0.1;
    strcpy(o->normalize, "percentile");
    o->norm_low = 1;
    o->norm_high = 99.8;
    o->fg_bias = 0.5;
    o->aug_flip = true;
    o->aug_rot90 = true;
    o->aug_elastic = 0.5;
    o->elastic_sigma = 10;
    o->elastic_grid = 3;
    o->aug_scale = 0.1;
    o->aug_shift = 0.1;
    strcpy(o->metric, "auto");
    o->threshold = 0.5;
}

static const key *find_key(const char *name)
{
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int set_number(struct unet_train_opts *o, const key *k, double v, const char *text)
{
    char *p = (char *)o + k->offset;
    if (!isfinite(v) || v < k->lo || v > k->hi)
        return unet__fail(UNET_E_INVALID_ARG, "training option %s = %.40s is out of range "
                                              "[%g, %g]", k->name, text, k->lo, k->hi);
    if ((k->type == K_INT || k->type == K_I64) && v != floor(v))
        return unet__fail(UNET_E_INVALID_ARG, "training option %s = %.40s must be an integer",
                          k->name, text);
    switch (k->type) {
    case K_INT: *(int *)p = (int)v; break;
    case K_I64: *(int64_t *)p = (int64_t)v; break;
    case K_DBL: *(double *)p = v; break;
    case K_BOOL: *(bool *)p = v != 0; break;
    default: break;
    }
    return UNET_OK;
}

static int set_text(struct unet_train_opts *o, const key *k, const char *value)
{
    char *p = (char *)o + k->offset;
    if (strlen(value) >= k->size)
        return unet__fail(UNET_E_INVALID_ARG, "training option %s is longer than %zu bytes",
                          k->name, k->size - 1);
    if (k->type == K_NAME) {
        /* one of the space-separated choices */
        size_t n = strlen(value);
        const char *c = k->choices;
        bool found = false;
        while (*c && !found) {
            size_t len = strcspn(c, " ");
            found = len == n && n > 0 && strncmp(c, value, n) == 0;
            c += len + (c[len] == ' ');
        }
        if (!found)
            return unet__fail(UNET_E_INVALID_ARG, "training option %s = \"%.40s\" is not one "
                                                  "of: %s", k->name, value, k->choices);
    }
    strcpy(p, value);
    return UNET_OK;
}

int unet__train_opts_set(struct unet_train_opts *o, const char *name, const char *value)
{
    const key *k = find_key(name);
    if (!k)
        return unet__fail(UNET_E_INVALID_ARG, "unknown training option '%.60s'", name);
    if (k->type == K_NAME || k->type == K_TEXT)
        return set_text(o, k, value);
    if (k->type == K_BOOL) {
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcmp(value, "yes") == 0)
            return set_number(o, k, 1, value);
        if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 || strcmp(value, "no") == 0)
            return set_number(o, k, 0, value);
        return unet__fail(UNET_E_INVALID_ARG, "training option %s = \"%.40s\" must be true or "
                                              "false", k->name, value);
    }
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno == ERANGE)
        return unet__fail(UNET_E_INVALID_ARG, "training option %s = \"%.40s\" is not a number",
                          k->name, value);
    return set_number(o, k, v, value);
}

int unet__train_opts_set_object(struct unet_train_opts *o, const json_t *obj)
{
    if (!json_is_object(obj))
        return unet__fail(UNET_E_INVALID_ARG, "training options must be a JSON object");
    /* Validate into a copy first, so a failure leaves the options unchanged. */
    struct unet_train_opts tmp = *o;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        const key *k = find_key(name);
        int rc;
        if (!k)
            return unet__fail(UNET_E_INVALID_ARG, "unknown training option '%.60s'", name);
        char text[64];
        if (json_is_string(v)) {
            rc = unet__train_opts_set(&tmp, name, json_string_value(v));
        } else if (json_is_boolean(v) && k->type == K_BOOL) {
            rc = set_number(&tmp, k, json_is_true(v), json_is_true(v) ? "true" : "false");
        } else if (json_is_number(v) && k->type != K_NAME && k->type != K_TEXT &&
                   k->type != K_BOOL) {
            snprintf(text, sizeof text, "%.17g", json_number_value(v));
            rc = set_number(&tmp, k, json_number_value(v), text);
        } else {
            rc = unet__fail(UNET_E_INVALID_ARG, "training option %s has the wrong JSON type",
                            name);
        }
        if (rc != UNET_OK)
            return rc;
    }
    tmp.json = o->json;
    *o = tmp;
    return UNET_OK;
}

json_t *unet__train_opts_to_json(const struct unet_train_opts *o)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (int i = 0; i < NKEYS; i++) {
        const key *k = &keys[i];
        const char *p = (const char *)o + k->offset;
        json_t *v = NULL;
        switch (k->type) {
        case K_INT: v = json_integer(*(const int *)p); break;
        case K_I64: v = json_integer(*(const int64_t *)p); break;
        case K_DBL: v = json_real(*(const double *)p); break;
        case K_BOOL: v = json_boolean(*(const bool *)p); break;
        default: v = json_string(p); break;
        }
        if (json_object_set_new(obj, k->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

int unet__train_opts_class_weights(const struct unet_train_opts *o, double *w, int n)
{
    const char *s = o->class_weights;
    int count = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v < 0)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights \"%.60s\": expected "
                                                  "non-negative numbers separated by commas",
                              o->class_weights);
        if (count == n)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights: more than %d values", n);
        w[count++] = v;
        s = end;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
        else if (*s)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights \"%.60s\": expected a comma "
                                                  "after %g", o->class_weights, v);
    }
    return count;
}

/* ---- the public options object ---- */

UNET_API int unet_train_opts_create(unet_train_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory for training options");
    unet__train_opts_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_train_opts_free(unet_train_opts_t *o)
{
    if (!o)
        return;
    free(o->json);
    free(o);
}

UNET_API int unet_train_opts_set(unet_train_opts_t *o, const char *key, const char *value)
{
    unet__clear_error();
    if (!o || !key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set: NULL argument");
    return unet__train_opts_set(o, key, value);
}

UNET_API int unet_train_opts_set_json(unet_train_opts_t *o, const char *text)
{
    unet__clear_error();
    if (!o || !text)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set_json: NULL argument");
    json_error_t err;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return unet__fail(UNET_E_INVALID_ARG, "training options: invalid JSON (%s)", err.text);
    int rc = unet__train_opts_set_object(o, obj);
    json_decref(obj);
    return rc;
}

UNET_API const char *unet_train_opts_json(const unet_train_opts_t *o)
{
    unet__clear_error();
    if (!o) {
        unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_json: opts is NULL");
        return NULL;
    }
    json_t *obj = unet__train_opts_to_json(o);
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(obj);
    if (!text) {
        unet__fail(UNET_E_NOMEM, "out of memory describing training options");
        return NULL;
    }
    /* The cache is not part of the options' value. */
    struct unet_train_opts *mut = (struct unet_train_opts *)o;
    free(mut->json);
    mut->json = text;
    return text;
}

UNET_API int unet_train_opts_set_progress(unet_train_opts_t *o, unet_train_progress_fn fn,
                                          void *user)
{
    unet__clear_error();
    if (!o)
        return unet__fail(UNET_E_INVALID_ARG, "unet_train_opts_set_progress: opts is NULL");
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}
