/* The option-table engine (see opts_table.h). */
#include "core/opts_table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* A value on its way in: text, a number (integers exactly), or null ("auto"). */
typedef enum { V_TEXT, V_DOUBLE, V_I64, V_NULL } val_kind;
typedef struct val {
    val_kind kind;
    const char *text;
    double d;
    int64_t i;
} val;

typedef struct found {
    const unet__opt *e;
    size_t base;
} found;

static bool find(const unet__opts_table *t, const char *key, found *f)
{
    for (int s = 0; s < t->nsections; s++)
        for (int i = 0; i < t->sections[s].count; i++)
            if (strcmp(t->sections[s].opts[i].name, key) == 0) {
                f->e = &t->sections[s].opts[i];
                f->base = t->sections[s].base;
                return true;
            }
    return false;
}

static void *field(void *o, size_t base, const unet__opt *e)
{
    return (char *)o + base + e->offset;
}

static const void *cfield(const void *o, size_t base, const unet__opt *e)
{
    return (const char *)o + base + e->offset;
}

static bool is_number_type(unet__opt_type type)
{
    return type == UNET__OPT_INT || type == UNET__OPT_I64 || type == UNET__OPT_DOUBLE;
}

static bool bool_is_int(const unet__opt *e)
{
    return e->size == sizeof(int) && sizeof(int) != sizeof(bool);
}

/* NAME entries hold an index when the field is an int, else the text itself. */
static bool name_is_index(const unet__opt *e)
{
    return e->size == sizeof(int);
}

