/* Model files through the public API: save/load round trips, and a corpus of malformed files
 * that must each be refused with UNET_E_FORMAT (or UNSUPPORTED) and a message, never a crash
 * or an over-read (run under ASan in CI). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/f16.h"
#include "graph/config.h"
#include "graph/graph.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "unet.h"

#include "api_calls.h"
#include "run_suite.h"

#define CFG "{\"depth\": 2, \"base_features\": 4, \"block\": \"cbrcr\"}"

static unet_model_t *make_model(void)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create(CFG, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing",
                                             "{\"normalize\":\"percentile\",\"low\":2,\"high\":99}"),
                     UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "training", "{\"data\":\"synthetic\"}"), UNET_OK);
    return m;
}

/* Load from an exactly-sized heap copy, so ASan sees any read past the end. */
static int load_copy(const void *data, size_t size, const char *config)
{
    void *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    unet_model_t *m = (unet_model_t *)0x1;
    int rc = unet_model_load_memory(copy, size, config, &m);
    if (rc == UNET_OK)
        unet_model_free(m);
    else
        ck_assert_ptr_null(m);
    free(copy);
    return rc;
}

static void assert_refused(const void *data, size_t size, int code, const char *needle)
{
    int rc = load_copy(data, size, NULL);
    ck_assert_msg(rc == code, "expected %d, got %d (%s)", code, rc, unet_last_error());
    ck_assert_msg(strlen(unet_last_error()) > 0, "no message");
    if (needle)
        ck_assert_msg(strstr(unet_last_error(), needle), "'%s' not in: %s", needle,
                      unet_last_error());
}

/* The model's tensors as serializer input (pointing into `storage`). */
typedef struct tensors {
    unet__st_out t[64];
    int64_t shapes[64][4];
    char names[64][48];
    float *data[64];
    int n;
} tensors;

static void get_tensors(const unet_model_t *m, tensors *ts)
{
    ts->n = model_int(unet_model_tensor_count, m);
    ck_assert_int_le(ts->n, 64);
    for (int i = 0; i < ts->n; i++) {
        const char *name;
        int nd;
        ck_assert_int_eq(unet_model_tensor_info(m, i, &name, &nd, ts->shapes[i]), UNET_OK);
        snprintf(ts->names[i], sizeof ts->names[i], "%s", name);
        int64_t numel = 1;
        for (int d = 0; d < nd; d++)
            numel *= ts->shapes[i][d];
        ts->data[i] = malloc((size_t)numel * sizeof(float));
        ck_assert_int_eq(unet_model_get_tensor(m, name, ts->data[i], (size_t)numel), UNET_OK);
        ts->t[i] = (unet__st_out){ts->names[i], nd, ts->shapes[i], ts->data[i]};
    }
}

static void free_tensors(tensors *ts)
{
    for (int i = 0; i < ts->n; i++)
        free(ts->data[i]);
}

/* A file from tensors and a metadata template whose "%s" receives the right crc32. */
static void build(const tensors *ts, int n, const char *meta_fmt, uint8_t **out, size_t *len)
{
    char crc[9], meta[4096];
    snprintf(crc, sizeof crc, "%08lx", (unsigned long)unet__st_data_crc32(ts->t, (size_t)n));
    if (meta_fmt)
        snprintf(meta, sizeof meta, meta_fmt, crc);
    ck_assert_int_eq(unet__st_serialize(ts->t, (size_t)n, meta_fmt ? meta : NULL, out, len),
                     UNET_OK);
}

#define ARCH "\"architecture\":" CFG

START_TEST(test_round_trip_bit_exact)
{
    unet_model_t *m = make_model();
    void *a, *b;
    size_t na, nb;
    ck_assert_int_eq(unet_model_save_memory(m, &a, &na), UNET_OK);
    unet_model_t *m2;
    ck_assert_int_eq(unet_model_load_memory(a, na, NULL, &m2), UNET_OK);
    ck_assert_int_eq(unet_model_save_memory(m2, &b, &nb), UNET_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na);
    ck_assert_str_eq(model_metadata(m), model_metadata(m2));
    /* The header is padded to 8 bytes and the metadata carries a crc32. */
    uint64_t hlen = 0;
    memcpy(&hlen, a, 8);
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_ptr_nonnull(strstr((char *)a + 8, "crc32"));
    /* Through a file too. */
    char path[] = "/tmp/unet_test_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(unet_model_save(m2, path), UNET_OK);
    unet_model_t *m3;
    ck_assert_int_eq(unet_model_load(path, &m3), UNET_OK);
    void *c;
    size_t nc;
    ck_assert_int_eq(unet_model_save_memory(m3, &c, &nc), UNET_OK);
    ck_assert_uint_eq(nc, na);
    ck_assert_mem_eq(a, c, na);
    ck_assert_int_eq(unet_model_save(m3, "/nonexistent-dir/x.unet"), UNET_E_IO);
    remove(path);
    unet_buffer_free(a);
    unet_buffer_free(b);
    unet_buffer_free(c);
    unet_model_free(m);
    unet_model_free(m2);
    unet_model_free(m3);
}
END_TEST

