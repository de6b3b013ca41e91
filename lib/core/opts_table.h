/*
 * One option mechanism for every public options object (predict, segment, click, train, post,
 * sample). An object's options are described by a table of entries (name, type, offset in the
 * object's struct, default, bounds, choices, help); the same table serves the typed setters,
 * the generic key/value setter, the JSON setter, the values as JSON and the describe JSON, so
 * none of them can drift from the others. A table is made of sections, so segment and click
 * options can embed the predict entries unchanged at the offset of their predict copy.
 *
 * A refused value leaves the object unchanged; messages name the object, key, value and
 * bounds ("segment option min_distance = 0 is out of range [1, 1000] (or auto)").
 *
 * The table also describes the exported object (its calls' prefix, where its cached strings
 * are, what its defaults need besides the entries), so the work of every exported
 * create/free/set/set_json/json/describe call, argument checks included, is done here once:
 * each exported function is one call of an unet__opts_api_* function.
 */
#ifndef UNET_CORE_OPTS_TABLE_H
#define UNET_CORE_OPTS_TABLE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum unet__opt_type {
    UNET__OPT_INT,    /* int */
    UNET__OPT_I64,    /* int64_t */
    UNET__OPT_DOUBLE, /* double */
    UNET__OPT_BOOL,   /* bool, or int when the key takes "auto" (-1) */
    UNET__OPT_NAME,   /* one of `choices`: its index as an int, or the text (size > 0) */
    UNET__OPT_TEXT    /* a string in a char buffer of `size` bytes */
} unet__opt_type;

typedef struct unet__opt {
    const char *name;
    unet__opt_type type;
    size_t offset;      /* of the field in the section's struct */
    size_t size;        /* the field's size (text buffers; bool vs int) */
    double def;         /* numbers and bools: the default; NAME by index: its index */
    double min, max;    /* numbers: inclusive bounds */
    const char *def_text; /* TEXT, NAME stored as text: the default */
    const char *choices;  /* NAME: space-separated names; numbers: the only values allowed */
    /* A word the key also takes for a value outside [min, max] ("auto", "whole"), and whether
     * the value itself is accepted as a number too (tile 0 and -1) or only as the word (then
     * JSON shows it as null, as for min_distance's auto). Up to two. */
    struct {
        const char *word;
        double value; /* NaN allowed (threshold's auto) */
        bool numeric;
    } special[2];
    const char *help;
} unet__opt;

typedef struct unet__opts_section {
    const unet__opt *opts;
    int count;
    size_t base; /* offset of the section's struct inside the object */
    const char *name; /* an embedded object's options ("predict"; NULL for the object's own):
                       * unet_<object>_opts_set_<name>_opts copies them */
} unet__opts_section;

typedef struct unet__opts_table {
    const char *what;   /* "predict", "segment", ...: messages say "<what> option <key>" */
    const unet__opts_section *sections;
    int nsections;
    size_t size;        /* sizeof the object's struct */
    const char *api;    /* prefix of the exported calls ("unet_predict_opts"): messages */
    size_t json_at, describe_at; /* offsets of the object's cached strings (char *) */
    void (*init)(void *o); /* what the entries' defaults leave out (atomic flags); or NULL */
} unet__opts_table;

/* Every entry of the table to its default. */
void unet__opts_defaults(const unet__opts_table *t, void *o);
/* A whole object at its defaults: zeros, the entries' defaults, then t->init. */
void unet__opts_init(const unet__opts_table *t, void *o);
/* o, or (o NULL) `defaults` initialised: the options in force for a call. */
const void *unet__opts_or_defaults(const unet__opts_table *t, const void *o, void *defaults);
/* Copy the values of `count` entries from struct src to struct dst (nothing else: no caches,
 * callbacks or flags). */