static bool same_number(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* A number as short text: integers exactly, others to round-trip precision. */
static const char *num_text(double v, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (v == floor(v) && fabs(v) < 9.3e18)
        snprintf(buf, size, "%lld", (long long)v);
    else {
        snprintf(buf, size, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, size, "%.17g", v);
    }
    return buf;
}

/* "[lo, hi]" (or the allowed values), and the words the key also takes. */
static const char *bounds_text(const unet__opt *e, char *buf, size_t size)
{
    char lo[32], hi[32];
    size_t n;
    if (e->choices)
        n = (size_t)snprintf(buf, size, "one of %s", e->choices);
    else
        n = (size_t)snprintf(buf, size, "[%s, %s]", num_text(e->min, lo, sizeof lo),
                             num_text(e->max, hi, sizeof hi));
    for (int k = 0; k < 2 && e->special[k].word && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", k == 0 ? " (or " : ", ",
                              e->special[k].word);
    if (e->special[0].word && n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}

static bool numeric_choice(const unet__opt *e, double v)
{
    const char *c = e->choices;
    while (*c) {
        char *end;
        double x = strtod(c, &end);
        if (end == c)
            return false;
        if (x == v)
            return true;
        c = end + strspn(end, " ");
    }
    return false;
}

/* The index of `text` among a NAME entry's choices, or -1. */
static int choice_index(const unet__opt *e, const char *text)
{
    size_t n = strlen(text);
    const char *c = e->choices;
    for (int i = 0; *c; i++) {
        size_t len = strcspn(c, " ");
        if (len == n && n > 0 && strncmp(c, text, n) == 0)
            return i;
        c += len + (c[len] == ' ');
    }
    return -1;
}

static int choice_count(const unet__opt *e)
{
    int n = 0;
    for (const char *c = e->choices; *c;) {
        size_t len = strcspn(c, " ");
        n += len > 0;
        c += len + (c[len] == ' ');
    }
    return n;
}

/* Choice i of a NAME entry into buf. */
static const char *choice_text(const unet__opt *e, int i, char *buf, size_t size)
{
    const char *c = e->choices;
    for (int k = 0; *c; k++) {
        size_t len = strcspn(c, " ");
        if (k == i) {
            snprintf(buf, size, "%.*s", (int)len, c);
            return buf;
        }
        c += len + (c[len] == ' ');
    }
    snprintf(buf, size, "?");
    return buf;
}

static int refuse(const unet__opts_table *t, const unet__opt *e, const char *value,
                  const char *why)
{
    return unet__fail(UNET_E_INVALID_ARG, "%s option %s = %.60s %s", t->what, e->name, value,
                      why);
}

/* ---- numbers and bools ---- */

static void store_number(void *p, const unet__opt *e, double d, int64_t i, bool exact)
{
    switch (e->type) {
    case UNET__OPT_INT: *(int *)p = exact ? (int)i : (int)d; break;
    case UNET__OPT_I64: *(int64_t *)p = exact ? i : (int64_t)d; break;
    case UNET__OPT_DOUBLE: *(double *)p = exact ? (double)i : d; break;
    case UNET__OPT_BOOL:
        if (bool_is_int(e))
            *(int *)p = exact ? (int)i : (int)d;
        else
            *(bool *)p = (exact ? (double)i : d) != 0;
        break;
    default: break;
    }
}

/* Check a number for a numeric or bool entry and store it. `shown` is the value as given. */
static int set_number(const unet__opts_table *t, void *p, const unet__opt *e, double d,
                      int64_t i, bool exact, const char *shown)
{
    char b[160];
    double v = exact ? (double)i : d;
    for (int k = 0; k < 2; k++)
        if (e->special[k].word && e->special[k].numeric && same_number(v, e->special[k].value)) {
            store_number(p, e, d, i, exact);
            return UNET_OK;
        }
    if (e->type == UNET__OPT_BOOL) {
        if (v != 0 && v != 1)
            return refuse(t, e, shown, "must be true or false");
        store_number(p, e, d, i, exact);
        return UNET_OK;
    }
    if (!isfinite(v))
        return refuse(t, e, shown, "is not a finite number");
    if (e->type != UNET__OPT_DOUBLE && v != floor(v))
        return refuse(t, e, shown, "must be an integer");
    bool inside = v >= e->min && v <= e->max;
    if (exact) /* integers exactly: 2^62 + 1 is not 2^62 */
        inside = i >= (int64_t)e->min && (e->max >= 9.2e18 || i <= (int64_t)e->max);
    if (e->choices ? !numeric_choice(e, v) : !inside) {
        char why[200];
        snprintf(why, sizeof why, "is out of range %s", bounds_text(e, b, sizeof b));
        if (e->choices)
            snprintf(why, sizeof why, "is not %s", bounds_text(e, b, sizeof b));
        return refuse(t, e, shown, why);
    }
    store_number(p, e, d, i, exact);
    return UNET_OK;
}

static const char *const true_words[] = {"true", "1", "yes", "on"};
static const char *const false_words[] = {"false", "0", "no", "off"};

static int set_from_text(const unet__opts_table *t, void *p, const unet__opt *e,
                         const char *text)
{
    char b[160], why[240];
    for (int k = 0; k < 2; k++)
        if (e->special[k].word && strcmp(text, e->special[k].word) == 0) {
            if (e->type == UNET__OPT_NAME || e->type == UNET__OPT_TEXT)
                break; /* names: an ordinary choice */
            store_number(p, e, e->special[k].value, 0, false);
            return UNET_OK;
        }
    switch (e->type) {
    case UNET__OPT_TEXT:
        if (strlen(text) >= e->size) {
            snprintf(why, sizeof why, "is longer than %zu bytes", e->size - 1);
            return refuse(t, e, "(text)", why);
        }
        strcpy(p, text);
        return UNET_OK;
    case UNET__OPT_NAME: {
        int i = choice_index(e, text);
        if (i < 0) {
            snprintf(why, sizeof why, "is not one of: %s", e->choices);
            return refuse(t, e, text, why);
        }
        if (name_is_index(e))
            *(int *)p = i;
        else if (strlen(text) < e->size)
            strcpy(p, text);
        return UNET_OK;
    }
    case UNET__OPT_BOOL:
        for (int k = 0; k < 4; k++) {
            if (strcmp(text, true_words[k]) == 0)
                return set_number(t, p, e, 1, 1, true, text);
            if (strcmp(text, false_words[k]) == 0)
                return set_number(t, p, e, 0, 0, true, text);
        }
        snprintf(why, sizeof why, "must be true or false%s%s%s", e->special[0].word ? " (or " : "",
                 e->special[0].word ? e->special[0].word : "", e->special[0].word ? ")" : "");
        return refuse(t, e, text, why);
    default: break;
    }
    /* Numbers: integers exactly (int64), anything else through strtod. */
    char *end;
    errno = 0;
    long long ll = strtoll(text, &end, 10);
    if (end != text && *end == '\0' && errno == 0 && e->type != UNET__OPT_DOUBLE)
        return set_number(t, p, e, 0, ll, true, text);
    errno = 0;
    double d = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE) {
        snprintf(why, sizeof why, "is not a number %s", bounds_text(e, b, sizeof b));
        return refuse(t, e, text, why);
    }
    return set_number(t, p, e, d, 0, false, text);
}

static int set_val(const unet__opts_table *t, void *o, const found *f, const val *v)
{
    const unet__opt *e = f->e;
    void *p = field(o, f->base, e);
    char shown[40];
    switch (v->kind) {
    case V_TEXT: return set_from_text(t, p, e, v->text);
    case V_NULL:
        for (int k = 0; k < 2; k++)
            if (e->special[k].word && strcmp(e->special[k].word, "auto") == 0)
                return set_from_text(t, p, e, "auto");
        return refuse(t, e, "null", "has no automatic value");
    case V_I64:
    case V_DOUBLE:
        if (v->kind == V_I64)
            snprintf(shown, sizeof shown, "%lld", (long long)v->i);
        else
            num_text(v->d, shown, sizeof shown);
        if (e->type == UNET__OPT_NAME && name_is_index(e)) {
            int n = choice_count(e);
            double x = v->kind == V_I64 ? (double)v->i : v->d;
            if (!(x >= 0 && x < n && x == floor(x))) {
                char why[240];
                snprintf(why, sizeof why, "is not one of: %s (0 to %d)", e->choices, n - 1);
                return refuse(t, e, shown, why);
            }
            *(int *)p = (int)x;
            return UNET_OK;
        }
        if (!is_number_type(e->type) && e->type != UNET__OPT_BOOL)
            return refuse(t, e, shown, "must be text");
        return set_number(t, p, e, v->d, v->i, v->kind == V_I64, shown);
    }
    return UNET_OK;
}

static int set_key(const unet__opts_table *t, void *o, const char *key, const val *v)
{
    found f;
    if (!find(t, key, &f))
        return unet__fail(UNET_E_INVALID_ARG, "unknown %s option '%.60s'", t->what, key);
    return set_val(t, o, &f, v);
}

int unet__opts_set_text(const unet__opts_table *t, void *o, const char *key, const char *value)
{
    val v = {V_TEXT, value, 0, 0};
    return set_key(t, o, key, &v);
}

int unet__opts_set_i64(const unet__opts_table *t, void *o, const char *key, int64_t value)
{
    val v = {V_I64, NULL, 0, value};
    return set_key(t, o, key, &v);
}

int unet__opts_set_double(const unet__opts_table *t, void *o, const char *key, double value)
{
    val v = {V_DOUBLE, NULL, value, 0};
    return set_key(t, o, key, &v);
}

void unet__opts_copy(const unet__opt *opts, int count, void *dst, const void *src)
{
    for (int i = 0; i < count; i++)
        memcpy(field(dst, 0, &opts[i]), cfield(src, 0, &opts[i]), opts[i].size);
}

void unet__opts_copy_values(const unet__opts_table *t, void *dst, const void *src)
{
    for (int s = 0; s < t->nsections; s++)
        unet__opts_copy(t->sections[s].opts, t->sections[s].count,
                        (char *)dst + t->sections[s].base,
                        (const char *)src + t->sections[s].base);
}

int unet__opts_equal(const unet__opt *opts, int count, const void *a, const void *b)
{
    for (int i = 0; i < count; i++)
        if (memcmp(cfield(a, 0, &opts[i]), cfield(b, 0, &opts[i]), opts[i].size) != 0)
            return 0;
    return 1;
}

int unet__opts_set_object(const unet__opts_table *t, void *o, const json_t *obj)
{
    if (!json_is_object(obj))
        return unet__fail(UNET_E_INVALID_ARG, "%s options must be a JSON object", t->what);
    /* Everything is applied to a copy first, so a refused key leaves the options unchanged;
     * then only the table's fields are copied back (not caches, callbacks or flags). */
    void *tmp = malloc(t->size);
    if (!tmp)
        return unet__fail(UNET_E_NOMEM, "out of memory setting %s options", t->what);
    memcpy(tmp, o, t->size);
    const char *name;
    json_t *j;
    int rc = UNET_OK;
    json_object_foreach((json_t *)obj, name, j) {
        val v = {V_NULL, NULL, 0, 0};
        if (json_is_string(j)) {
            v.kind = V_TEXT;
            v.text = json_string_value(j);
        } else if (json_is_boolean(j)) {
            v.kind = V_I64;
            v.i = json_is_true(j);
            found f;
            if (find(t, name, &f) && f.e->type != UNET__OPT_BOOL) {
                rc = unet__fail(UNET_E_INVALID_ARG, "%s option %s must not be a boolean",
                                t->what, name);
                break;
            }
        } else if (json_is_integer(j)) {
            v.kind = V_I64;
            v.i = (int64_t)json_integer_value(j);
        } else if (json_is_real(j)) {
            v.kind = V_DOUBLE;
            v.d = json_real_value(j);
        } else if (!json_is_null(j)) {
            rc = unet__fail(UNET_E_INVALID_ARG, "%s option %.60s has the wrong JSON type (an "
                                                "array or object)", t->what, name);
            break;
        }
        if ((rc = set_key(t, tmp, name, &v)) != UNET_OK)
            break;
    }
    if (rc == UNET_OK)
        unet__opts_copy_values(t, o, tmp);
    free(tmp);
    return rc;
}

int unet__opts_set_json(const unet__opts_table *t, void *o, const char *text)
{
    json_error_t err;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        return unet__fail(UNET_E_INVALID_ARG, "%s options: invalid JSON (%s)", t->what,
                          err.text);
    int rc = unet__opts_set_object(t, o, obj);
    json_decref(obj);
    return rc;
}

/* ---- values and the table as JSON ---- */

static json_t *value_json(const void *o, size_t base, const unet__opt *e)
{
    const void *p = cfield(o, base, e);
    char b[128];
    double v = 0;
    switch (e->type) {
    case UNET__OPT_TEXT: return json_string(p);
    case UNET__OPT_NAME:
        return json_string(name_is_index(e) ? choice_text(e, *(const int *)p, b, sizeof b)
                                            : (const char *)p);
    case UNET__OPT_INT: v = *(const int *)p; break;
    case UNET__OPT_I64: v = (double)*(const int64_t *)p; break;
    case UNET__OPT_DOUBLE: v = *(const double *)p; break;
    case UNET__OPT_BOOL: v = bool_is_int(e) ? *(const int *)p : *(const bool *)p; break;
    }
    for (int k = 0; k < 2; k++)
        if (e->special[k].word && !e->special[k].numeric && same_number(v, e->special[k].value))
            return json_null(); /* "auto": decided by the model at run time */
    switch (e->type) {
    case UNET__OPT_I64: return json_integer(*(const int64_t *)p);
    case UNET__OPT_INT: return json_integer(*(const int *)p);
    case UNET__OPT_BOOL: return json_boolean(v != 0);
    default: return isfinite(v) ? json_real(v) : json_null();
    }
}

static int add(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0 ? 0 : -1;
}

json_t *unet__opts_to_json(const unet__opts_table *t, const void *o)
{
    json_t *obj = json_object();
    for (int s = 0; obj && s < t->nsections; s++)
        for (int i = 0; i < t->sections[s].count; i++) {
            const unet__opt *e = &t->sections[s].opts[i];
            if (add(obj, e->name, value_json(o, t->sections[s].base, e)) != 0) {
                json_decref(obj);
                return NULL;
            }
        }
    return obj;
}

static int dump(const char *what, json_t *doc, char **cache, const char **out)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    if (!text)
        return unet__fail(UNET_E_NOMEM, "out of memory writing %s options as JSON", what);
    free(*cache);
    *cache = text;
    *out = text;
    return UNET_OK;
}

int unet__opts_json(const unet__opts_table *t, const void *o, char **cache, const char **out)
{
    return dump(t->what, unet__opts_to_json(t, o), cache, out);
}

void unet__opts_defaults(const unet__opts_table *t, void *o)
{
    for (int s = 0; s < t->nsections; s++)
        for (int i = 0; i < t->sections[s].count; i++) {
            const unet__opt *e = &t->sections[s].opts[i];
            void *p = field(o, t->sections[s].base, e);
            if (e->type == UNET__OPT_TEXT || (e->type == UNET__OPT_NAME && !name_is_index(e)))
                snprintf(p, e->size, "%s", e->def_text ? e->def_text : "");
            else if (e->type == UNET__OPT_NAME)
                *(int *)p = (int)e->def;
            else
                store_number(p, e, e->def, 0, false);
        }
}

void unet__opts_init(const unet__opts_table *t, void *o)
{
    memset(o, 0, t->size);
    unet__opts_defaults(t, o);
    if (t->init)
        t->init(o);
}

const void *unet__opts_or_defaults(const unet__opts_table *t, const void *o, void *defaults)
{
    if (o)
        return o;
    unet__opts_init(t, defaults);
    return defaults;
}

static json_t *describe_entry(const unet__opt *e, const void *defaults, size_t base)
{
    static const char *const type_names[] = {"int", "int", "double", "bool", "name", "text"};
    json_t *d = json_object(), *choices = json_null(), *special = json_array();
    bool number = is_number_type(e->type);
    if (e->type == UNET__OPT_NAME || (number && e->choices)) {
        choices = json_array();
        const char *c = e->choices;
        while (choices && *c) {
            size_t len = strcspn(c, " ");
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)len, c);
            json_array_append_new(choices, number ? json_integer(atoll(word))
                                                  : json_string(word));
            c += len + (c[len] == ' ');
        }
    }
    for (int k = 0; special && k < 2; k++)
        if (e->special[k].word)
            json_array_append_new(special, json_string(e->special[k].word));
    if (!d || add(d, "name", json_string(e->name)) || add(d, "type", json_string(type_names[e->type])) ||
        add(d, "default", value_json(defaults, base, e)) ||
        add(d, "min", number && !e->choices ? json_real(e->min) : json_null()) ||
        add(d, "max", number && !e->choices ? json_real(e->max) : json_null()) ||
        add(d, "choices", choices) || add(d, "special", special) ||
        add(d, "help", json_string(e->help ? e->help : ""))) {
        json_decref(d);
        return NULL;
    }
    /* Integral bounds as JSON integers, so hosts need not round them. */
    if (number && !e->choices && e->type != UNET__OPT_DOUBLE) {
        json_object_set_new(d, "min", json_integer((json_int_t)e->min));
        json_object_set_new(d, "max", json_integer((json_int_t)e->max));
    }
    return d;
}

