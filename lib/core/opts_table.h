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
 */
#ifndef UNET_CORE_OPTS_TABLE_H
#define UNET_CORE_OPTS_TABLE_H

#include <jansson.h>
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
} unet__opts_section;

typedef struct unet__opts_table {
    const char *what;   /* "predict", "segment", ...: messages say "<what> option <key>" */
    const unet__opts_section *sections;
    int nsections;
    size_t size;        /* sizeof the object's struct */
} unet__opts_table;

/* Every entry of the table to its default. */
void unet__opts_defaults(const unet__opts_table *t, void *o);
/* Copy the values of `count` entries from struct src to struct dst (nothing else: no caches,
 * callbacks or flags). */
void unet__opts_copy(const unet__opt *opts, int count, void *dst, const void *src);
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

/* The name, offset and size of field f of struct type T, for designated initialisers:
 * {UNET__OPT_AT(T, tile), .type = UNET__OPT_I64, ...}. */
#define UNET__OPT_AT(T, f) .name = #f, .offset = offsetof(T, f), .size = sizeof(((T *)0)->f)

#endif
