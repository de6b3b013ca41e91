/* The model object: creation, parameters' initialisation, metadata sections, and the plan and
 * cached descriptions rebuilt after a change (see model.h). */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/status.h"

#define MAX_PARAMS ((int64_t)1 << 31) /* floats; larger models are refused */

int unet__model_new(const unet__config *cfg, unet__graph *graph, struct unet_model **out)
{
    *out = NULL;
    struct unet_model *m = calloc(1, sizeof *m);
    if (!m) {
        unet__graph_clear(graph);
        return unet__fail(UNET_E_NOMEM, "out of memory creating a model");
    }
    pthread_mutex_init(&m->sync_lock, NULL);
    m->cfg = *cfg;
    m->stated_halo = -1;
    m->graph = *graph; /* the model owns it from here, whatever happens */
    memset(graph, 0, sizeof *graph);
    int64_t total = 0;
    for (int i = 0; i < m->graph.nparams; i++)
        total += m->graph.params[i].numel;
    if (total > MAX_PARAMS) {
        unet__model_free(m);
        return unet__fail(UNET_E_INVALID_ARG,
                          "config: the model would have %lld parameters (max %lld)",
                          (long long)total, (long long)MAX_PARAMS);
    }
    m->params = calloc((size_t)m->graph.nparams, sizeof *m->params);
    /* Zero pages from the kernel, not a memset: the loader fills parameters from the file's
     * tensors, so a size the file claims costs nothing before those are read. */
    m->param_storage = unet__alloc_floats_zeroed((size_t)total);
    if (!m->params || !m->param_storage) {
        unet__model_free(m);
        return unet__fail(UNET_E_NOMEM, "out of memory for %lld parameters", (long long)total);
    }
    float *p = m->param_storage;
    for (int i = 0; i < m->graph.nparams; i++) {
        m->params[i] = p;
        p += m->graph.params[i].numel;
    }
    m->block_multiple = unet__graph_block_multiple(&m->graph);
    m->computed_halo = unet__graph_halo(&m->graph, cfg->same_padding);
    if (m->computed_halo < 0) {
        unet__model_free(m);
        return unet__fail(UNET_E_INVALID_ARG,
                          "config: the network accepts no input size (it shrinks too much)");
    }
    *out = m;
    return UNET_OK;
}

void unet__model_free(struct unet_model *m)
{
    if (!m)
        return;
    unet__fast_plan_clear(&m->fast);
    unet__plan_clear(&m->plan);
    unet__graph_clear(&m->graph);
    free(m->params);
    unet__free_aligned(m->param_storage);
    json_decref(m->preprocessing);
    json_decref(m->output);
    json_decref(m->training);
    free(m->arch_json);
    free(m->meta_json);
    pthread_mutex_destroy(&m->sync_lock);
    free(m);
}

