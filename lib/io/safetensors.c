#include "io/safetensors.h"

#include "core/alloc.h"
#include "core/f16.h"
#include "core/status.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef unsigned long long ull; /* for printf: uint64_t's own macro is longer to read */

static const struct {
    const char *name;
    unet__st_dtype dtype;
    unsigned size;
} dtype_table[] = {
    {"F32", UNET__ST_F32, 4},  {"F16", UNET__ST_F16, 2}, {"BF16", UNET__ST_BF16, 2},
    {"F64", UNET__ST_F64, 8},  {"I64", UNET__ST_I64, 8}, {"I32", UNET__ST_I32, 4},
    {"U8", UNET__ST_U8, 1},    {"BOOL", UNET__ST_BOOL, 1},
};
#define N_DTYPES (sizeof dtype_table / sizeof dtype_table[0])

static unsigned dtype_size(unet__st_dtype d)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dtype == d)
            return dtype_table[i].size;
    return 0;
}

static const char *dtype_name(unet__st_dtype d)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dtype == d)
            return dtype_table[i].name;
    return "?";
}

static uint64_t read_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void write_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void unet__st_file_clear(unet__st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    free(f->metadata_libunet);
    memset(f, 0, sizeof *f);
}

/* A JSON integer >= 0; jansson has already refused integers beyond int64 as a parse error. */
static int get_uint(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static int parse_metadata(const json_t *meta, unet__st_file *f)
{
    const char *key;
    json_t *value;
    if (!json_is_object(meta))
        return unet__fail(UNET_E_FORMAT, "safetensors: __metadata__ is not an object");
    json_object_foreach((json_t *)meta, key, value) {
        if (!json_is_string(value))
            return unet__fail(UNET_E_FORMAT,
                              "safetensors: __metadata__ value of '%s' is not a string", key);
        if (strcmp(key, "libunet") == 0) {
            f->metadata_libunet = unet__strdup(json_string_value(value));
            if (!f->metadata_libunet)
                return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        }
    }
    return UNET_OK;
}

/* Validates one entry into *t; t->name is set by the caller. */
static int parse_tensor(const char *name, const json_t *entry, uint64_t data_size,
                        unet__st_tensor *t)
{
    const char *key;
    json_t *value;
    if (!json_is_object(entry))
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': entry is not an object",
                          name);
    /* Only the three fields the format defines: anything else means a writer we do not know. */
    json_object_foreach((json_t *)entry, key, value) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': unknown field '%s'",
                              name, key);
    }

    const json_t *dt = json_object_get(entry, "dtype");
    if (!json_is_string(dt))
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': %s", name,
                          dt ? "dtype is not a string" : "missing dtype");
    size_t k = 0;
    while (k < N_DTYPES && strcmp(dtype_table[k].name, json_string_value(dt)) != 0)
        k++;
    if (k == N_DTYPES)
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': unknown dtype '%s'", name,
                          json_string_value(dt));
    t->dtype = dtype_table[k].dtype;

    const json_t *shape = json_object_get(entry, "shape");
    if (!json_is_array(shape))
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': %s", name,
                          shape ? "shape is not an array" : "missing shape");
    size_t nd = json_array_size(shape);
    if (nd > UNET__ST_MAX_DIMS)
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': shape has %zu dims (at most %d)",
                          name, nd, UNET__ST_MAX_DIMS);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (!get_uint(json_array_get(shape, i), &d))
            return unet__fail(UNET_E_FORMAT,
                              "safetensors: tensor '%s': shape[%zu] is not a non-negative integer",
                              name, i);
        t->shape[i] = (int64_t)d; /* <= INT64_MAX: it came from a json_int_t */
    }
    if (!unet__product(t->shape, t->ndim, INT64_MAX, &t->numel))
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s': element count of the shape overflows int64",
                          name);

    const json_t *offs = json_object_get(entry, "data_offsets");
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return unet__fail(UNET_E_FORMAT, "safetensors: tensor '%s': %s", name,
                          offs ? "data_offsets is not an array of 2 integers"
                               : "missing data_offsets");
    if (!get_uint(json_array_get(offs, 0), &t->begin) ||
        !get_uint(json_array_get(offs, 1), &t->end))
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s': data_offsets are not non-negative integers",
                          name);
    if (t->end < t->begin)
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s': data_offsets [%llu, %llu] end before they begin",
                          name, (ull)t->begin, (ull)t->end);
    if (t->end > data_size)
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s': data_offsets [%llu, %llu] exceed the data "
                          "section (%llu bytes)",
                          name, (ull)t->begin, (ull)t->end, (ull)data_size);
    uint64_t isz = dtype_size(t->dtype);
    uint64_t n = (uint64_t)t->numel;
    if (n > UINT64_MAX / isz || n * isz != t->end - t->begin)
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s': %lld elements of %s need %s%llu bytes but "
                          "data_offsets [%llu, %llu] hold %llu",
                          name, (long long)t->numel, dtype_name(t->dtype),
                          n > UINT64_MAX / isz ? "more than " : "",
                          n > UINT64_MAX / isz ? (ull)UINT64_MAX : (ull)(n * isz), (ull)t->begin,
                          (ull)t->end, (ull)(t->end - t->begin));
    return UNET_OK;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const unet__st_tensor *x = *(const unet__st_tensor *const *)a;
    const unet__st_tensor *y = *(const unet__st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) /* empty tensors before a non-empty one at the same offset */
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Sorted by offset, the tensors must cover [0, data_size) exactly once, as safetensors requires. */
static int check_tiling(const unet__st_file *f)
{
    if (f->count == 0) {
        if (f->data_size != 0)
            return unet__fail(UNET_E_FORMAT,
                              "safetensors: no tensors but a data section of %llu bytes",
                              (ull)f->data_size);
        return UNET_OK;
    }
    const unet__st_tensor **order = malloc(f->count * sizeof *order);
    if (!order)
        return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
    for (size_t i = 0; i < f->count; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->count, sizeof *order, cmp_by_offset);

    int rc = UNET_OK;
    uint64_t pos = 0;
    const unet__st_tensor *prev = NULL;
    for (size_t i = 0; i < f->count && rc == UNET_OK; i++) {
        const unet__st_tensor *t = order[i];
        if (t->begin < pos)
            rc = unet__fail(UNET_E_FORMAT,
                            "safetensors: tensor '%s' [%llu, %llu] overlaps tensor '%s' [%llu, %llu]",
                            t->name, (ull)t->begin, (ull)t->end, prev->name, (ull)prev->begin,
                            (ull)prev->end);
        else if (t->begin > pos)
            rc = unet__fail(UNET_E_FORMAT,
                            "safetensors: gap of %llu bytes in the data section before tensor "
                            "'%s' [%llu, %llu]",
                            (ull)(t->begin - pos), t->name, (ull)t->begin, (ull)t->end);
        pos = t->end;
        prev = t;
    }
    if (rc == UNET_OK && pos != f->data_size)
        rc = unet__fail(UNET_E_FORMAT,
                        "safetensors: %llu trailing bytes after the last tensor (data section "
                        "%llu bytes, tensors end at %llu)",
                        (ull)(f->data_size - pos), (ull)f->data_size, (ull)pos);
    free(order);
    return rc;
}

