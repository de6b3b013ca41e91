/* The model object behind unet_model_t, shared by the api/ sources. */
#ifndef UNET_API_MODEL_INTERNAL_H
#define UNET_API_MODEL_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/threads.h" /* unet__resolve_threads, for every user of the model */
#include "graph/config.h"
#include "graph/exec_fast.h"
#include "graph/exec_ref.h"
#include "graph/graph.h"

#define UNET__FORMAT_VERSION 1

struct unet_model {
    unet__config cfg;
    unet__graph graph;
    float **params;        /* per graph param: its data (inside param_storage) */
    float *param_storage;  /* all parameters, one allocation */
    unet__plan plan;       /* inference weights (batchnorm folded); rebuilt on change */
    unet__fast_plan fast;  /* packed weights of the fast executor, built from plan */
    json_t *preprocessing; /* metadata sections, NULL when absent */
    json_t *output;
    json_t *training;
    int stated_halo;       /* halo from the metadata, -1 when absent */
    int computed_halo;     /* from shape analysis */
    int block_multiple;
    char *arch_json;       /* cached strings returned by getters */
    char *meta_json;
    atomic_bool stale;     /* weights changed since the plan was built (see model_sync) */
    pthread_mutex_t sync_lock;
};

/* A model with the config's graph and zero-filled parameters (no plan yet). */
int unet__model_new(const unet__config *cfg, struct unet_model **out);
/* Rebuild the plan and the cached JSON strings after a change of weights or metadata. */
int unet__model_refresh(struct unet_model *m);
/* Note a change of weights without rebuilding now (a training step: the plan is only needed
 * when the model predicts, which may be never between two steps). */
void unet__model_touch(struct unet_model *m);
/* Rebuild what a touch left stale; every reader of the plan or the cached strings calls it
 * first. Safe from several threads at once. */
int unet__model_sync(const struct unet_model *m);
/* The metadata document as a new JSON object; with_crc adds "crc32" (for files). */
json_t *unet__model_metadata_json(const struct unet_model *m, const char *crc32_hex);
/* Validate and set one metadata section (takes a new reference to value, which may be NULL). */
int unet__model_set_section(struct unet_model *m, const char *key, json_t *value, int error_code);
/* Run the tiled predictor for a model over any source and sink (api/predict.c); opts NULL
 * means defaults. Declared with incomplete types so this header needs no predict/ headers. */
struct unet__source;
struct unet__sink;
struct unet_predict_opts;
int unet__predict_with_model(const struct unet_model *m, const struct unet_predict_opts *opts,
                             const struct unet__source *src, const struct unet__sink *sink);
/* The normalisation in force for a prediction: the options' override, else the model's
 * preprocessing metadata (api/predict.c; struct unet__norm is in predict/predict.h). */
struct unet__norm unet__model_norm(const struct unet_model *m, const struct unet_predict_opts *o);

#endif
