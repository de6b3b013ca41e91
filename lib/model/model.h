/*
 * The model object behind unet_model_t (DESIGN section 2, layer "model"): the graph built from
 * a config, its parameters, the inference plans, the metadata sections, and what every user of
 * a model resolves from them the same way (normalisation, halo, border mode). Prediction,
 * post-processing, segmentation, click sessions and training sit above this layer; api/ wraps
 * it for callers.
 */
#ifndef UNET_MODEL_MODEL_H
#define UNET_MODEL_MODEL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/threads.h" /* unet__resolve_threads, for every user of the model */
#include "graph/config.h"
#include "graph/exec_fast.h"
#include "graph/exec_ref.h"
#include "graph/graph.h"
#include "unet.h"

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

/* ---- the object (model.c) ---- */

/* A model of the config with its graph (built by unet__build_unet from cfg, and checked by the
 * caller as it needs) and zero-filled parameters (no plan yet). The model takes the graph:
 * *graph is emptied, and cleared on failure. */
int unet__model_new(const unet__config *cfg, unet__graph *graph, struct unet_model **out);
void unet__model_free(struct unet_model *m); /* NULL-safe */
/* He initialisation: N(0, 2 / fan_in) weights, zero biases, unit norm scales. */
void unet__model_init_params(struct unet_model *m, uint64_t seed);
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
/* The halo a prediction uses by default: the larger of the stated and the computed one. */
int unet__model_halo(const struct unet_model *m);

/* ---- forward.c ---- */
/* A model of the config JSON (unet_model_create's document) with He-initialised weights. */
int unet__model_create(const char *config_json, uint64_t seed, struct unet_model **out);
/* The network on a whole batch of shape (N, C, H, W) (checked against the model) into output
 * (of the model's output shape); threads 0: all; precise: no Winograd. The activations are
 * checked against the memory budget first. */
int unet__model_forward(const struct unet_model *m, const float *input, const int64_t *shape,
                        float *output, int threads, bool precise);

/* ---- files (file.c): the safetensors container plus __metadata__["libunet"] ---- */

/* A model from the bytes of a model file; config_json (may be NULL) must match the stored
 * architecture, or supplies it when the file has none. */
int unet__model_parse(const void *data, size_t size, const char *config_json,
                      struct unet_model **out);
/* A model from a file (a regular file, size checked before reading); messages name it. */
int unet__model_read_file(const char *path, const char *config_json, struct unet_model **out);
/* The model file's bytes (malloc'd, the caller frees). */
int unet__model_serialize(const struct unet_model *m, void **data, size_t *size);
/* Write the model file through a temporary file renamed into place (never a torn model). */
int unet__model_write_file(const struct unet_model *m, const char *path);

/* ---- normalisation (norm.c) ---- */

/* Normalisation in force: mode (UNET_NORMALIZE_NONE/ZMUV/PERCENTILE/FIXED), parameters. */
typedef struct unet__norm {
    int mode;
    double a, b, eps;
} unet__norm;
/* The normalisation of a prediction asked for `mode` (a, b its parameters): that one, or for
 * UNET_NORMALIZE_MODEL the model's preprocessing metadata (none when it has none). */
unet__norm unet__model_norm(const struct unet_model *m, int mode, double a, double b);

/* ---- halo and border (edges.c): one rule for the tiler and click sessions ---- */

/* The border mode and halo a prediction runs with: border UNET_BORDER_DEFAULT is "network"
 * for same padding and "reflect" otherwise, "network" needs same padding; halo < 0 means
 * model_halo, a valid-padding model's halo is fixed, a smaller halo than the receptive-field
 * margin needs `unsafe`. UNET_E_INVALID_ARG with a message otherwise. */
int unet__resolve_edges(bool same_padding, int model_halo, int margin, int border,
                        int64_t halo, bool unsafe, int *border_out, int64_t *halo_out);

#endif