START_TEST(test_truncation_at_every_offset)
{
    unet_model_t *m = make_model();
    void *a;
    size_t na;
    ck_assert_int_eq(unet_model_save_memory(m, &a, &na), UNET_OK);
    for (size_t cut = 0; cut < na; cut++) {
        int rc = load_copy(a, cut, NULL);
        ck_assert_msg(rc == UNET_E_FORMAT, "cut at %zu: %d %s", cut, rc, unet_last_error());
        ck_assert_msg(strlen(unet_last_error()) > 0, "cut at %zu: no message", cut);
    }
    ck_assert_int_eq(load_copy(a, na, NULL), UNET_OK);
    unet_buffer_free(a);
    unet_model_free(m);
}
END_TEST

START_TEST(test_corrupt_container)
{
    unet_model_t *m = make_model();
    void *a;
    size_t na;
    ck_assert_int_eq(unet_model_save_memory(m, &a, &na), UNET_OK);
    uint8_t *buf = malloc(na);

    /* Header length beyond the file, and the largest possible header length. */
    memcpy(buf, a, na);
    uint64_t big = na;
    memcpy(buf, &big, 8);
    assert_refused(buf, na, UNET_E_FORMAT, NULL);
    big = UINT64_MAX;
    memcpy(buf, &big, 8);
    assert_refused(buf, na, UNET_E_FORMAT, NULL);

    /* A flipped byte in the data section: the checksum catches it. */
    memcpy(buf, a, na);
    buf[na - 3] ^= 0x40;
    assert_refused(buf, na, UNET_E_FORMAT, "checksum");

    /* Header bytes that break the JSON. */
    memcpy(buf, a, na);
    buf[8] = '[';
    assert_refused(buf, na, UNET_E_FORMAT, NULL);

    /* Random byte flips anywhere never crash: each is refused or loads consistently. */
    srand(3);
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, a, na);
        size_t pos = (size_t)rand() % na;
        buf[pos] = (uint8_t)rand();
        int rc = load_copy(buf, na, NULL);
        ck_assert(rc == UNET_OK || rc == UNET_E_FORMAT || rc == UNET_E_UNSUPPORTED);
    }
    free(buf);
    unet_buffer_free(a);
    unet_model_free(m);
}
END_TEST