void unet__opts_copy(const unet__opt *opts, int count, void *dst, const void *src);
/* The values of every entry of every section from object src to object dst. */
void unet__opts_copy_values(const unet__opts_table *t, void *dst, const void *src);
/* 1 when structs a and b hold equal values for `count` entries, else 0. */
int unet__opts_equal(const unet__opt *opts, int count, const void *a, const void *b);

/* The generic setter: a value as text (numbers, true/false, names, "auto", ...). */
int unet__opts_set_text(const unet__opts_table *t, void *o, const char *key, const char *value);
/* Typed setters' path: the same checks for a number (bools: 0 / 1; "auto" specials by value). */
int unet__opts_set_i64(const unet__opts_table *t, void *o, const char *key, int64_t value);
int unet__opts_set_double(const unet__opts_table *t, void *o, const char *key, double value);
/* Every key of a JSON object (numbers, booleans, strings, null for "auto"); all or nothing. */
int unet__opts_set_object(const unet__opts_table *t, void *o, const json_t *obj);
/* The same from JSON text. */
int unet__opts_set_json(const unet__opts_table *t, void *o, const char *text);

/* The values as a JSON object (new reference; NULL when out of memory). */
json_t *unet__opts_to_json(const unet__opts_table *t, const void *o);
/* The values / the table as compact JSON text in *cache (replaced; freed by the owner). */
int unet__opts_json(const unet__opts_table *t, const void *o, char **cache, const char **out);
int unet__opts_describe(const unet__opts_table *t, char **cache, const char **out);

/* ---- the exported calls' work: each clears the error message and checks its arguments,
 * with messages naming the exported call ("unet_segment_opts_set: key or value is NULL") ---- */

/* unet_<object>_opts_create (out really is a pointer to a pointer to the object) and _free. */
int unet__opts_api_create(const unet__opts_table *t, void **out);
void unet__opts_api_free(const unet__opts_table *t, void *o);
/* The check of a setter's options object alone: UNET_E_INVALID_ARG when o is NULL. */
int unet__opts_api_check(const unet__opts_table *t, const void *o);
int unet__opts_api_set(const unet__opts_table *t, void *o, const char *key, const char *value);
int unet__opts_api_set_json(const unet__opts_table *t, void *o, const char *text);
int unet__opts_api_json(const unet__opts_table *t, const void *o, const char **json);
int unet__opts_api_describe(const unet__opts_table *t, const void *o, const char **json);
/* Typed setters: one key (_bool: any non-zero value is true). */
int unet__opts_api_set_i64(const unet__opts_table *t, void *o, const char *key, int64_t value);
int unet__opts_api_set_double(const unet__opts_table *t, void *o, const char *key,
                              double value);
int unet__opts_api_set_bool(const unet__opts_table *t, void *o, const char *key, int value);
/* unet_<object>_opts_set_<name>_opts: the values of an embedded object's entries (section s)
 * copied from that object, src. */
int unet__opts_api_set_section(const unet__opts_table *t, void *o, int s, const void *src);
/* _cancel and _reset_cancel: set a cancel flag to value; flag NULL (the object is NULL) gives
 * UNET_E_INVALID_ARG without a message, as this may run on any thread at any time. */
int unet__opts_api_flag(atomic_int *flag, int value);

/* A table's fields that describe its object, struct T: size and cached strings (`json` and
 * `describe`): {.what = ..., .api = ..., UNET__OPTS_OBJECT(T)}. */
#define UNET__OPTS_OBJECT(T)                                                                   \
    .size = sizeof(T), .json_at = offsetof(T, json), .describe_at = offsetof(T, describe)
/* A section of the object's own entries, an array at the object's start. */
#define UNET__OPTS_OWN(entries) {entries, (int)(sizeof entries / sizeof entries[0]), 0, NULL}

/* The name, offset and size of field f of struct type T, for designated initialisers:
 * {UNET__OPT_AT(T, tile), .type = UNET__OPT_I64, ...}. */
#define UNET__OPT_AT(T, f) .name = #f, .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)

#endif