int unet__st_parse(const uint8_t *buf, size_t len, unet__st_file *out)
{
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "safetensors: no output");
    memset(out, 0, sizeof *out);
    if (!buf && len)
        return unet__fail(UNET_E_INVALID_ARG, "safetensors: NULL buffer of %zu bytes", len);
    if (len < 8)
        return unet__fail(UNET_E_FORMAT,
                          "not a libunet model file: %zu bytes, shorter than the 8-byte "
                          "safetensors header length",
                          len);
    uint64_t hlen = read_le64(buf);
    /* Text, images and other files land here: say what the file is not before the detail. */
    if (hlen > (uint64_t)(len - 8))
        return unet__fail(UNET_E_FORMAT,
                          "not a libunet model file (no safetensors header: its length field "
                          "says %llu bytes, which exceeds the %llu bytes after it)",
                          (ull)hlen, (ull)(len - 8));
    if (hlen > UNET__ST_MAX_HEADER)
        return unet__fail(UNET_E_FORMAT, "safetensors: header length %llu exceeds the limit of %u",
                          (ull)hlen, UNET__ST_MAX_HEADER);

    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: header is not valid JSON: %s (line %d, column %d)",
                          jerr.text, jerr.line, jerr.column);

    int rc = UNET_OK;
    unet__st_file f = {0};
    f.data = buf + 8 + hlen;
    f.data_size = (uint64_t)(len - 8) - hlen;
    if (!json_is_object(root)) {
        rc = unet__fail(UNET_E_FORMAT, "safetensors: header is JSON but not an object");
        goto done;
    }
    size_t n = json_object_size(root);
    f.tensors = calloc(n ? n : 1, sizeof *f.tensors);
    if (!f.tensors) {
        rc = unet__fail(UNET_E_NOMEM, "safetensors: out of memory for %zu tensors", n);
        goto done;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        if (strcmp(key, "__metadata__") == 0) {
            rc = parse_metadata(value, &f);
        } else {
            unet__st_tensor *t = &f.tensors[f.count];
            rc = parse_tensor(key, value, f.data_size, t);
            if (rc == UNET_OK) {
                t->name = unet__strdup(key);
                if (!t->name)
                    rc = unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
                else
                    f.count++;
            }
        }
        if (rc != UNET_OK)
            goto done;
    }
    rc = check_tiling(&f);