START_TEST(test_bad_metadata)
{
    unet_model_t *m = make_model();
    tensors ts;
    get_tensors(m, &ts);
    struct { const char *meta; int code; const char *needle; } cases[] = {
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%s\"", UNET_E_FORMAT, "JSON"},
        {"[1,2,\"%s\"]", UNET_E_FORMAT, "object"},
        {"{\"format_version\":2," ARCH ",\"crc32\":\"%s\"}", UNET_E_UNSUPPORTED, "format_version"},
        {"{\"format_version\":\"1\"," ARCH ",\"crc32\":\"%s\"}", UNET_E_FORMAT, "format_version"},
        {"{" ARCH ",\"crc32\":\"%s\"}", UNET_E_FORMAT, "format_version"},
        {"{\"format_version\":1,\"crc32\":\"%s\"}", UNET_E_FORMAT, "architecture"},
        {"{\"format_version\":1," ARCH "}%.0s", UNET_E_FORMAT, "crc32"},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%.7s\"}", UNET_E_FORMAT, "crc32"},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"0000000%.1s\"}", UNET_E_FORMAT, NULL},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%s\",\"extra\":1}", UNET_E_FORMAT, "extra"},
        {"{\"format_version\":1,\"architecture\":{\"depth\":2,\"colour\":1},\"crc32\":\"%s\"}",
         UNET_E_FORMAT, "colour"},
        {"{\"format_version\":1,\"architecture\":{\"ndim\":3},\"crc32\":\"%s\"}",
         UNET_E_UNSUPPORTED, "3-D"},
        {"{\"format_version\":1,\"graph\":{},\"crc32\":\"%s\"}", UNET_E_UNSUPPORTED, "graph"},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%s\",\"halo\":-1}", UNET_E_FORMAT, "halo"},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%s\",\"preprocessing\":{\"normalize\":"
         "\"magic\"}}", UNET_E_FORMAT, "magic"},
        {"{\"format_version\":1," ARCH ",\"crc32\":\"%s\",\"training\":3}", UNET_E_FORMAT,
         "training"},
        /* Another architecture than the tensors were made for: shapes contradict it. */
        {"{\"format_version\":1,\"architecture\":{\"depth\":2,\"base_features\":5,\"block\":"
         "\"cbrcr\"},\"crc32\":\"%s\"}", UNET_E_FORMAT, "shape"},
        {"{\"format_version\":1,\"architecture\":{\"depth\":3,\"base_features\":4,\"block\":"
         "\"cbrcr\"},\"crc32\":\"%s\"}", UNET_E_FORMAT, "missing"},
        {"{\"format_version\":1,\"architecture\":{\"depth\":2,\"base_features\":4,\"block\":"
         "\"cbr\"},\"crc32\":\"%s\"}", UNET_E_FORMAT, "not part of this architecture"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *buf;
        size_t len;
        build(&ts, ts.n, cases[i].meta, &buf, &len);
        int rc = load_copy(buf, len, NULL);
        ck_assert_msg(rc == cases[i].code, "case %zu: got %d (%s)", i, rc, unet_last_error());
        if (cases[i].needle)
            ck_assert_msg(strstr(unet_last_error(), cases[i].needle), "case %zu: %s", i,
                          unet_last_error());
        free(buf);
    }
    /* The valid template loads, so the failures above are the edits' doing. */
    uint8_t *buf;
    size_t len;
    build(&ts, ts.n, "{\"format_version\":1," ARCH ",\"crc32\":\"%s\"}", &buf, &len);
    ck_assert_int_eq(load_copy(buf, len, NULL), UNET_OK);
    free(buf);
    free_tensors(&ts);
    unet_model_free(m);
}
END_TEST

START_TEST(test_plain_safetensors_needs_config)
{
    unet_model_t *m = make_model();
    tensors ts;
    get_tensors(m, &ts);
    uint8_t *buf;
    size_t len;
    build(&ts, ts.n, NULL, &buf, &len);
    ck_assert_int_eq(load_copy(buf, len, NULL), UNET_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "config"));
    ck_assert_int_eq(load_copy(buf, len, CFG), UNET_OK);
    ck_assert_int_eq(load_copy(buf, len, "{\"depth\": 2}"), UNET_E_FORMAT);
    ck_assert_int_eq(load_copy(buf, len, "{\"depth\": 2, \"oops\": 1}"), UNET_E_INVALID_ARG);
    free(buf);
    /* A file with metadata must agree with a given config. */
    build(&ts, ts.n, "{\"format_version\":1," ARCH ",\"crc32\":\"%s\"}", &buf, &len);
    ck_assert_int_eq(load_copy(buf, len, CFG), UNET_OK);
    ck_assert_int_eq(load_copy(buf, len, "{\"depth\": 3}"), UNET_E_INVALID_ARG);
    free(buf);
    free_tensors(&ts);
    unet_model_free(m);
}
END_TEST

/* Write a safetensors file by hand: header JSON text, then raw bytes. */
static uint8_t *raw_file(const char *header, const void *data, size_t data_len, size_t *len)
{
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    uint8_t *buf = malloc(*len);
    uint64_t hl = h;
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, header, h);
    memcpy(buf + 8 + h, data, data_len);
    return buf;
}

