/*
 * The one option mechanism of the 1.0 API, object by object: the generic setter, the JSON
 * setter, the values as JSON, the describe table (parsed as JSON: names, types, bounds), refused
 * values (a message naming the value and the bounds, the options unchanged); predict options
 * copied into segment and click options; click sessions keeping or dropping their cache on
 * set_opts; built-in models; the sample generator.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"
#include "api_calls.h"
#include "run_suite.h"

/* ---- one table per options object, through function pointers ---- */

typedef struct kind {
    const char *name;
    int (*create)(void **);
    void (*destroy)(void *);
    int (*set)(void *, const char *, const char *);
    int (*set_json)(void *, const char *);
    int (*json)(const void *, const char **);
    int (*describe)(const void *, const char **);
} kind;

#define KIND(x)                                                                               \
    {#x, (int (*)(void **))unet_##x##_opts_create, (void (*)(void *))unet_##x##_opts_free,    \
     (int (*)(void *, const char *, const char *))unet_##x##_opts_set,                         \
     (int (*)(void *, const char *))unet_##x##_opts_set_json,                                  \
     (int (*)(const void *, const char **))unet_##x##_opts_json,                               \
     (int (*)(const void *, const char **))unet_##x##_opts_describe}

static const kind kinds[] = {KIND(predict), KIND(segment), KIND(click),
                             KIND(train),   KIND(post),    KIND(sample)};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    ck_assert_msg(v != NULL, "not JSON (%s): %.200s", err.text, text);
    return v;
}

static json_t *values(const kind *k, void *o)
{
    const char *text = NULL;
    ck_assert_int_eq(k->json(o, &text), UNET_OK);
    return parse(text);
}

/* The describe entry of `key`, or NULL. */
static const json_t *entry(const json_t *table, const char *key)
{
    size_t i;
    const json_t *e;
    json_array_foreach(table, i, e)
        if (strcmp(json_string_value(json_object_get(e, "name")), key) == 0)
            return e;
    return NULL;
}

static json_t *describe(const kind *k, void *o)
{
    const char *text = NULL;
    ck_assert_int_eq(k->describe(o, &text), UNET_OK);
    json_t *t = parse(text);
    ck_assert(json_is_array(t));
    return t;
}

/* Every object: describe is an array of complete entries whose defaults equal a new object's
 * values, and its names are exactly the keys of the values. */
START_TEST(test_describe_matches_values)
{
    for (int i = 0; i < NKINDS; i++) {
        const kind *k = &kinds[i];
        void *o;
        ck_assert_int_eq(k->create(&o), UNET_OK);
        json_t *t = describe(k, o), *v = values(k, o);
        ck_assert_int_eq(json_array_size(t), json_object_size(v));
        size_t j;
        json_t *e;
        json_array_foreach(t, j, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *type = json_string_value(json_object_get(e, "type"));
            ck_assert_msg(name && type, "%s entry %zu lacks name or type", k->name, j);
            static const char *const fields[] = {"default", "min", "max", "choices", "special",
                                                 "help"};
            for (int f = 0; f < 6; f++)
                ck_assert_msg(json_object_get(e, fields[f]) != NULL, "%s.%s lacks %s", k->name,
                              name, fields[f]);
            ck_assert_msg(json_equal(json_object_get(e, "default"), json_object_get(v, name)),
                          "%s.%s: the default differs from a new object's value", k->name, name);
            ck_assert(strstr("int double bool name text", type) != NULL);
            if (strcmp(type, "name") == 0)
                ck_assert(json_array_size(json_object_get(e, "choices")) > 0);
        }
        /* The strings stay valid until the object changes or is freed: values round-trip. */
        const char *text;
        ck_assert_int_eq(k->json(o, &text), UNET_OK);
        char *copy = strdup(text);
        ck_assert_int_eq(k->set_json(o, copy), UNET_OK);
        ck_assert_int_eq(k->json(o, &text), UNET_OK);
        ck_assert_str_eq(text, copy);
        free(copy);
        json_decref(t);
        json_decref(v);
        k->destroy(o);
    }
}
END_TEST