int unet__opts_describe(const unet__opts_table *t, char **cache, const char **out)
{
    void *defaults = calloc(1, t->size);
    json_t *arr = defaults ? json_array() : NULL;
    if (defaults)
        unet__opts_defaults(t, defaults);
    for (int s = 0; arr && s < t->nsections; s++)
        for (int i = 0; i < t->sections[s].count; i++) {
            json_t *d = describe_entry(&t->sections[s].opts[i], defaults, t->sections[s].base);
            if (!d || json_array_append_new(arr, d) != 0) {
                json_decref(arr);
                arr = NULL;
                break;
            }
        }
    free(defaults);
    return dump(t->what, arr, cache, out);
}

/* ---- the exported calls' work ---- */

/* The cached string at offset `at` of an object (not part of the options' value, so a const
 * object's cache may change). */
static char **cache(const void *o, size_t at)
{
    return (char **)((char *)o + at);
}

int unet__opts_api_create(const unet__opts_table *t, void **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "%s_create: out is NULL", t->api);
    *out = malloc(t->size);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating %s options", t->what);
    unet__opts_init(t, *out);
    return UNET_OK;
}

void unet__opts_api_free(const unet__opts_table *t, void *o)
{
    if (!o)
        return;
    free(*cache(o, t->json_at));
    free(*cache(o, t->describe_at));
    free(o);
}

