/* Model files (DESIGN section 5): the safetensors container plus __metadata__["libunet"]. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/files.h"
#include "core/status.h"
#include "io/safetensors.h"
#include "model/model.h"

/* Model files larger than this are refused before reading (16 GiB). */
#define MAX_FILE_SIZE ((uint64_t)16 << 30)

static const char *const metadata_keys[] = {"format_version", "architecture", "preprocessing",
                                            "output", "training", "halo", "crc32", "graph",
                                            NULL};

/* Parse the libunet metadata document: config, sections and the checksum. */
static int parse_metadata(const char *text, const unet__st_file *f, unet__config *cfg,
                          json_t **doc_out)
{
    json_error_t err;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    *doc_out = doc;
    if (!doc)
        return unet__fail(UNET_E_FORMAT, "metadata is not valid JSON (line %d column %d: %s)",
                          err.line, err.column, err.text);
    if (!json_is_object(doc))
        return unet__fail(UNET_E_FORMAT, "metadata is not a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        int known = 0;
        for (int i = 0; metadata_keys[i]; i++)
            known |= strcmp(key, metadata_keys[i]) == 0;
        if (!known)
            return unet__fail(UNET_E_FORMAT, "metadata has unknown key '%.40s'", key);
    }
    json_t *version = json_object_get(doc, "format_version");
    if (!json_is_integer(version))
        return unet__fail(UNET_E_FORMAT, "metadata: 'format_version' is missing or not an "
                                         "integer");
    if (json_integer_value(version) != UNET__FORMAT_VERSION)
        return unet__fail(json_integer_value(version) > UNET__FORMAT_VERSION ? UNET_E_UNSUPPORTED
                                                                              : UNET_E_FORMAT,
                          "metadata: format_version %lld is not supported (this libunet reads "
                          "%d)", (long long)json_integer_value(version), UNET__FORMAT_VERSION);
    if (json_object_get(doc, "graph"))
        return unet__fail(UNET_E_UNSUPPORTED, "models given as an op graph (imported models) are "
                                              "not supported yet");
    json_t *arch = json_object_get(doc, "architecture");
    if (!arch)
        return unet__fail(UNET_E_FORMAT, "metadata has no 'architecture'");
    int rc = unet__config_from_json(arch, cfg);
    if (rc != UNET_OK)
        return unet__fail_context(rc == UNET_E_UNSUPPORTED ? rc : UNET_E_FORMAT, "metadata");

    const char *crc_text = json_string_value(json_object_get(doc, "crc32"));
    if (!crc_text || strlen(crc_text) != 8 || strspn(crc_text, "0123456789abcdef") != 8)
        return unet__fail(UNET_E_FORMAT, "metadata: 'crc32' must be 8 lowercase hex digits");
    uint32_t stated = (uint32_t)strtoul(crc_text, NULL, 16);
    uLong actual = crc32(0L, Z_NULL, 0);
    const uint8_t *p = f->data;
    for (uint64_t left = f->data_size; left > 0;) {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        actual = crc32(actual, p, chunk);
        p += chunk;
        left -= chunk;
    }
    if ((uint32_t)actual != stated)
        return unet__fail(UNET_E_FORMAT, "checksum mismatch: the data's crc32 is %08lx, the "
                                         "metadata says %s (the file is corrupt)",
                          (unsigned long)actual, crc_text);
    return UNET_OK;
}

/* The file's tensors must be exactly the architecture's, by name and shape. Checked on the
 * graph alone, before the model's weights are allocated: a small file whose metadata claims
 * billions of weights is refused without allocating them. */
static int check_tensors(const unet__graph *g, const unet__st_file *f)
{
    for (size_t i = 0; i < f->count; i++) {
        const unet__st_tensor *t = &f->tensors[i];
        size_t n = strlen(t->name);
        /* PyTorch's BatchNorm keeps a step counter that inference does not need. */
        if (n > 20 && strcmp(t->name + n - 20, ".num_batches_tracked") == 0)
            continue;
        if (unet__graph_find_param(g, t->name) < 0)
            return unet__fail(UNET_E_FORMAT, "tensor '%.60s' is not part of this architecture",
                              t->name);
    }
    for (int i = 0; i < g->nparams; i++) {
        const unet__param_spec *ps = &g->params[i];
        int j = unet__st_find(f, ps->name);
        if (j < 0)
            return unet__fail(UNET_E_FORMAT, "tensor '%s' is missing", ps->name);
        const unet__st_tensor *t = &f->tensors[j];
        int same = t->ndim == ps->ndim;
        for (int d = 0; same && d < ps->ndim; d++)
            same = t->shape[d] == ps->shape[d];
        if (!same) {
            char want[64] = "", got[96] = "";
            for (int d = 0; d < ps->ndim; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                         d ? "," : "", (long long)ps->shape[d]);
            for (int d = 0; d < t->ndim; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "," : "",
                         (long long)t->shape[d]);
            return unet__fail(UNET_E_FORMAT, "tensor '%s' has shape [%s]; the architecture "
                                             "needs [%s]", ps->name, got, want);
        }
    }
    return UNET_OK;
}

/* Copy every tensor (already checked by check_tensors) into the model, checking values. */
static int fill_params(struct unet_model *m, const unet__st_file *f)
{
    for (int i = 0; i < m->graph.nparams; i++) {
        const unet__param_spec *ps = &m->graph.params[i];
        const unet__st_tensor *t = &f->tensors[unet__st_find(f, ps->name)];
        if (unet__st_to_f32(f, t, m->params[i]) != UNET_OK)
            return unet__fail(UNET_E_FORMAT, "tensor '%s' has a non-floating dtype", ps->name);
        for (int64_t e = 0; e < ps->numel; e++)
            if (!isfinite(m->params[i][e]))
                return unet__fail(UNET_E_FORMAT, "tensor '%s' element %lld is not finite",
                                  ps->name, (long long)e);
    }
    return UNET_OK;
}