/* The same parameter has the same name and range everywhere. */
START_TEST(test_shared_names_and_ranges)
{
    static const struct {
        const char *key;
        double min, max;
        const char *kinds[4];
    } shared[] = {
        {"min_distance", 1, 1000, {"segment", "click", "post", NULL}},
        {"threshold", 0, 1, {"segment", "click", "post", "train"}},
        {"min_size", 0, 2147483648.0, {"segment", "click", "post", NULL}},
        {"threads", 0, 1024, {"predict", "segment", "click", "train"}},
        {"tile", 1, 1048576, {"predict", "segment", "click", NULL}},
    };
    for (size_t s = 0; s < sizeof shared / sizeof shared[0]; s++)
        for (int n = 0; n < 4 && shared[s].kinds[n]; n++)
            for (int i = 0; i < NKINDS; i++) {
                if (strcmp(kinds[i].name, shared[s].kinds[n]) != 0)
                    continue;
                void *o;
                ck_assert_int_eq(kinds[i].create(&o), UNET_OK);
                json_t *t = describe(&kinds[i], o);
                const json_t *e = entry(t, shared[s].key);
                ck_assert_msg(e != NULL, "%s options have no %s", kinds[i].name,
                              shared[s].key);
                ck_assert_msg(json_number_value(json_object_get(e, "min")) == shared[s].min &&
                                  json_number_value(json_object_get(e, "max")) ==
                                      shared[s].max,
                              "%s.%s: range [%g, %g]", kinds[i].name, shared[s].key,
                              json_number_value(json_object_get(e, "min")),
                              json_number_value(json_object_get(e, "max")));
                json_decref(t);
                kinds[i].destroy(o);
            }
    /* split is a bool taking "auto" in segment and click options. */
    for (int i = 1; i <= 2; i++) {
        void *o;
        ck_assert_int_eq(kinds[i].create(&o), UNET_OK);
        json_t *t = describe(&kinds[i], o);
        const json_t *e = entry(t, "split");
        ck_assert_str_eq(json_string_value(json_object_get(e, "type")), "bool");
        ck_assert(json_is_null(json_object_get(e, "default")));
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "special"), 0)),
                         "auto");
        json_decref(t);
        kinds[i].destroy(o);
    }
}
END_TEST

/* A refused value: the message names the key, the value and the bounds; nothing changes. */
static void refuse(const kind *k, void *o, const char *key, const char *value,
                   const char *needle)
{
    const char *before_text;
    ck_assert_int_eq(k->json(o, &before_text), UNET_OK);
    char *before = strdup(before_text);
    ck_assert_int_eq(k->set(o, key, value), UNET_E_INVALID_ARG);
    ck_assert_msg(strstr(unet_last_error(), needle) != NULL, "%s %s=%s: message \"%s\" lacks "
                  "\"%s\"", k->name, key, value, unet_last_error(), needle);
    const char *after;
    ck_assert_int_eq(k->json(o, &after), UNET_OK);
    ck_assert_str_eq(after, before);
    free(before);
}

