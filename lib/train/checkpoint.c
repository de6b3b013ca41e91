/*
 * Files the trainer writes: models with preprocessing and training provenance metadata, and
 * resumable states (a safetensors file of the weights and the optimizer's moments, with the
 * step, schedule and best-metric bookkeeping in its metadata).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/files.h"
#include "core/status.h"
#include "core/version.h"
#include "io/safetensors.h"
#include "train/trainer_internal.h"

#define STATE_VERSION 1
#define MAX_STATE_FILE ((uint64_t)16 << 30)

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *unet__trainer_provenance(const struct unet_trainer *t)
{
    json_t *p = json_object();
    json_t *train = json_array(), *val = json_array();
    if (!p || !train || !val) {
        json_decref(p);
        json_decref(train);
        json_decref(val);
        return NULL;
    }
    double pixels = 0;
    for (int i = 0; i < t->data.count; i++) {
        const unet__tsample *s = &t->data.s[i];
        json_array_append_new(s->split == UNET_SPLIT_VAL ? val : train, json_string(s->name));
        if (s->split == UNET_SPLIT_TRAIN)
            pixels += (double)(s->h * s->w);
    }
    json_object_set_new(p, "software", json_string("libunet"));
    json_object_set_new(p, "version", json_string(UNET__VERSION_STRING));
    json_object_set_new(p, "task", json_string(t->data.restoration ? "restoration"
                                                                   : "segmentation"));
    static const char *const targets[] = {"auto", "foreground", "3class", "classes", "image",
                                          "distance"};
    json_object_set_new(p, "target", json_string(targets[t->data.target]));
    json_object_set_new(p, "loss", json_string(t->resolved ? unet__loss_name(t->loss.kind)
                                                           : t->o.loss));
    json_object_set_new(p, "patch", json_integer(t->P)); /* the size used, after rounding */
    json_object_set_new(p, "steps", json_integer(t->step));
    json_object_set_new(p, "total_steps", json_integer(t->total));
    double per_step = (double)t->o.batch * (double)(t->Q * t->Q);
    json_object_set_new(p, "epochs", num(pixels > 0 ? (double)t->step * per_step / pixels : 0));
    json_object_set_new(p, "seconds", json_real(t->seconds));
    json_t *data = json_object();
    json_object_set_new(data, "train", train);
    json_object_set_new(data, "validation", val);
    json_object_set_new(data, "split", json_string(t->data.split_kind[0] ? t->data.split_kind
                                                                         : "none"));
    json_object_set_new(data, "train_pixels", json_real(pixels));
    json_object_set_new(p, "data", data);
    json_t *metric = json_object();
    json_object_set_new(metric, "name", json_string(unet__trainer_metric_name(t)));
    json_object_set_new(metric, "best", num(t->best_value));
    json_object_set_new(metric, "best_step", json_integer(t->best_step));
    json_object_set_new(p, "metric", metric);
    if (t->last_val)
        json_object_set(p, "validation", t->last_val);
    json_t *opts = unet__train_opts_to_json(&t->o);
    if (opts)
        json_object_set_new(p, "options", opts);
    return p;
}

int unet__trainer_update_metadata(struct unet_trainer *t, bool provenance)
{
    unet_model_t *m = t->model;
    json_t *pre = json_object(), *out = json_object();
    json_t *prov = provenance ? unet__trainer_provenance(t) : NULL;
    int rc = UNET_OK;
    if (!pre || !out || (provenance && !prov)) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory writing model metadata");
        goto done;
    }
    json_object_set_new(pre, "normalize", json_string(t->o.normalize));
    if (strcmp(t->o.normalize, "percentile") == 0) {
        json_object_set_new(pre, "low", json_real(t->o.norm_low));
        json_object_set_new(pre, "high", json_real(t->o.norm_high));
    } else if (strcmp(t->o.normalize, "zmuv") == 0) {
        json_object_set_new(pre, "eps", json_real(1e-6));
    }
    rc = unet__model_set_section(m, "preprocessing", pre, UNET_E_INVALID_ARG);
    if (rc == UNET_OK && provenance) {
        json_object_set_new(out, "task", json_string(t->data.restoration ? "restoration"
                                                                         : "segmentation"));
        json_object_set(out, "target", json_object_get(prov, "target"));
        if (!t->data.restoration)
            json_object_set_new(out, "threshold", json_real(t->o.threshold));
        rc = unet__model_set_section(m, "output", out, UNET_E_INVALID_ARG);
        if (rc == UNET_OK)
            rc = unet__model_set_section(m, "training", prov, UNET_E_INVALID_ARG);
    }
done:
    json_decref(pre);
    json_decref(out);
    json_decref(prov);
    return rc;
}