int unet__opts_api_check(const unet__opts_table *t, const void *o)
{
    unet__clear_error();
    return o ? UNET_OK : unet__fail(UNET_E_INVALID_ARG, "%s options are NULL", t->what);
}

int unet__opts_api_set(const unet__opts_table *t, void *o, const char *key, const char *value)
{
    int rc = unet__opts_api_check(t, o);
    if (rc == UNET_OK && (!key || !value))
        rc = unet__fail(UNET_E_INVALID_ARG, "%s_set: key or value is NULL", t->api);
    return rc != UNET_OK ? rc : unet__opts_set_text(t, o, key, value);
}

int unet__opts_api_set_json(const unet__opts_table *t, void *o, const char *text)
{
    int rc = unet__opts_api_check(t, o);
    if (rc == UNET_OK && !text)
        rc = unet__fail(UNET_E_INVALID_ARG, "%s_set_json: json is NULL", t->api);
    return rc != UNET_OK ? rc : unet__opts_set_json(t, o, text);
}

/* The shared start of _json and _describe. */
static int check_out(const unet__opts_table *t, const void *o, const char **json,
                     const char *call)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "%s_%s: opts or json is NULL", t->api, call);
    return UNET_OK;
}

int unet__opts_api_json(const unet__opts_table *t, const void *o, const char **json)
{
    int rc = check_out(t, o, json, "json");
    return rc != UNET_OK ? rc : unet__opts_json(t, o, cache(o, t->json_at), json);
}