START_TEST(test_generic_setter)
{
    void *o;
    const kind *seg = &kinds[1], *post = &kinds[4], *pred = &kinds[0], *train = &kinds[3];
    ck_assert_int_eq(seg->create(&o), UNET_OK);
    ck_assert_int_eq(seg->set(o, "min_distance", "7"), UNET_OK);
    ck_assert_int_eq(seg->set(o, "threshold", "0.25"), UNET_OK);
    ck_assert_int_eq(seg->set(o, "split", "false"), UNET_OK);
    ck_assert_int_eq(seg->set(o, "tile", "whole"), UNET_OK);
    ck_assert_int_eq(seg->set(o, "border", "reflect"), UNET_OK);
    ck_assert_int_eq(seg->set(o, "strip_rows", "64"), UNET_OK);
    json_t *v = values(seg, o);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "min_distance")), 7);
    ck_assert(json_real_value(json_object_get(v, "threshold")) == 0.25);
    ck_assert(json_is_false(json_object_get(v, "split")));
    ck_assert_int_eq(json_integer_value(json_object_get(v, "tile")), UNET_TILE_WHOLE);
    ck_assert_str_eq(json_string_value(json_object_get(v, "border")), "reflect");
    ck_assert(json_is_null(json_object_get(v, "min_size"))); /* still auto */
    json_decref(v);
    refuse(seg, o, "min_distance", "0", "min_distance = 0 is out of range [1, 1000]");
    refuse(seg, o, "min_distance", "1001", "[1, 1000]");
    refuse(seg, o, "min_distance", "2.5", "must be an integer");
    refuse(seg, o, "threshold", "1.5", "threshold = 1.5 is out of range [0, 1]");
    refuse(seg, o, "threshold", "nan", "threshold");
    refuse(seg, o, "tile", "0.5", "tile");
    refuse(seg, o, "split", "maybe", "must be true or false");
    refuse(seg, o, "border", "mirror", "not one of: auto network reflect zero");
    refuse(seg, o, "scale", "30", "[0.05, 20]");
    refuse(seg, o, "colour", "blue", "unknown segment option 'colour'");
    /* "auto" puts a key back to the model's value. */
    ck_assert_int_eq(seg->set(o, "min_distance", "auto"), UNET_OK);
    v = values(seg, o);
    ck_assert(json_is_null(json_object_get(v, "min_distance")));
    json_decref(v);
    ck_assert_int_eq(seg->set(NULL, "tile", "8"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(seg->set(o, NULL, "8"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(seg->set(o, "tile", NULL), UNET_E_INVALID_ARG);
    seg->destroy(o);

    ck_assert_int_eq(post->create(&o), UNET_OK);
    refuse(post, o, "connectivity", "5", "connectivity = 5 is not one of 0 4 8 6 18 26");
    refuse(post, o, "max_size", "4611686018427387905", "[0, 4611686018427387904]");
    refuse(post, o, "min_distance", "0", "[1, 1000]");
    ck_assert_int_eq(post->set(o, "connectivity", "8"), UNET_OK);
    ck_assert_int_eq(post->set(o, "max_size", "4611686018427387904"), UNET_OK);
    post->destroy(o);

    ck_assert_int_eq(pred->create(&o), UNET_OK);
    refuse(pred, o, "batch", "65", "batch = 65 is out of range [1, 64]");
    refuse(pred, o, "threads", "-1", "[0, 1024]");
    refuse(pred, o, "min_distance", "4", "unknown predict option");
    ck_assert_int_eq(pred->set(o, "normalize", "percentile"), UNET_OK);
    ck_assert_int_eq(pred->set(o, "norm_low", "2"), UNET_OK);
    ck_assert_int_eq(pred->set(o, "halo", "auto"), UNET_OK);
    pred->destroy(o);

    ck_assert_int_eq(train->create(&o), UNET_OK);
    refuse(train, o, "lr", "11", "lr = 11 is out of range [0, 10]");
    refuse(train, o, "optimizer", "rmsprop", "not one of: sgd adam adamw");
    ck_assert_int_eq(train->set(o, "class_weights", "1,2,5"), UNET_OK);
    train->destroy(o);
}
END_TEST

START_TEST(test_json_setter)
{
    const kind *click = &kinds[2];
    void *o;
    ck_assert_int_eq(click->create(&o), UNET_OK);
    ck_assert_int_eq(click->set_json(o, "{\"threshold\": 0.3, \"split\": false, \"max_extent\": "
                                        "512, \"normalize\": \"zmuv\", \"precise\": true}"),
                     UNET_OK);
    json_t *v = values(click, o);
    ck_assert(json_real_value(json_object_get(v, "threshold")) == 0.3);
    ck_assert(json_is_false(json_object_get(v, "split")));
    ck_assert_int_eq(json_integer_value(json_object_get(v, "max_extent")), 512);
    ck_assert_str_eq(json_string_value(json_object_get(v, "normalize")), "zmuv");
    ck_assert(json_is_true(json_object_get(v, "precise")));
    json_decref(v);
    /* All or nothing: one bad key leaves every key as it was. */
    const char *text;
    ck_assert_int_eq(click->json(o, &text), UNET_OK);
    char *before = strdup(text);
    ck_assert_int_eq(click->set_json(o, "{\"threshold\": 0.9, \"min_distance\": 2000}"),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "min_distance = 2000 is out of range "
                                                    "[1, 1000]"));
    ck_assert_int_eq(click->set_json(o, "{\"threshold\": true}"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(click->set_json(o, "{\"max_extent\": null}"), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "no automatic value"));
    ck_assert_int_eq(click->set_json(o, "{\"max_extent\": [1]}"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(click->set_json(o, "[1, 2]"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(click->set_json(o, "{\"threshold\": "), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "invalid JSON"));
    ck_assert_int_eq(click->json(o, &text), UNET_OK);
    ck_assert_str_eq(text, before);
    free(before);
    /* null is "auto" for the keys that have it. */
    ck_assert_int_eq(click->set_json(o, "{\"threshold\": null, \"split\": null}"), UNET_OK);
    v = values(click, o);
    ck_assert(json_is_null(json_object_get(v, "threshold")));
    ck_assert(json_is_null(json_object_get(v, "split")));
    json_decref(v);
    click->destroy(o);
}
END_TEST

/* Typed setters go through the same table: same bounds, same messages. */
START_TEST(test_typed_setters)
{
    unet_segment_opts_t *s;
    ck_assert_int_eq(unet_segment_opts_create(&s), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_min_distance(s, 0), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "[1, 1000]"));
    ck_assert_int_eq(unet_segment_opts_set_tile(s, 64), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_split(s, 0), UNET_OK);
    const char *text;
    ck_assert_int_eq(unet_segment_opts_json(s, &text), UNET_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"tile\":64"));
    ck_assert_ptr_nonnull(strstr(text, "\"split\":false"));
    unet_segment_opts_free(s);
    unet_predict_opts_t *p;
    ck_assert_int_eq(unet_predict_opts_create(&p), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(p, (unet_border_t)9), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_border(p, UNET_BORDER_ZERO), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_normalize(p, UNET_NORMALIZE_PERCENTILE, 50, 10),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_normalize(p, UNET_NORMALIZE_FIXED, 3, 2), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_json(p, &text), UNET_OK);
    json_t *v = parse(text);
    ck_assert_str_eq(json_string_value(json_object_get(v, "border")), "zero");
    ck_assert_str_eq(json_string_value(json_object_get(v, "normalize")), "fixed");
    ck_assert(json_number_value(json_object_get(v, "norm_mean")) == 3);
    ck_assert(json_number_value(json_object_get(v, "norm_std")) == 2);
    json_decref(v);
    unet_predict_opts_free(p);
    unet_sample_opts_t *so;
    ck_assert_int_eq(unet_sample_opts_create(&so), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set_seed(so, ((uint64_t)1 << 53) + 1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_sample_opts_set(so, "bits", "10"), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "one of 8 12 16"));
    unet_sample_opts_free(so);
}
END_TEST

/* Segment and click options hold a copy of the predict options: later changes of the predict
 * options do not reach them. */
START_TEST(test_predict_opts_are_copied)
{
    unet_predict_opts_t *p;
    unet_segment_opts_t *s;
    unet_click_opts_t *c;
    ck_assert_int_eq(unet_predict_opts_create(&p), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_create(&s), UNET_OK);
    ck_assert_int_eq(unet_click_opts_create(&c), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(p, 96), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set(p, "normalize", "zmuv"), UNET_OK);
    ck_assert_int_eq(unet_segment_opts_set_predict_opts(s, p), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set_predict_opts(c, p), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(p, 128), UNET_OK);
    unet_predict_opts_free(p);
    const char *text;
    ck_assert_int_eq(unet_segment_opts_json(s, &text), UNET_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"tile\":96"));
    ck_assert_ptr_nonnull(strstr(text, "\"normalize\":\"zmuv\""));
    ck_assert_int_eq(unet_click_opts_json(c, &text), UNET_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"tile\":96"));
    ck_assert_int_eq(unet_segment_opts_set_predict_opts(s, NULL), UNET_E_INVALID_ARG);
    unet_segment_opts_free(s);
    unet_click_opts_free(c);
}
END_TEST

/* ---- click sessions: set_opts keeps the cache for post-processing keys only ---- */

static int64_t runs_of(const unet_click_session_t *s)
{
    int64_t runs = -1;
    ck_assert_int_eq(unet_click_session_stats(s, &runs, NULL, NULL), UNET_OK);
    return runs;
}

/* The built-in model when this build has it (objects, so clicks find something), else a
 * random one (the cache bookkeeping is the same). */
static unet_model_t *click_model(void)
{
    unet_model_t *m = NULL;
#ifdef UNET_BUILTIN_NUCLEI
    ck_assert_int_eq(unet_model_load_builtin("nuclei", &m), UNET_OK);
#else
    ck_assert_int_eq(unet_model_create("{\"depth\": 3, \"base_features\": 8, "
                                       "\"final_activation\": \"sigmoid\"}", 4, &m), UNET_OK);
#endif
    return m;
}

/* Both sessions give the same object for a click. */
static void same_object(unet_click_session_t *a, unet_click_session_t *b, int64_t x, int64_t y)
{
    unet_click_result_t *ra, *rb;
    ck_assert_int_eq(unet_click(a, x, y, 0, &ra), UNET_OK);
    ck_assert_int_eq(unet_click(b, x, y, 0, &rb), UNET_OK);
    int64_t ba[4], bb[4], area_a, area_b;
    ck_assert_int_eq(unet_click_result_bbox(ra, ba), UNET_OK);
    ck_assert_int_eq(unet_click_result_bbox(rb, bb), UNET_OK);
    ck_assert(memcmp(ba, bb, sizeof ba) == 0);
    ck_assert_int_eq(unet_click_result_area(ra, &area_a), UNET_OK);
    ck_assert_int_eq(unet_click_result_area(rb, &area_b), UNET_OK);
    ck_assert_int_eq(area_a, area_b);
    const uint8_t *ma, *mb;
    ck_assert_int_eq(unet_click_result_mask(ra, &ma), UNET_OK);
    ck_assert_int_eq(unet_click_result_mask(rb, &mb), UNET_OK);
    if (area_a)
        ck_assert(memcmp(ma, mb, (size_t)(ba[2] * ba[3])) == 0);
    unet_click_result_free(ra);
    unet_click_result_free(rb);
}

START_TEST(test_click_set_opts_cache)
{
    unet_model_t *m = click_model();
    const int64_t shape[2] = {192, 192};
    uint16_t *img = malloc(192 * 192 * sizeof *img);
    uint32_t *truth = malloc(192 * 192 * sizeof *truth), n = 0;
    ck_assert_int_eq(unet_sample_nuclei(NULL, 192, 192, img, truth, &n), UNET_OK);
    /* Clicks on the centre pixel of the first few nuclei's first rows (or anywhere). */
    int64_t clicks[3][2] = {{96, 96}, {40, 150}, {150, 40}};
    for (uint32_t id = 1, k = 0; id <= n && k < 3; id++)
        for (int64_t i = 0; i < 192 * 192; i++)
            if (truth[i] == id) {
                clicks[k][0] = i % 192;
                clicks[k][1] = i / 192 + 3 < 192 ? i / 192 + 3 : i / 192;
                k++;
                break;
            }
    unet_click_opts_t *co;
    unet_click_session_t *s;
    unet_click_result_t *r;
    ck_assert_int_eq(unet_click_opts_create(&co), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set_threads(co, 1), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set_first_window(co, 256), UNET_OK); /* the whole image */
    /* A fixed scale: an automatic one is measured again when post-processing keys change
     * (test_click.c), which may resize the image. */
    ck_assert_int_eq(unet_click_opts_set(co, "scale", "1"), UNET_OK);
    ck_assert_int_eq(unet_click_session_create(m, co, img, UNET_U16, 2, shape, &s), UNET_OK);
    ck_assert_int_eq(unet_click(s, clicks[0][0], clicks[0][1], 0, &r), UNET_OK);
    unet_click_result_free(r);
    int64_t runs = runs_of(s);
    ck_assert_int_gt(runs, 0);
    /* Post-processing keys (and threads): the cached probabilities serve the next clicks. */
    ck_assert_int_eq(unet_click_opts_set(co, "threshold", "0.3"), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "min_size", "3"), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "split", "false"), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "min_distance", "6"), UNET_OK);
    ck_assert_int_eq(unet_click_opts_set(co, "threads", "2"), UNET_OK);
    ck_assert_int_eq(unet_click_session_set_opts(s, co), UNET_OK);
    unet_click_session_t *fresh;
    ck_assert_int_eq(unet_click_session_create(m, co, img, UNET_U16, 2, shape, &fresh), UNET_OK);
    for (int k = 0; k < 3; k++)
        same_object(s, fresh, clicks[k][0], clicks[k][1]);
    ck_assert_int_eq(runs_of(s), runs);
    /* A refused change leaves the session (and its cache) as it was. */
    ck_assert_int_eq(unet_click_opts_set(co, "max_extent", "8"), UNET_OK);
    ck_assert_int_eq(unet_click_session_set_opts(s, co), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_click_opts_set(co, "max_extent", "1024"), UNET_OK);
    ck_assert_int_eq(unet_click(s, clicks[1][0], clicks[1][1], 0, &r), UNET_OK);
    unet_click_result_free(r);
    ck_assert_int_eq(runs_of(s), runs);
    unet_click_session_free(fresh);
    /* A prediction key: new probabilities, so the same click runs the network again, and the
     * objects are those of a fresh session with the new options. */
    ck_assert_int_eq(unet_click_opts_set(co, "normalize", "zmuv"), UNET_OK);
    ck_assert_int_eq(unet_click_session_set_opts(s, co), UNET_OK);
    int64_t cached = -1;
    ck_assert_int_eq(unet_click_session_stats(s, NULL, NULL, &cached), UNET_OK);
    ck_assert_int_eq(cached, 0);
    ck_assert_int_eq(unet_click_session_create(m, co, img, UNET_U16, 2, shape, &fresh), UNET_OK);
    for (int k = 0; k < 3; k++)
        same_object(s, fresh, clicks[k][0], clicks[k][1]);
    ck_assert_int_gt(runs_of(s), runs);
    unet_click_session_free(fresh);
    unet_click_session_free(s);
    unet_click_opts_free(co);
    unet_model_free(m);
    free(img);
    free(truth);
}
END_TEST