int unet__trainer_save_model(struct unet_trainer *t, const char *path)
{
    int rc = unet__trainer_update_metadata(t, true);
    if (rc == UNET_OK)
        rc = unet__model_refresh(t->model);
    if (rc == UNET_OK)
        rc = unet__model_write_file(t->model, path);
    return rc;
}

/* ---- resumable state ---- */

static json_t *state_json(const struct unet_trainer *t)
{
    json_t *s = json_object();
    if (!s)
        return NULL;
    json_object_set_new(s, "state_version", json_integer(STATE_VERSION));
    json_object_set_new(s, "architecture", unet__config_to_json(&t->model->cfg));
    json_object_set_new(s, "step", json_integer(t->step));
    json_object_set_new(s, "total", json_integer(t->total));
    json_object_set_new(s, "optimizer_steps", json_integer(t->opt.t));
    json_object_set_new(s, "optimizer", json_string(unet__optim_name(t->opt.kind)));
    json_object_set_new(s, "plateau_lr", json_real(t->sched.lr));
    json_object_set_new(s, "plateau_best", num(t->sched.best));
    json_object_set_new(s, "plateau_bad", json_integer(t->sched.num_bad));
    json_object_set_new(s, "plateau_cooldown", json_integer(t->sched.cooldown_left));
    json_object_set_new(s, "best_value", num(t->best_value));
    json_object_set_new(s, "best_step", json_integer(t->best_step));
    json_object_set_new(s, "seconds", json_real(t->seconds));
    json_object_set_new(s, "seed", json_integer(t->o.seed));
    return s;
}

int unet__trainer_save_state(struct unet_trainer *t, const char *path)
{
    const unet__graph *g = &t->model->graph;
    int np = g->nparams;
    unet__st_out *ts = calloc((size_t)np * 3, sizeof *ts);
    char (*names)[UNET__NAME_LEN + 16] = calloc((size_t)np * 3, sizeof *names);
    json_t *meta = state_json(t);
    char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(meta);
    int rc = UNET_OK;
    if (!ts || !names || !text) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory saving the training state");
        goto done;
    }
    size_t n = 0;
    for (int i = 0; i < np; i++) {
        snprintf(names[n], sizeof names[n], "param.%s", g->params[i].name);
        ts[n] = (unet__st_out){names[n], g->params[i].ndim, g->params[i].shape,
                               t->model->params[i]};
        n++;
    }
    for (int i = 0; i < np; i++) {
        if (!t->opt.m[i])
            continue;
        snprintf(names[n], sizeof names[n], "moment1.%s", g->params[i].name);
        ts[n] = (unet__st_out){names[n], g->params[i].ndim, g->params[i].shape, t->opt.m[i]};
        n++;
        snprintf(names[n], sizeof names[n], "moment2.%s", g->params[i].name);
        ts[n] = (unet__st_out){names[n], g->params[i].ndim, g->params[i].shape, t->opt.v[i]};
        n++;
    }
    uint8_t *buf;
    size_t len;
    if ((rc = unet__st_serialize(ts, n, text, &buf, &len)) != UNET_OK)
        goto done;
    /* A temporary file of a unique name renamed into place: a failed or killed save leaves the
     * previous state (and any file of a fixed .tmp name) as it was. */
    rc = unet__output_write_all(path, buf, len);
    free(buf);
done:
    free(ts);
    free(names);
    free(text);
    return rc;
}

static int read_whole(const char *path, uint8_t **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp)
        return unet__fail(UNET_E_IO, "cannot open '%.200s'", path);
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > MAX_STATE_FILE) {
        fclose(fp);
        return unet__fail(UNET_E_IO, "'%.200s' is not a readable training state", path);
    }
    *size = (size_t)st.st_size;
    *data = malloc(*size ? *size : 1);
    if (!*data) {
        fclose(fp);
        return unet__fail(UNET_E_NOMEM, "out of memory reading '%.200s'", path);
    }
    size_t got = fread(*data, 1, *size, fp);
    fclose(fp);
    if (got != *size) {
        free(*data);
        return unet__fail(UNET_E_IO, "cannot read '%.200s'", path);
    }
    return UNET_OK;
}

static const char *text_or(const json_t *v, const char *fallback)
{
    const char *s = json_string_value(v);
    return s ? s : fallback;
}

/* Copy the tensor `name` (shape as the param's) into dst. */
static int take(const unet__st_file *f, const char *name, const unet__param_spec *ps,
                float *dst)
{
    int j = unet__st_find(f, name);
    if (j < 0)
        return unet__fail(UNET_E_FORMAT, "training state: tensor '%s' is missing", name);
    const unet__st_tensor *tn = &f->tensors[j];
    if (tn->numel != ps->numel || tn->dtype != UNET__ST_F32)
        return unet__fail(UNET_E_FORMAT, "training state: tensor '%s' has the wrong shape or "
                                         "type", name);
    return unet__st_to_f32(f, tn, dst);
}