START_TEST(test_f16_bf16_and_dtypes)
{
    /* depth 1, base 2, block "c": tensors down0.conv0 [2,1,1,1] + bias [2], out [1,2,1,1] +
     * bias [1]. Store them as F16 / BF16 / F32 / F64 and compare with the expected floats. */
    const char *cfg = "{\"depth\":1,\"base_features\":2,\"block\":\"c\",\"kernel_size\":1}";
    uint16_t w16[2] = {unet__f32_to_f16(0.5f), unet__f32_to_f16(-2.0f)};
    uint16_t b16[2] = {unet__f32_to_bf16(1.0f), unet__f32_to_bf16(0.25f)};
    float ow[2] = {3.0f, -1.0f};
    double ob[1] = {0.125};
    uint8_t data[4 + 4 + 8 + 8];
    memcpy(data, w16, 4);
    memcpy(data + 4, b16, 4);
    memcpy(data + 8, ow, 8);
    memcpy(data + 16, ob, 8);
    char header[1024];
    snprintf(header, sizeof header,
             "{\"down0.conv0.weight\":{\"dtype\":\"F16\",\"shape\":[2,1,1,1],\"data_offsets\":[0,4]},"
             "\"down0.conv0.bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},"
             "\"out.weight\":{\"dtype\":\"F32\",\"shape\":[1,2,1,1],\"data_offsets\":[8,16]},"
             "\"out.bias\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]}}");
    size_t len;
    uint8_t *buf = raw_file(header, data, sizeof data, &len);
    unet_model_t *m;
    ck_assert_int_eq(unet_model_load_memory(buf, len, cfg, &m), UNET_OK);
    float w[2], b[2], o[2], ob32[1];
    ck_assert_int_eq(unet_model_get_tensor(m, "down0.conv0.weight", w, 2), UNET_OK);
    ck_assert_int_eq(unet_model_get_tensor(m, "down0.conv0.bias", b, 2), UNET_OK);
    ck_assert_int_eq(unet_model_get_tensor(m, "out.weight", o, 2), UNET_OK);
    ck_assert_int_eq(unet_model_get_tensor(m, "out.bias", ob32, 1), UNET_OK);
    ck_assert(w[0] == 0.5f && w[1] == -2.0f && b[0] == 1.0f && b[1] == 0.25f);
    ck_assert(o[0] == 3.0f && o[1] == -1.0f && ob32[0] == 0.125f);
    unet_model_free(m);
    free(buf);

    /* A non-float dtype for a weight; a num_batches_tracked counter (ignored); NaN weights. */
    snprintf(header, sizeof header,
             "{\"down0.conv0.weight\":{\"dtype\":\"I32\",\"shape\":[2,1,1,1],\"data_offsets\":[0,8]},"
             "\"down0.conv0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
             "\"out.weight\":{\"dtype\":\"F32\",\"shape\":[1,2,1,1],\"data_offsets\":[16,24]},"
             "\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}");
    uint8_t zeros[28] = {0};
    buf = raw_file(header, zeros, sizeof zeros, &len);
    ck_assert_int_eq(load_copy(buf, len, cfg), UNET_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "dtype"));
    free(buf);
    snprintf(header, sizeof header,
             "{\"down0.conv0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,1,1],\"data_offsets\":[0,8]},"
             "\"down0.conv0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
             "\"out.weight\":{\"dtype\":\"F32\",\"shape\":[1,2,1,1],\"data_offsets\":[16,24]},"
             "\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]},"
             "\"down0.bn0.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[28,36]}}");
    uint8_t zeros36[36] = {0};
    buf = raw_file(header, zeros36, sizeof zeros36, &len);
    ck_assert_int_eq(load_copy(buf, len, cfg), UNET_OK);
    float nan = NAN;
    memcpy(buf + len - 36 + 4, &nan, 4);
    ck_assert_int_eq(load_copy(buf, len, cfg), UNET_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "finite"));
    free(buf);

    /* Dimensions whose product overflows; offsets out of range; overlapping tensors. */
    const char *bad_headers[] = {
        "{\"out.bias\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}",
        "{\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}",
        "{\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"out.weight\":{\"dtype\":\"F32\",\"shape\":[1,2,1,1],\"data_offsets\":[0,8]}}",
        "{\"out.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551615,4]}}",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        buf = raw_file(bad_headers[i], zeros36, 8, &len);
        ck_assert_msg(load_copy(buf, len, cfg) == UNET_E_FORMAT, "bad header %zu", i);
        free(buf);
    }
}
END_TEST

/* Peak resident memory of the process so far, in MiB. */
static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* A ~200-byte file whose architecture claims 2 billion weights and holds none: refused before
 * any weight is allocated (it used to allocate and clear 8 GB first). */
START_TEST(test_huge_claim_costs_nothing)
{
    const char *header =
        "{\"__metadata__\":{\"libunet\":\"{\\\"format_version\\\":1,\\\"architecture\\\":"
        "{\\\"depth\\\":2,\\\"base_features\\\":4500},\\\"crc32\\\":\\\"00000000\\\"}\"}}";
    size_t len;
    uint8_t *buf = raw_file(header, "", 0, &len);
    ck_assert_uint_lt(len, 256);
    long before = peak_rss_mib();
    assert_refused(buf, len, UNET_E_FORMAT, "missing");
    long grown = peak_rss_mib() - before;
    ck_assert_msg(grown < 64, "peak RSS grew by %ld MiB refusing a %zu-byte file", grown, len);
    free(buf);
}
END_TEST

