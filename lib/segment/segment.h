/*
 * Streaming segmentation: probability rows in, instance label rows out, in horizontal strips.
 *
 * Why strips are exact: every post-processing step (threshold, distance transform, seeds,
 * flooding; or 3-class seeds and growth) acts on one connected component of the foreground at
 * a time, and a component's result depends only on its own pixels and the background around
 * it. So each strip is segmented with `overlap` rows of context on each side, and a component
 * is owned by the strip whose core holds its top row, provided it ends inside that strip's
 * window: its labels are then those of a whole-image pass. Components taller than the
 * overlap ("giant") cannot be seen whole in bounded memory: their objects are labelled per
 * strip and continue across each seam the label of the previous strip's object they overlap
 * most (never merging two labels already written, so numbering can stream).
 *
 * Final labels are numbered 1..N in raster order of first pixel as rows are emitted.
 */
#ifndef UNET_SEGMENT_SEGMENT_H
#define UNET_SEGMENT_SEGMENT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unet.h"

/* PROB: one foreground channel, split by the watershed of its distance transform; 3CLASS:
 * background, interior, boundary; DISTANCE: foreground and each object's distance to its edge
 * over its largest (training target "distance"). 3CLASS and DISTANCE both give each pixel a
 * class (0 background, 1 core, 2 rim) and a landscape, and flood the cores' components down
 * it (unet__labels_from_cores). */
typedef enum unet__seg_kind {
    UNET__SEG_PROB = 1,
    UNET__SEG_3CLASS = 2,
    UNET__SEG_DISTANCE = 3
} unet__seg_kind;

/* ---- rules.c: what a model's `output` metadata says about making instances ---- */
struct unet_model;
typedef struct unet__seg_rules {
    unet__seg_kind kind;
    bool logits;         /* PROB, DISTANCE: the channels hold logits (sigmoid not applied) */
    double threshold;    /* metadata or 0.5 */
    double seed_level;   /* DISTANCE: cores are where the distance passes it; metadata or 0.5 */
    double min_distance; /* metadata or 4 */
    double min_size;     /* metadata or 16 */
    bool components;     /* "instances": "components" (click-to-segment: no watershed split) */
} unet__seg_rules;
/* UNET_E_UNSUPPORTED for a restoration model or channels that give no instances; `who`
 * names the caller's task in the message. Values are not range-checked here. */
int unet__seg_rules_from_model(const struct unet_model *m, const char *who, unet__seg_rules *r);
/* UNET_E_FORMAT unless threshold in [0, 1], min_distance in [1, 1000], min_size in
 * [0, 2^31]. */
int unet__seg_rules_check(double threshold, double min_distance, double min_size);
/* The options of making instances, shared by segment and click options (same keys, same
 * ranges; the table is in rules.c). "auto" values defer to the model's rules. */
typedef struct unet__instance_opts {
    double threshold;  /* NaN: auto */
    int min_distance;  /* 0: auto */
    int split;         /* -1: auto */
    int64_t min_size;  /* -1: auto */
} unet__instance_opts;
#include "core/opts_table.h"
#define UNET__INSTANCE_OPT_COUNT 4
extern const unet__opt unet__instance_opt_entries[UNET__INSTANCE_OPT_COUNT];
/* The values in force: the options' where set, else the rules'; UNET_E_FORMAT when the
 * model's metadata gives values out of range (seed_level outside [0, 1] too). */
typedef struct unet__instance_params {
    double threshold, min_distance, min_size, seed_level; /* seed_level: the rules' */
    bool split;
} unet__instance_params;
int unet__instance_resolve(const unet__seg_rules *r, const unet__instance_opts *o,
                           unet__instance_params *p);
/* A number of an output-metadata object, or fallback. */
struct json_t;
double unet__meta_number(const struct json_t *output, const char *key, double fallback);
/* Whether the output-metadata object's `key` is the string `value`. */
bool unet__meta_is(const struct json_t *output, const char *key, const char *value);