int unet__trainer_load_state(struct unet_trainer *t, const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_whole(path, &data, &size);
    if (rc != UNET_OK)
        return rc;
    unet__st_file f;
    rc = unet__st_parse(data, size, &f);
    if (rc != UNET_OK) {
        free(data);
        return unet__fail_context(rc, "training state");
    }
    json_t *meta = f.metadata_libunet ? json_loads(f.metadata_libunet, 0, NULL) : NULL;
    const unet__graph *g = &t->model->graph;
    unet__config cfg;
    if (!meta || json_integer_value(json_object_get(meta, "state_version")) != STATE_VERSION)
        rc = unet__fail(UNET_E_FORMAT, "'%.200s' is not a libunet training state", path);
    else if (unet__config_from_json(json_object_get(meta, "architecture"), &cfg) != UNET_OK ||
             !unet__config_equal(&cfg, &t->model->cfg))
        rc = unet__fail(UNET_E_INVALID_ARG, "'%.200s' holds a different architecture than the "
                                            "trainer's model", path);
    else if (strcmp(text_or(json_object_get(meta, "optimizer"), "?"),
                    unet__optim_name(t->opt.kind)) != 0)
        rc = unet__fail(UNET_E_INVALID_ARG, "'%.200s' was saved with optimizer %s; the trainer "
                                            "uses %s", path,
                        text_or(json_object_get(meta, "optimizer"), "?"),
                        unet__optim_name(t->opt.kind));
    /* Read everything into scratch first: a failure leaves the trainer as it was. */
    float *scratch = NULL;
    int64_t total = 0;
    for (int i = 0; i < g->nparams; i++)
        total += g->params[i].numel * (t->opt.m[i] ? 3 : 1);
    if (rc == UNET_OK && !(scratch = unet__alloc_floats((size_t)total)))
        rc = unet__fail(UNET_E_NOMEM, "out of memory loading the training state");
    char name[UNET__NAME_LEN + 16];
    float *p = scratch;
    for (int i = 0; i < g->nparams && rc == UNET_OK; i++) {
        snprintf(name, sizeof name, "param.%s", g->params[i].name);
        rc = take(&f, name, &g->params[i], p);
        p += g->params[i].numel;
        if (rc == UNET_OK && t->opt.m[i]) {
            snprintf(name, sizeof name, "moment1.%s", g->params[i].name);
            rc = take(&f, name, &g->params[i], p);
            p += g->params[i].numel;
            snprintf(name, sizeof name, "moment2.%s", g->params[i].name);
            if (rc == UNET_OK)
                rc = take(&f, name, &g->params[i], p);
            p += g->params[i].numel;
        }
    }
    if (rc == UNET_OK) {
        p = scratch;
        for (int i = 0; i < g->nparams; i++) {
            memcpy(t->model->params[i], p, (size_t)g->params[i].numel * sizeof(float));
            p += g->params[i].numel;
            if (t->opt.m[i]) {
                memcpy(t->opt.m[i], p, (size_t)g->params[i].numel * sizeof(float));
                memcpy(t->opt.v[i], p + g->params[i].numel,
                       (size_t)g->params[i].numel * sizeof(float));
                p += 2 * g->params[i].numel;
            }
        }
        t->step = json_integer_value(json_object_get(meta, "step"));
        t->total = json_integer_value(json_object_get(meta, "total"));
        t->opt.t = json_integer_value(json_object_get(meta, "optimizer_steps"));
        t->sched.total = t->total;
        if (t->total > 0)
            t->val_every = t->o.val_every > 0 ? t->o.val_every : (t->total + 9) / 10;
        json_t *v;
        t->sched.lr = json_number_value(json_object_get(meta, "plateau_lr"));
        v = json_object_get(meta, "plateau_best");
        t->sched.best = json_is_number(v) ? json_number_value(v) : INFINITY;
        t->sched.num_bad = (int)json_integer_value(json_object_get(meta, "plateau_bad"));
        t->sched.cooldown_left = (int)json_integer_value(json_object_get(meta,
                                                                         "plateau_cooldown"));
        v = json_object_get(meta, "best_value");
        t->best_value = json_is_number(v) ? json_number_value(v) : NAN;
        t->best_step = json_integer_value(json_object_get(meta, "best_step"));
        t->seconds = json_number_value(json_object_get(meta, "seconds"));
        t->has_grads = false;
        rc = unet__model_refresh(t->model);
    }
    unet__free_aligned(scratch);
    json_decref(meta);
    unet__st_file_clear(&f);
    free(data);
    return rc;
}