done:
    json_decref(root);
    if (rc != UNET_OK)
        unet__st_file_clear(&f);
    else
        *out = f;
    return rc;
}

int unet__st_find(const unet__st_file *f, const char *name)
{
    if (!f || !name)
        return -1;
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return (int)i;
    return -1;
}

int unet__st_to_f32(const unet__st_file *f, const unet__st_tensor *t, float *out)
{
    if (!f || !t || (!out && t->numel > 0))
        return unet__fail(UNET_E_INVALID_ARG, "safetensors: NULL argument");
    uint64_t isz = dtype_size(t->dtype);
    /* The tensor should come from a successful parse of f; check rather than trust it. */
    if (isz == 0 || t->numel < 0 || t->end < t->begin || t->end > f->data_size ||
        (uint64_t)t->numel > UINT64_MAX / isz || (uint64_t)t->numel * isz != t->end - t->begin)
        return unet__fail(UNET_E_INVALID_ARG,
                          "safetensors: tensor '%s' does not match the parsed file",
                          t->name ? t->name : "?");
    const uint8_t *p = f->data + t->begin;
    size_t n = (size_t)t->numel;
    switch (t->dtype) {
    case UNET__ST_F32:
        if (n)
            memcpy(out, p, n * sizeof(float));
        break;
    case UNET__ST_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = unet__f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    case UNET__ST_BF16:
        for (size_t i = 0; i < n; i++)
            out[i] = unet__bf16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    case UNET__ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, sizeof d); /* data need not be 8-byte aligned */
            out[i] = (float)d;
        }
        break;
    default:
        return unet__fail(UNET_E_FORMAT,
                          "safetensors: tensor '%s' has dtype %s, not a floating-point type",
                          t->name ? t->name : "?", dtype_name(t->dtype));
    }
    return UNET_OK;
}

uint32_t unet__st_data_crc32(const unet__st_out *tensors, size_t count)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t i = 0; i < count; i++) {
        int64_t numel;
        if (!tensors || tensors[i].ndim < 0 || tensors[i].ndim > UNET__ST_MAX_DIMS ||
            (tensors[i].ndim > 0 && !tensors[i].shape) ||
            !unet__product(tensors[i].shape, tensors[i].ndim, INT64_MAX / 4, &numel) ||
            !tensors[i].data)
            continue; /* unet__st_serialize refuses such a tensor anyway */
        const unsigned char *p = (const unsigned char *)tensors[i].data;
        uint64_t left = (uint64_t)numel * 4;
        while (left > 0) { /* crc32 takes a uInt length */
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            crc = crc32(crc, p, chunk);
            p += chunk;
            left -= chunk;
        }
    }
    return (uint32_t)crc;
}

/* json_string, telling invalid UTF-8 (UNET_E_INVALID_ARG) apart from lack of memory. */
static json_t *make_string(const char *s, const char *what, int *rc)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    j = json_string_nocheck(s);
    if (j) {
        json_decref(j);
        *rc = unet__fail(UNET_E_INVALID_ARG, "safetensors: %s is not valid UTF-8", what);
    } else {
        *rc = unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
    }
    return NULL;
}

