#include "graph/config.h"

#include <math.h>
#include <string.h>

#include "core/status.h"

#define MAX_CHANNELS 4096
#define MAX_FEATURES 16384

void unet__config_defaults(unet__config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ndim = 2;
    cfg->in_channels = 1;
    cfg->out_channels = 1;
    cfg->depth = 4;
    cfg->base_features = 32;
    cfg->growth = 2.0;
    cfg->kernel_size = 3;
    cfg->same_padding = true;
    strcpy(cfg->block, "crcr");
    cfg->downsample = UNET__DOWN_MAXPOOL;
    cfg->factor = 2;
    cfg->upsample = UNET__UP_TRANSPOSED;
    cfg->upsample_conv = false;
    cfg->final_activation = UNET__FINAL_NONE;
}

int unet__config_features(const unet__config *cfg, int level)
{
    return (int)floor(cfg->base_features * pow(cfg->growth, level) + 0.5);
}

static int get_int(const json_t *v, const char *key, int lo, int hi, int *out)
{
    if (!json_is_integer(v))
        return unet__fail(UNET_E_INVALID_ARG, "config: '%s' must be an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return unet__fail(UNET_E_INVALID_ARG, "config: '%s' = %lld is out of range [%d, %d]",
                          key, (long long)x, lo, hi);
    *out = (int)x;
    return UNET_OK;
}

/* Map a string value to an index in `names` (NULL-terminated). */
static int get_enum(const json_t *v, const char *key, const char *const *names, int *out)
{
    if (!json_is_string(v))
        return unet__fail(UNET_E_INVALID_ARG, "config: '%s' must be a string", key);
    const char *s = json_string_value(v);
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return UNET_OK;
        }
    }
    char allowed[128] = "";
    for (int i = 0; names[i]; i++) {
        strncat(allowed, i ? ", " : "", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, names[i], sizeof allowed - strlen(allowed) - 1);
    }
    return unet__fail(UNET_E_INVALID_ARG, "config: '%s' = \"%.40s\" is not one of: %s", key, s,
                      allowed);
}

static const char *const padding_names[] = {"same", "valid", NULL};
static const char *const down_names[] = {"maxpool", "avgpool", NULL};
static const char *const up_names[] = {"transposed", "nearest", "bilinear", NULL};
static const char *const final_names[] = {"none", "sigmoid", "softmax", NULL};
static const char *const skip_names[] = {"concat", NULL};
static const char block_ops[] = "crlebgd";

const char *unet__final_name(unet__final f)
{
    return f >= UNET__FINAL_NONE && f <= UNET__FINAL_SOFTMAX ? final_names[f] : "unknown";
}

static int parse_block(const json_t *v, char *block)
{
    if (!json_is_string(v))
        return unet__fail(UNET_E_INVALID_ARG, "config: 'block' must be a string");
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n > UNET__MAX_BLOCK)
        return unet__fail(UNET_E_INVALID_ARG, "config: 'block' \"%.40s\" must have 1 to %d ops",
                          s, UNET__MAX_BLOCK);
    bool has_conv = false;
    for (size_t i = 0; i < n; i++) {
        if (!strchr(block_ops, s[i]))
            return unet__fail(UNET_E_INVALID_ARG,
                              "config: 'block' \"%.40s\" has unknown op '%c' (ops: c conv, r "
                              "ReLU, l leaky ReLU, e ELU, b batchnorm, g groupnorm, d dropout)",
                              s, s[i]);
        has_conv |= s[i] == 'c';
    }
    if (!has_conv)
        return unet__fail(UNET_E_INVALID_ARG, "config: 'block' \"%s\" has no convolution 'c'",
                          s);
    memcpy(block, s, n + 1);
    return UNET_OK;
}

/* Checks that involve several keys at once. */
static int check_combination(const unet__config *cfg)
{
    if (cfg->same_padding && cfg->kernel_size % 2 == 0)
        return unet__fail(UNET_E_INVALID_ARG,
                          "config: 'kernel_size' %d must be odd for \"same\" padding",
                          cfg->kernel_size);
    double block_multiple = pow(cfg->factor, cfg->depth - 1);
    if (block_multiple > 65536)
        return unet__fail(UNET_E_INVALID_ARG,
                          "config: factor %d ^ (depth %d - 1) = %.0f is too large (max 65536)",
                          cfg->factor, cfg->depth, block_multiple);
    for (int l = 0; l < cfg->depth; l++) {
        double f = cfg->base_features * pow(cfg->growth, l);
        if (!(f + 0.5 >= 1.0) || f > MAX_FEATURES)
            return unet__fail(UNET_E_INVALID_ARG,
                              "config: level %d would have %.1f features (base_features %d, "
                              "growth %g); allowed 1 to %d",
                              l, f, cfg->base_features, cfg->growth, MAX_FEATURES);
    }
    return UNET_OK;
}