/* Resident memory of the process now, in MiB. */
static long rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE) / (1 << 20);
}

/* A new model's weights are zero pages from the kernel, not cleared by hand: 1.5 GB of claimed
 * weights cost nothing until the loader writes them (a memset used to touch every page). */
START_TEST(test_new_model_touches_no_weights)
{
    unet__config cfg;
    ck_assert_int_eq(unet__config_parse("{\"depth\": 2, \"base_features\": 2000}", &cfg),
                     UNET_OK);
    unet__graph g = {0};
    ck_assert_int_eq(unet__build_unet(&cfg, &g), UNET_OK);
    long before = rss_mib();
    struct unet_model *m;
    ck_assert_int_eq(unet__model_new(&cfg, &g, &m), UNET_OK);
    long grown = rss_mib() - before;
    int64_t total = 0;
    for (int i = 0; i < m->graph.nparams; i++)
        total += m->graph.params[i].numel;
    ck_assert_int_gt(total, (int64_t)300 << 20);
    ck_assert_msg(grown < 64, "RSS grew by %ld MiB creating a model of %lld weights", grown,
                  (long long)total);
    /* Zero all the same: the first and the last weight (touching two pages). */
    int last = m->graph.nparams - 1;
    ck_assert(m->params[0][0] == 0.0f);
    ck_assert(m->params[last][m->graph.params[last].numel - 1] == 0.0f);
    unet__model_free(m);
}
END_TEST

/* A stated halo far beyond the receptive-field margin is refused (it inflated every window:
 * 2.2 GB for a 4x4 image); a modest raise is kept. */
START_TEST(test_stated_halo_bounded)
{
    unet_model_t *m = make_model();
    int margin = 0, halo = 0;
    ck_assert_int_eq(unet_model_halo(m, &margin), UNET_OK);
    ck_assert_int_gt(margin, 0);
    char text[32];
    snprintf(text, sizeof text, "%d", margin + 256);
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", text), UNET_OK);
    ck_assert_int_eq(unet_model_halo(m, &halo), UNET_OK);
    ck_assert_int_eq(halo, margin + 256);
    void *data;
    size_t size;
    ck_assert_int_eq(unet_model_save_memory(m, &data, &size), UNET_OK);
    ck_assert_int_eq(load_copy(data, size, NULL), UNET_OK);
    unet_buffer_free(data);
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", "12000"), UNET_E_INVALID_ARG);
    ck_assert_msg(strstr(unet_last_error(), "halo"), "%s", unet_last_error());
    ck_assert_int_eq(unet_model_halo(m, &halo), UNET_OK);
    ck_assert_int_eq(halo, margin + 256); /* unchanged by the refusal */
    unet_model_free(m);
}
END_TEST

/* A FIFO, a directory or a missing path as a model file is refused at once (a FIFO without a
 * writer used to block the open forever). */
START_TEST(test_not_regular_files)
{
    char dir[] = "/tmp/unet_model_fifo_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/model.unet", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, dir};
    for (int i = 0; i < 2; i++) {
        unet_model_t *m = (unet_model_t *)0x1;
        int rc = unet_model_load(paths[i], &m);
        ck_assert_msg(rc == UNET_E_IO, "%s: rc %d (%s)", paths[i], rc, unet_last_error());
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(unet_last_error(), "not a regular file"), "%s", unet_last_error());
    }
    unlink(fifo);
    unet_model_t *m = (unet_model_t *)0x1;
    ck_assert_int_eq(unet_model_load(fifo, &m), UNET_E_IO); /* now missing */
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(unet_last_error(), "no such file"), "%s", unet_last_error());
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("model_file");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_round_trip_bit_exact);
    tcase_add_test(tc, test_truncation_at_every_offset);
    tcase_add_test(tc, test_corrupt_container);
    tcase_add_test(tc, test_bad_metadata);
    tcase_add_test(tc, test_plain_safetensors_needs_config);
    tcase_add_test(tc, test_f16_bf16_and_dtypes);
    tcase_add_test(tc, test_not_regular_files);
    tcase_add_test(tc, test_huge_claim_costs_nothing);
    tcase_add_test(tc, test_new_model_touches_no_weights);
    tcase_add_test(tc, test_stated_halo_bounded);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