json_t *unet__model_metadata_json(const struct unet_model *m, const char *crc32_hex)
{
    json_t *doc = json_object();
    if (!doc)
        return NULL;
    int bad = json_object_set_new(doc, "format_version", json_integer(UNET__FORMAT_VERSION));
    bad |= json_object_set_new(doc, "architecture", unet__config_to_json(&m->cfg));
    if (m->preprocessing)
        bad |= json_object_set(doc, "preprocessing", m->preprocessing);
    if (m->output)
        bad |= json_object_set(doc, "output", m->output);
    if (m->training)
        bad |= json_object_set(doc, "training", m->training);
    if (m->stated_halo >= 0)
        bad |= json_object_set_new(doc, "halo", json_integer(m->stated_halo));
    if (crc32_hex)
        bad |= json_object_set_new(doc, "crc32", json_string(crc32_hex));
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

void unet__model_touch(struct unet_model *m)
{
    atomic_store(&m->stale, true);
}

int unet__model_sync(const struct unet_model *cm)
{
    if (!atomic_load(&cm->stale))
        return UNET_OK;
    struct unet_model *m = (struct unet_model *)cm; /* the cache, not the model, changes */
    pthread_mutex_lock(&m->sync_lock);
    int rc = atomic_load(&m->stale) ? unet__model_refresh(m) : UNET_OK;
    pthread_mutex_unlock(&m->sync_lock);
    return rc;
}

int unet__model_refresh(struct unet_model *m)
{
    unet__fast_plan_clear(&m->fast);
    unet__plan_clear(&m->plan);
    free(m->arch_json);
    free(m->meta_json);
    m->arch_json = m->meta_json = NULL;
    int rc = unet__plan_build(&m->graph, m->params, &m->plan);
    if (rc == UNET_OK)
        rc = unet__fast_plan_build(&m->plan, &m->fast);
    if (rc != UNET_OK)
        return rc;
    json_t *arch = unet__config_to_json(&m->cfg);
    json_t *meta = unet__model_metadata_json(m, NULL);
    if (arch)
        m->arch_json = json_dumps(arch, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (meta)
        m->meta_json = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(arch);
    json_decref(meta);
    if (!m->arch_json || !m->meta_json)
        return unet__fail(UNET_E_NOMEM, "out of memory describing the model");
    atomic_store(&m->stale, false);
    return UNET_OK;
}

/* He initialisation: N(0, 2 / fan_in) weights, zero biases, unit norm scales. */
void unet__model_init_params(struct unet_model *m, uint64_t seed)
{
    unet__rng rng;
    unet__rng_seed(&rng, seed);
    for (int i = 0; i < m->graph.nparams; i++) {
        const unet__param_spec *ps = &m->graph.params[i];
        float *p = m->params[i];
        double std = ps->fan_in > 0 ? sqrt(2.0 / ps->fan_in) : 0.0;
        for (int64_t j = 0; j < ps->numel; j++)
            p[j] = ps->init == UNET__INIT_HE    ? (float)(std * unet__rng_normal(&rng))
                   : ps->init == UNET__INIT_ONE ? 1.0f
                                                : 0.0f;
    }
}

/* ---- metadata sections ---- */

static bool is_finite_number(const json_t *v)
{
    return json_is_number(v) && isfinite(json_number_value(v));
}

/* preprocessing: {"normalize": "none" | "zmuv" (eps) | "percentile" (low, high) |
 * "fixed" (mean, std)}. */
static int check_preprocessing(const json_t *v, int code)
{
    const char *mode = json_string_value(json_object_get(v, "normalize"));
    if (!json_is_object(v) || !mode)
        return unet__fail(code, "metadata: 'preprocessing' must be an object with a string "
                                "'normalize'");
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        bool known = strcmp(key, "normalize") == 0 ||
                     (strcmp(mode, "zmuv") == 0 && strcmp(key, "eps") == 0) ||
                     (strcmp(mode, "percentile") == 0 &&
                      (strcmp(key, "low") == 0 || strcmp(key, "high") == 0)) ||
                     (strcmp(mode, "fixed") == 0 &&
                      (strcmp(key, "mean") == 0 || strcmp(key, "std") == 0));
        if (!known)
            return unet__fail(code, "metadata: 'preprocessing' has unknown key '%.40s' for "
                                    "normalize \"%.20s\"", key, mode);
        if (strcmp(key, "normalize") != 0 && !is_finite_number(x))
            return unet__fail(code, "metadata: preprocessing '%s' must be a finite number",
                              key);
    }
    if (strcmp(mode, "none") == 0)
        return UNET_OK;
    if (strcmp(mode, "zmuv") == 0) {
        json_t *eps = json_object_get(v, "eps");
        if (eps && json_number_value(eps) < 0)
            return unet__fail(code, "metadata: preprocessing 'eps' must be >= 0");
        return UNET_OK;
    }
    if (strcmp(mode, "percentile") == 0) {
        json_t *lo = json_object_get(v, "low"), *hi = json_object_get(v, "high");
        double l = lo ? json_number_value(lo) : 1.0, h = hi ? json_number_value(hi) : 99.8;
        if (!(l >= 0 && l < h && h <= 100))
            return unet__fail(code, "metadata: percentiles low %g, high %g must satisfy 0 <= "
                                    "low < high <= 100", l, h);
        return UNET_OK;
    }
    if (strcmp(mode, "fixed") == 0) {
        json_t *mean = json_object_get(v, "mean"), *std = json_object_get(v, "std");
        if (!mean || !std || !(json_number_value(std) > 0))
            return unet__fail(code, "metadata: normalize \"fixed\" needs 'mean' and 'std' > 0");
        return UNET_OK;
    }
    return unet__fail(code, "metadata: normalize \"%.20s\" is not one of none, zmuv, "
                            "percentile, fixed", mode);
}

int unet__model_set_section(struct unet_model *m, const char *key, json_t *value, int code)
{
    json_t **slot = NULL;
    if (strcmp(key, "halo") == 0) {
        /* A stated halo may raise the receptive-field margin, within reason: every window
         * grows by it, so a file claiming a huge one would cost gigabytes per tile (callers can
         * still raise it through the predict options, within their memory budget). */
        int64_t margin = m->computed_halo;
        int64_t limit = 2 * margin > margin + 256 ? 2 * margin : margin + 256;
        if (value && (!json_is_integer(value) || json_integer_value(value) < 0 ||
                      json_integer_value(value) > limit))
            return unet__fail(code,
                              "metadata: 'halo' must be an integer in [0, %lld] (this "
                              "network's receptive-field margin is %lld)",
                              (long long)limit, (long long)margin);
        m->stated_halo = value ? (int)json_integer_value(value) : -1;
        return UNET_OK;
    }
    if (strcmp(key, "preprocessing") == 0)
        slot = &m->preprocessing;
    else if (strcmp(key, "output") == 0)
        slot = &m->output;
    else if (strcmp(key, "training") == 0)
        slot = &m->training;
    else
        return unet__fail(code, "metadata: unknown section '%.40s' (preprocessing, output, "
                                "training, halo)", key);
    if (value && !json_is_object(value))
        return unet__fail(code, "metadata: '%s' must be a JSON object", key);
    if (value && slot == &m->preprocessing) {
        int rc = check_preprocessing(value, code);
        if (rc != UNET_OK)
            return rc;
    }
    json_decref(*slot);
    *slot = value ? json_incref(value) : NULL;
    return UNET_OK;
}

int unet__model_halo(const struct unet_model *m)
{
    return m->stated_halo > m->computed_halo ? m->stated_halo : m->computed_halo;
}