int unet__config_from_json(const json_t *obj, unet__config *cfg)
{
    unet__config_defaults(cfg);
    if (!json_is_object(obj))
        return unet__fail(UNET_E_INVALID_ARG, "config: must be a JSON object");
    const char *key;
    json_t *v;
    int rc = UNET_OK, tmp;
    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "ndim") == 0) {
            if (json_is_integer(v) && json_integer_value(v) == 3)
                return unet__fail(UNET_E_UNSUPPORTED,
                                  "config: 'ndim' 3 (3-D models) is not supported yet");
            rc = get_int(v, key, 2, 2, &cfg->ndim);
        } else if (strcmp(key, "in_channels") == 0) {
            rc = get_int(v, key, 1, MAX_CHANNELS, &cfg->in_channels);
        } else if (strcmp(key, "out_channels") == 0) {
            rc = get_int(v, key, 1, MAX_CHANNELS, &cfg->out_channels);
        } else if (strcmp(key, "depth") == 0) {
            rc = get_int(v, key, 1, UNET__MAX_DEPTH, &cfg->depth);
        } else if (strcmp(key, "base_features") == 0) {
            rc = get_int(v, key, 1, MAX_FEATURES, &cfg->base_features);
        } else if (strcmp(key, "growth") == 0) {
            if (!json_is_number(v))
                return unet__fail(UNET_E_INVALID_ARG, "config: 'growth' must be a number");
            double g = json_number_value(v);
            if (!(g >= 0.5 && g <= 4.0))
                return unet__fail(UNET_E_INVALID_ARG,
                                  "config: 'growth' = %g is out of range [0.5, 4]", g);
            cfg->growth = g;
        } else if (strcmp(key, "kernel_size") == 0) {
            rc = get_int(v, key, 1, 15, &cfg->kernel_size);
        } else if (strcmp(key, "padding") == 0) {
            rc = get_enum(v, key, padding_names, &tmp);
            cfg->same_padding = tmp == 0;
        } else if (strcmp(key, "block") == 0) {
            rc = parse_block(v, cfg->block);
        } else if (strcmp(key, "downsample") == 0) {
            rc = get_enum(v, key, down_names, &tmp);
            cfg->downsample = (unet__downsample)tmp;
        } else if (strcmp(key, "factor") == 0) {
            rc = get_int(v, key, 2, 8, &cfg->factor);
        } else if (strcmp(key, "upsample") == 0) {
            rc = get_enum(v, key, up_names, &tmp);
            cfg->upsample = (unet__upsample)tmp;
        } else if (strcmp(key, "upsample_conv") == 0) {
            if (!json_is_boolean(v))
                return unet__fail(UNET_E_INVALID_ARG, "config: 'upsample_conv' must be true or false");
            cfg->upsample_conv = json_is_true(v);
        } else if (strcmp(key, "skip") == 0) {
            rc = get_enum(v, key, skip_names, &tmp);
        } else if (strcmp(key, "final_activation") == 0) {
            rc = get_enum(v, key, final_names, &tmp);
            cfg->final_activation = (unet__final)tmp;
        } else {
            return unet__fail(UNET_E_INVALID_ARG, "config: unknown key '%.60s'", key);
        }
        if (rc != UNET_OK)
            return rc;
    }
    return check_combination(cfg);
}

int unet__config_parse(const char *text, unet__config *cfg)
{
    if (!text)
        return unet__fail(UNET_E_INVALID_ARG, "config: NULL JSON string");
    json_error_t err;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return unet__fail(UNET_E_INVALID_ARG, "config: invalid JSON at line %d column %d: %s",
                          err.line, err.column, err.text);
    int rc = unet__config_from_json(obj, cfg);
    json_decref(obj);
    return rc;
}

json_t *unet__config_to_json(const unet__config *c)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:f, s:i, s:s, s:s, s:s, s:i, s:s, s:b, s:s, "
                     "s:s}",
                     "ndim", c->ndim, "in_channels", c->in_channels, "out_channels",
                     c->out_channels, "depth", c->depth, "base_features", c->base_features,
                     "growth", c->growth, "kernel_size", c->kernel_size, "padding",
                     c->same_padding ? "same" : "valid", "block", c->block, "downsample",
                     down_names[c->downsample], "factor", c->factor, "upsample",
                     up_names[c->upsample], "upsample_conv", (int)c->upsample_conv, "skip",
                     "concat", "final_activation", final_names[c->final_activation]);
}

bool unet__config_equal(const unet__config *a, const unet__config *b)
{
    return a->ndim == b->ndim && a->in_channels == b->in_channels &&
           a->out_channels == b->out_channels && a->depth == b->depth &&
           a->base_features == b->base_features && a->growth == b->growth &&
           a->kernel_size == b->kernel_size && a->same_padding == b->same_padding &&
           strcmp(a->block, b->block) == 0 && a->downsample == b->downsample &&
           a->factor == b->factor && a->upsample == b->upsample &&
           a->upsample_conv == b->upsample_conv && a->final_activation == b->final_activation;
}