static int load_parsed(const unet__st_file *f, const char *config_json, struct unet_model **out)
{
    unet__config cfg, given;
    json_t *doc = NULL;
    int rc = UNET_OK;
    if (config_json && (rc = unet__config_parse(config_json, &given)) != UNET_OK)
        return rc;
    if (f->metadata_libunet) {
        rc = parse_metadata(f->metadata_libunet, f, &cfg, &doc);
        if (rc == UNET_OK && config_json && !unet__config_equal(&cfg, &given))
            rc = unet__fail(UNET_E_INVALID_ARG, "the given config differs from the "
                                                "architecture stored in the file");
    } else if (config_json) {
        cfg = given;
    } else {
        rc = unet__fail(UNET_E_FORMAT, "the file has no libunet metadata: load it with its "
                                       "config (unet_model_load_with_config)");
    }
    /* The graph is built once: checked against the file's tensors, then the model's. */
    unet__graph g = {0};
    if (rc == UNET_OK)
        rc = unet__build_unet(&cfg, &g);
    if (rc == UNET_OK)
        rc = check_tensors(&g, f);
    struct unet_model *m = NULL;
    if (rc == UNET_OK)
        rc = unet__model_new(&cfg, &g, &m);
    unet__graph_clear(&g); /* emptied by unet__model_new; built but refused otherwise */
    if (rc == UNET_OK)
        rc = fill_params(m, f);
    if (rc == UNET_OK && doc) {
        static const char *const sections[] = {"preprocessing", "output", "training", "halo"};
        for (int i = 0; i < 4 && rc == UNET_OK; i++) {
            json_t *v = json_object_get(doc, sections[i]);
            if (v)
                rc = unet__model_set_section(m, sections[i], v, UNET_E_FORMAT);
        }
    }
    if (rc == UNET_OK)
        rc = unet__model_refresh(m);
    json_decref(doc);
    if (rc != UNET_OK) {
        unet__model_free(m);
        return rc;
    }
    *out = m;
    return UNET_OK;
}

int unet__model_parse(const void *data, size_t size, const char *config_json,
                      struct unet_model **out)
{
    *out = NULL;
    unet__st_file f;
    int rc = unet__st_parse(data, size, &f);
    if (rc != UNET_OK)
        return rc;
    rc = load_parsed(&f, config_json, out);
    unet__st_file_clear(&f);
    return rc;
}

/* Read a whole file (model files are small; sizes are checked before allocating). */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    int fd;
    uint64_t file_size;
    int rc = unet__open_regular(path, "model", &fd, &file_size);
    if (rc != UNET_OK)
        return rc;
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return unet__fail(UNET_E_NOMEM, "model '%.200s': cannot read: %s", path,
                          strerror(errno));
    }
    if (file_size > MAX_FILE_SIZE) {
        fclose(fp);
        return unet__fail(UNET_E_FORMAT, "'%.200s' is %llu bytes, larger than any model file",
                          path, (unsigned long long)file_size);
    }
    size_t n = (size_t)file_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(fp);
        return unet__fail(UNET_E_NOMEM, "out of memory reading '%.200s' (%zu bytes)", path, n);
    }
    size_t got = fread(buf, 1, n, fp);
    int failed = ferror(fp);
    fclose(fp);
    if (got != n || failed) {
        free(buf);
        return unet__fail(UNET_E_IO, "cannot read '%.200s'", path);
    }
    *data = buf;
    *size = n;
    return UNET_OK;
}

int unet__model_read_file(const char *path, const char *config_json, struct unet_model **out)
{
    *out = NULL;
    uint8_t *data;
    size_t size;
    int rc = read_file(path, &data, &size);
    if (rc != UNET_OK)
        return rc;
    rc = unet__model_parse(data, size, config_json, out);
    free(data);
    if (rc != UNET_OK) {
        char context[256];
        snprintf(context, sizeof context, "'%.200s'", path);
        unet__fail_context(rc, context);
    }
    return rc;
}

int unet__model_serialize(const struct unet_model *m, void **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    int n = m->graph.nparams;
    unet__st_out *tensors = calloc((size_t)n, sizeof *tensors);
    if (!tensors)
        return unet__fail(UNET_E_NOMEM, "out of memory saving the model");
    for (int i = 0; i < n; i++) {
        tensors[i].name = m->graph.params[i].name;
        tensors[i].ndim = m->graph.params[i].ndim;
        tensors[i].shape = m->graph.params[i].shape;
        tensors[i].data = m->params[i];
    }
    char crc_hex[9];
    snprintf(crc_hex, sizeof crc_hex, "%08lx",
             (unsigned long)unet__st_data_crc32(tensors, (size_t)n));
    json_t *doc = unet__model_metadata_json(m, crc_hex);
    char *meta = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    int rc;
    if (!meta)
        rc = unet__fail(UNET_E_NOMEM, "out of memory writing the model metadata");
    else
        rc = unet__st_serialize(tensors, (size_t)n, meta, (uint8_t **)data, size);
    free(meta);
    free(tensors);
    return rc;
}


int unet__model_write_file(const struct unet_model *m, const char *path)
{
    void *data;
    size_t size;
    int rc = unet__model_serialize(m, &data, &size);
    if (rc != UNET_OK)
        return rc;
    /* A temporary file renamed into place: a failed save never leaves a torn model. */
    rc = unet__output_write_all(path, data, size);
    free(data);
    return rc;
}