typedef struct unet__seg_params {
    unet__seg_kind kind;
    bool logits;          /* PROB, DISTANCE: the channels hold logits (sigmoid not applied) */
    float threshold;
    float seed_level;     /* DISTANCE */
    int min_distance;
    int64_t min_size;
    bool split;           /* PROB, DISTANCE: split (else connected components) */
    int rank;             /* connectivity rank: 1 (4-connected) or 2 (8) */
    int threads;
    int64_t strip, overlap; /* rows; both >= 1 */
} unet__seg_params;

/* How objects are cut out of the model's output, for unet_segment and click sessions alike:
 * the model's rules with the options' instance values over them (o may be NULL), 4-connected;
 * threads, strip and overlap are left 0 for the caller. Errors as unet__seg_rules_from_model
 * and unet__instance_resolve. */
int unet__seg_params_from_model(const struct unet_model *m, const char *who,
                                const unet__instance_opts *o, unet__seg_params *p);

/* A probability from the model's output value (the sigmoid of a logit). */
static inline float unet__seg_prob(bool logits, float v)
{
    return logits ? 1.0f / (1.0f + expf(-v)) : v;
}

/* The class of pixel i of the model output `rows` (channels `plane` floats apart): PROB: 1
 * when the probability is above the threshold, else 0; DISTANCE: 0 unless the foreground
 * probability is above the threshold, then 1 where the distance passes seed_level, else 2;
 * 3CLASS: the argmax of background 0, interior 1, boundary 2, ties to the lower class
 * exactly as unet_labels_from_3class. NaN gives 0 (callers refuse NaN first). */
static inline uint8_t unet__seg_class(const unet__seg_params *p, const float *rows,
                                      int64_t plane, int64_t i)
{
    if (p->kind == UNET__SEG_PROB)
        return unet__seg_prob(p->logits, rows[i]) > p->threshold;
    if (p->kind == UNET__SEG_DISTANCE)
        return !(unet__seg_prob(p->logits, rows[i]) > p->threshold) ? 0
               : unet__seg_prob(p->logits, rows[plane + i]) > p->seed_level ? 1
                                                                            : 2;
    float bg = rows[i], in = rows[plane + i], bd = rows[2 * plane + i];
    return in > bg && in >= bd ? 1 : bd > bg && bd > in ? 2 : 0;
}

/* Receives finished label rows [y, y+h) (h x width, final ids). */
typedef int (*unet__seg_emit_fn)(void *user, int64_t y, int64_t h, const uint32_t *labels);

/* What the segmenter allocated: asserted by tests (bounded memory). */
typedef struct unet__seg_stats {
    size_t scratch_bytes;      /* the segmenter's own buffers */
    int64_t window_rows;       /* rows of the largest window segmented at once */
    int64_t strips, giant_objects;
} unet__seg_stats;

typedef struct unet__seg unet__seg;

int unet__seg_create(const unet__seg_params *p, int64_t height, int64_t width,
                     unet__seg_emit_fn emit, void *emit_user, unet__seg **out);
void unet__seg_free(unet__seg *s);
/* Append rows [y, y+h) of the model output, (C, h, width) float32 with C = 1 (PROB), 2
 * (DISTANCE) or 3 (3CLASS); rows arrive in order. Strips are segmented and emitted as soon as
 * their window is complete; the last call (reaching the height) flushes everything. */
int unet__seg_push(unet__seg *s, int64_t y, int64_t h, const float *rows);
uint32_t unet__seg_count(const unet__seg *s);
const unet__seg_stats *unet__seg_get_stats(const unet__seg *s);

/* The sizes a segmentation takes, before anything is allocated: the image of height x width
 * and its resized form sh x sw under the engine's total-size rule (so no product wraps), and
 * the options' max_pixels on the image as given (limits.c). */
struct unet_predict_opts;
int unet__segment_check_size(const struct unet_predict_opts *po, int64_t channels,
                             int64_t out_channels, int64_t height, int64_t width, int64_t sh,
                             int64_t sw);

#endif
