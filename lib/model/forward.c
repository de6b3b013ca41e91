/* A model created from a config, and its plain forward pass (model.h): what unet_model_create
 * and unet_model_forward do after their argument checks. */
#include <stddef.h>

#include "core/budget.h"
#include "core/status.h"
#include "model/model.h"

int unet__model_create(const char *config_json, uint64_t seed, struct unet_model **out)
{
    unet__config cfg;
    int rc = unet__config_parse(config_json, &cfg);
    if (rc != UNET_OK)
        return rc;
    unet__graph g = {0};
    struct unet_model *m;
    if ((rc = unet__build_unet(&cfg, &g)) != UNET_OK)
        return rc;
    if ((rc = unet__model_new(&cfg, &g, &m)) != UNET_OK)
        return rc;
    unet__model_init_params(m, seed);
    if ((rc = unet__model_refresh(m)) != UNET_OK) {
        unet__model_free(m);
        return rc;
    }
    *out = m;
    return UNET_OK;
}

int unet__model_forward(const struct unet_model *m, const float *input, const int64_t *shape,
                        float *output, int threads, bool precise)
{
    int rc = unet__model_sync(m);
    if (rc != UNET_OK)
        return rc;
    unet__exec_opts eo = UNET__EXEC_OPTS_DEFAULT;
    eo.precise = precise;
    threads = unet__resolve_threads(threads);
    /* The activations, against the memory budget before any is allocated (the caller holds
     * the input, but the network's features can be thousands of times larger). */
    size_t work = 0;
    rc = unet__exec_fast_workspace(&m->fast, shape[0], shape[2], shape[3], threads, &eo, &work);
    if (rc == UNET_OK)
        rc = unet__check_budget(work, "the forward pass", "; use a smaller batch or image "
                                                          "(unet_predict tiles any size)");
    if (rc != UNET_OK)
        return rc;
    return unet__exec_fast(&m->fast, input, shape[0], shape[2], shape[3], output, threads, &eo);
}