/* Builds the header object; *data_bytes gets the size of the data section. */
static int build_header(const unet__st_out *tensors, size_t count, const char *metadata_libunet,
                        json_t *root, uint64_t *data_bytes)
{
    int rc = UNET_OK;
    if (metadata_libunet) {
        json_t *s = make_string(metadata_libunet, "metadata", &rc);
        if (!s)
            return rc;
        json_t *meta = json_object();
        if (!meta) {
            json_decref(s);
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        }
        /* set_new takes the value's reference even when it fails. */
        if (json_object_set_new(meta, "libunet", s) != 0) {
            json_decref(meta);
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        }
        if (json_object_set_new(root, "__metadata__", meta) != 0)
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < count; i++) {
        const unet__st_out *t = &tensors[i];
        if (!t->name)
            return unet__fail(UNET_E_INVALID_ARG, "safetensors: tensor %zu has no name", i);
        if (strcmp(t->name, "__metadata__") == 0)
            return unet__fail(UNET_E_INVALID_ARG, "safetensors: tensor name '%s' is reserved",
                              t->name);
        if (json_object_get(root, t->name))
            return unet__fail(UNET_E_INVALID_ARG, "safetensors: tensor name '%s' appears twice",
                              t->name);
        if (t->ndim < 0 || t->ndim > UNET__ST_MAX_DIMS || (t->ndim > 0 && !t->shape))
            return unet__fail(UNET_E_INVALID_ARG, "safetensors: tensor '%s': ndim %d not in 0..%d",
                              t->name, t->ndim, UNET__ST_MAX_DIMS);
        int64_t numel;
        /* INT64_MAX / 4 keeps the byte count representable as a JSON (int64) offset. */
        if (!unet__product(t->shape, t->ndim, INT64_MAX / 4, &numel))
            return unet__fail(UNET_E_INVALID_ARG,
                              "safetensors: tensor '%s': shape is negative or too large", t->name);
        if (numel > 0 && !t->data)
            return unet__fail(UNET_E_INVALID_ARG, "safetensors: tensor '%s' has no data", t->name);
        uint64_t bytes = (uint64_t)numel * 4;
        if (bytes > (uint64_t)INT64_MAX - off)
            return unet__fail(UNET_E_NOMEM, "safetensors: data section too large");

        json_t *key = make_string(t->name, "tensor name", &rc);
        if (!key)
            return rc;
        json_decref(key);
        json_t *entry = json_object();
        json_t *shape = json_array();
        json_t *offs = json_array();
        int bad = !entry || !shape || !offs;
        for (int d = 0; d < t->ndim && !bad; d++)
            bad = json_array_append_new(shape, json_integer((json_int_t)t->shape[d])) != 0;
        if (!bad)
            bad = json_array_append_new(offs, json_integer((json_int_t)off)) != 0 ||
                  json_array_append_new(offs, json_integer((json_int_t)(off + bytes))) != 0;
        if (bad) {
            json_decref(entry);
            json_decref(shape);
            json_decref(offs);
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        }
        /* set_new takes the value's reference even when it fails: NULL what it took. */
        bad = json_object_set_new(entry, "dtype", json_string("F32")) != 0;
        if (!bad) {
            bad = json_object_set_new(entry, "shape", shape) != 0;
            shape = NULL;
        }
        if (!bad) {
            bad = json_object_set_new(entry, "data_offsets", offs) != 0;
            offs = NULL;
        }
        if (bad) {
            json_decref(entry);
            json_decref(shape);
            json_decref(offs);
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        }
        if (json_object_set_new_nocheck(root, t->name, entry) != 0)
            return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
        off += bytes;
    }
    *data_bytes = off;
    return UNET_OK;
}

int unet__st_serialize(const unet__st_out *tensors, size_t count, const char *metadata_libunet,
                       uint8_t **out, size_t *out_len)
{
    if (!out || !out_len)
        return unet__fail(UNET_E_INVALID_ARG, "safetensors: no output");
    *out = NULL;
    *out_len = 0;
    if (count && !tensors)
        return unet__fail(UNET_E_INVALID_ARG, "safetensors: NULL tensor list of %zu", count);

    json_t *root = json_object();
    if (!root)
        return unet__fail(UNET_E_NOMEM, "safetensors: out of memory");
    uint64_t data_bytes = 0;
    int rc = build_header(tensors, count, metadata_libunet, root, &data_bytes);
    if (rc != UNET_OK) {
        json_decref(root);
        return rc;
    }
    /* Key order is insertion order (jansson >= 2.8): __metadata__, then tensors as given. */
    size_t hlen = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (hlen == 0) {
        json_decref(root);
        return unet__fail(UNET_E_NOMEM, "safetensors: could not encode the header");
    }
    size_t padded = (hlen + 7) / 8 * 8;
    if (padded < hlen || padded > UNET__ST_MAX_HEADER || data_bytes > SIZE_MAX - 8 - padded) {
        json_decref(root);
        return unet__fail(UNET_E_NOMEM, "safetensors: header of %zu bytes or data of %llu bytes "
                                        "too large", hlen, (ull)data_bytes);
    }
    size_t total = 8 + padded + (size_t)data_bytes;
    uint8_t *buf = malloc(total);
    if (!buf) {
        json_decref(root);
        return unet__fail(UNET_E_NOMEM, "safetensors: out of memory for %zu bytes", total);
    }
    size_t written = json_dumpb(root, (char *)buf + 8, hlen, JSON_COMPACT);
    json_decref(root);
    if (written != hlen) {
        free(buf);
        return unet__fail(UNET_E_INTERNAL, "safetensors: header size changed while encoding");
    }
    /* Spaces, as the safetensors package pads: its readers accept trailing whitespace. */
    memset(buf + 8 + hlen, ' ', padded - hlen);
    write_le64(buf, (uint64_t)padded);
    uint8_t *p = buf + 8 + padded;
    for (size_t i = 0; i < count; i++) {
        int64_t numel;
        unet__product(tensors[i].shape, tensors[i].ndim, INT64_MAX / 4, &numel); /* checked */
        if (numel > 0)
            memcpy(p, tensors[i].data, (size_t)numel * 4);
        p += (size_t)numel * 4;
    }
    *out = buf;
    *out_len = total;
    return UNET_OK;
}