int unet__opts_api_describe(const unet__opts_table *t, const void *o, const char **json)
{
    int rc = check_out(t, o, json, "describe");
    return rc != UNET_OK ? rc : unet__opts_describe(t, cache(o, t->describe_at), json);
}

int unet__opts_api_set_i64(const unet__opts_table *t, void *o, const char *key, int64_t value)
{
    int rc = unet__opts_api_check(t, o);
    return rc != UNET_OK ? rc : unet__opts_set_i64(t, o, key, value);
}

int unet__opts_api_set_double(const unet__opts_table *t, void *o, const char *key,
                              double value)
{
    int rc = unet__opts_api_check(t, o);
    return rc != UNET_OK ? rc : unet__opts_set_double(t, o, key, value);
}

int unet__opts_api_set_bool(const unet__opts_table *t, void *o, const char *key, int value)
{
    return unet__opts_api_set_i64(t, o, key, value != 0);
}

int unet__opts_api_set_section(const unet__opts_table *t, void *o, int s, const void *src)
{
    const unet__opts_section *sec = &t->sections[s];
    int rc = unet__opts_api_check(t, o);
    if (rc == UNET_OK && !src)
        rc = unet__fail(UNET_E_INVALID_ARG, "%s_set_%s_opts: %s options are NULL", t->api,
                        sec->name, sec->name);
    if (rc == UNET_OK)
        unet__opts_copy(sec->opts, sec->count, (char *)o + sec->base, src);
    return rc;
}

int unet__opts_api_flag(atomic_int *flag, int value)
{
    if (!flag)
        return UNET_E_INVALID_ARG;
    atomic_store(flag, value);
    return UNET_OK;
}
