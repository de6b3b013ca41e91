/* The public trainer calls: argument checks, then the trainer of train/. */
#include <math.h>

#include "core/dtype.h"
#include "core/status.h"
#include "train/trainer_internal.h"

UNET_API int unet_trainer_create(unet_model_t *model, const unet_train_opts_t *opts,
                                 unet_trainer_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_create: out is NULL");
    *out = NULL;
    if (!model)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_create: model is NULL");
    return unet__trainer_create(model, opts, out);
}

UNET_API void unet_trainer_free(unet_trainer_t *t)
{
    unet__trainer_free(t);
}

UNET_API int unet_trainer_add_data(unet_trainer_t *t, const void *image, unet_dtype_t dtype,
                                   int ndim, const int64_t *shape, const void *labels,
                                   unet_dtype_t label_dtype, int label_ndim,
                                   const int64_t *label_shape, unet_split_t split)
{
    unet__clear_error();
    if (!t || !image || !shape || !labels || !label_shape)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_add_data: NULL argument");
    if (unet__dtype_size(dtype) == 0 || unet__dtype_size(label_dtype) == 0)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_add_data: unknown element type %d",
                          unet__dtype_size(dtype) ? label_dtype : dtype);
    if (split < UNET_SPLIT_AUTO || split > UNET_SPLIT_VAL)
        return unet__fail(UNET_E_INVALID_ARG, "split %d is not UNET_SPLIT_AUTO, _TRAIN or "
                                              "_VAL", split);
    if (ndim < 2 || ndim > 3 || label_ndim < 2 || label_ndim > 3)
        return unet__fail(UNET_E_SHAPE, "image and labels must be (H,W) or (C,H,W) (ndim %d "
                                        "and %d)", ndim, label_ndim);
    const int64_t c = ndim == 3 ? shape[0] : 1, h = shape[ndim - 2], w = shape[ndim - 1];
    const int64_t lc = label_ndim == 3 ? label_shape[0] : 1;
    if (c < 1 || h < 1 || w < 1 || c > 4096 || h > (1 << 20) || w > (1 << 20))
        return unet__fail(UNET_E_SHAPE, "image shape %lld x %lld x %lld is out of range",
                          (long long)c, (long long)h, (long long)w);
    if (label_shape[label_ndim - 2] != h || label_shape[label_ndim - 1] != w || lc < 1 ||
        lc > 4096)
        return unet__fail(UNET_E_SHAPE, "labels are %lld x %lld; the image is %lld x %lld",
                          (long long)label_shape[label_ndim - 2],
                          (long long)label_shape[label_ndim - 1], (long long)h, (long long)w);
    return unet__trainer_add_arrays(t, image, dtype, c, h, w, labels, label_dtype, lc, split);
}

UNET_API int unet_trainer_add_folders(unet_trainer_t *t, const char *images_dir,
                                      const char *labels_dir)
{
    unet__clear_error();
    if (!t || !images_dir || !labels_dir)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_add_folders: NULL argument");
    return unet__trainer_add_folders(t, images_dir, labels_dir);
}

UNET_API int unet_trainer_train(unet_trainer_t *t)
{
    unet__clear_error();
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_train: trainer is NULL");
    return unet__trainer_train(t);
}

UNET_API int unet_trainer_step(unet_trainer_t *t, int64_t steps)
{
    unet__clear_error();
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_step: trainer is NULL");
    if (steps < 0 || steps > 1000000000)
        return unet__fail(UNET_E_INVALID_ARG, "steps %lld is out of range [0, 1e9]",
                          (long long)steps);
    return unet__trainer_step(t, steps);
}

UNET_API int unet_trainer_evaluate(unet_trainer_t *t, double *loss, double *metric)
{
    unet__clear_error();
    if (loss)
        *loss = NAN;
    if (metric)
        *metric = NAN;
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_evaluate: trainer is NULL");
    int rc = unet__trainer_evaluate(t);
    if (rc != UNET_OK)
        return rc;
    if (loss)
        *loss = t->last_loss;
    if (metric)
        *metric = t->last_metric;
    return UNET_OK;
}

UNET_API int unet_trainer_metrics(const unet_trainer_t *t, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!t || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_metrics: trainer or json is NULL");
    return unet__trainer_metrics(t, json);
}

UNET_API int unet_trainer_progress(const unet_trainer_t *t, int64_t *step, int64_t *total)
{
    unet__clear_error();
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_progress: trainer is NULL");
    if (step)
        *step = t->step;
    if (total)
        *total = t->total;
    return UNET_OK;
}

UNET_API int unet_trainer_set_total_steps(unet_trainer_t *t, int64_t total_steps)
{
    unet__clear_error();
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_set_total_steps: trainer is NULL");
    if (total_steps < 1 || total_steps > 1000000000)
        return unet__fail(UNET_E_INVALID_ARG, "total steps %lld is out of range [1, 1e9]",
                          (long long)total_steps);
    unet__trainer_set_total(t, total_steps);
    return UNET_OK;
}

UNET_API int unet_trainer_cancel(unet_trainer_t *t)
{
    if (!t)
        return UNET_E_INVALID_ARG; /* no message: may run on any thread, even a signal's */
    atomic_store(&t->cancel, 1);
    return UNET_OK;
}

UNET_API int unet_trainer_reset_cancel(unet_trainer_t *t)
{
    if (!t)
        return UNET_E_INVALID_ARG; /* no message: as unet_trainer_cancel */
    atomic_store(&t->cancel, 0);
    return UNET_OK;
}

UNET_API int unet_trainer_save(unet_trainer_t *t, const char *path)
{
    unet__clear_error();
    if (!t || !path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_save: NULL argument");
    return unet__trainer_save_model(t, path);
}

UNET_API int unet_trainer_save_state(unet_trainer_t *t, const char *path)
{
    unet__clear_error();
    if (!t || !path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_save_state: NULL argument");
    return unet__trainer_save_state(t, path);
}

UNET_API int unet_trainer_load_state(unet_trainer_t *t, const char *path)
{
    unet__clear_error();
    if (!t || !path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_load_state: NULL argument");
    return unet__trainer_load_state(t, path);
}

/* ---- the low-level batch API ---- */

UNET_API int unet_trainer_compute_gradients(unet_trainer_t *t, const float *input, int ndim,
                                            const int64_t *shape, const float *target,
                                            size_t target_count, const float *weights,
                                            double *loss)
{
    unet__clear_error();
    if (loss)
        *loss = NAN;
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_compute_gradients: trainer is NULL");
    return unet__trainer_compute_gradients(t, input, ndim, shape, target, target_count, weights,
                                           loss);
}

UNET_API int unet_trainer_step_batch(unet_trainer_t *t, const float *input, int ndim,
                                     const int64_t *shape, const float *target,
                                     size_t target_count, const float *weights, double *loss)
{
    unet__clear_error();
    if (loss)
        *loss = NAN;
    if (!t)
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_step_batch: trainer is NULL");
    return unet__trainer_step_batch(t, input, ndim, shape, target, target_count, weights, loss);
}

UNET_API int unet_trainer_get_gradient(const unet_trainer_t *t, const char *name, float *out,
                                       size_t count)
{
    unet__clear_error();
    if (!t || !name || (!out && count))
        return unet__fail(UNET_E_INVALID_ARG, "unet_trainer_get_gradient: NULL argument");
    return unet__trainer_get_gradient(t, name, out, count);
}