/* ---- built-in models ---- */

START_TEST(test_builtin_models)
{
    const char *const *names = (const char *const *)1;
    size_t count = 99;
    unet_model_t *m = (unet_model_t *)1;
    ck_assert_int_eq(unet_model_builtin_names(&names, &count), UNET_OK);
#ifdef UNET_BUILTIN_NUCLEI
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(names[0], "nuclei");
    ck_assert_int_eq(unet_model_load_builtin("nuclei", &m), UNET_OK);
    int out = 0;
    ck_assert_int_eq(unet_model_out_channels(m, &out), UNET_OK);
    ck_assert_int_eq(out, 2); /* foreground and distance */
    const char *meta;
    ck_assert_int_eq(unet_model_metadata(m, &meta), UNET_OK);
    ck_assert_ptr_nonnull(strstr(meta, "\"seed_level\""));
    unet_model_free(m);
    m = (unet_model_t *)1;
    ck_assert_int_eq(unet_model_load_builtin("cells", &m), UNET_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(unet_last_error(), "unknown built-in model 'cells' (known: nuclei)");
#else
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(unet_model_load_builtin("nuclei", &m), UNET_E_UNSUPPORTED);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "without built-in models"));
#endif
    ck_assert_int_eq(unet_model_load_builtin(NULL, &m), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_load_builtin("nuclei", NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_builtin_names(NULL, &count), UNET_E_INVALID_ARG);
}
END_TEST

/* ---- the sample generator ---- */

START_TEST(test_sample_deterministic)
{
    const int64_t h = 96, w = 128, n = h * w;
    uint16_t *a = malloc((size_t)n * 2), *b = malloc((size_t)n * 2);
    uint32_t *la = malloc((size_t)n * 4), *lb = malloc((size_t)n * 4), na = 0, nb = 0;
    unet_sample_opts_t *o;
    ck_assert_int_eq(unet_sample_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set_seed(o, 11), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(o, h, w, a, la, &na), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(o, h, w, b, lb, &nb), UNET_OK);
    ck_assert_int_gt(na, 0);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, (size_t)n * 2) == 0);
    ck_assert(memcmp(la, lb, (size_t)n * 4) == 0);
    uint32_t top = 0;
    int any_16bit = 0;
    for (int64_t i = 0; i < n; i++) {
        top = la[i] > top ? la[i] : top;
        any_16bit |= a[i] > 255;
    }
    ck_assert_uint_eq(top, na); /* labels 1..N */
    ck_assert(any_16bit);
    /* Labels are optional and do not change the image. */
    ck_assert_int_eq(unet_sample_nuclei(o, h, w, b, NULL, NULL), UNET_OK);
    ck_assert(memcmp(a, b, (size_t)n * 2) == 0);
    /* Another seed, another image; 8 bits stay below 256. */
    ck_assert_int_eq(unet_sample_opts_set_json(o, "{\"seed\": 12, \"bits\": 8}"), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(o, h, w, b, lb, &nb), UNET_OK);
    ck_assert(memcmp(a, b, (size_t)n * 2) != 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_uint_lt(b[i], 256);
    /* Sizes and arguments. */
    ck_assert_int_eq(unet_sample_nuclei(o, 15, w, b, NULL, NULL), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "16 to 8192"));
    ck_assert_int_eq(unet_sample_nuclei(o, h, 8193, b, NULL, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet_sample_nuclei(o, h, w, NULL, NULL, &nb), UNET_E_INVALID_ARG);
    ck_assert_uint_eq(nb, 0);
    /* NULL options are the defaults (seed 0, 16 bits). */
    unet_sample_opts_t *d;
    ck_assert_int_eq(unet_sample_opts_create(&d), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(NULL, h, w, a, NULL, NULL), UNET_OK);
    ck_assert_int_eq(unet_sample_nuclei(d, h, w, b, NULL, NULL), UNET_OK);
    ck_assert(memcmp(a, b, (size_t)n * 2) == 0);
    unet_sample_opts_free(d);
    unet_sample_opts_free(o);
    free(a);
    free(b);
    free(la);
    free(lb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opts");
    TCase *tc = tcase_create("opts");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_describe_matches_values);
    tcase_add_test(tc, test_shared_names_and_ranges);
    tcase_add_test(tc, test_generic_setter);
    tcase_add_test(tc, test_json_setter);
    tcase_add_test(tc, test_typed_setters);
    tcase_add_test(tc, test_predict_opts_are_copied);
    tcase_add_test(tc, test_click_set_opts_cache);
    tcase_add_test(tc, test_builtin_models);
    tcase_add_test(tc, test_sample_deterministic);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
