/* The safetensors container and half-float conversion. Malformed inputs are built here from
 * valid ones so that each case differs from an accepted file by the one defect under test. */
#include "core/f16.h"
#include "core/status.h"
#include "io/safetensors.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "run_suite.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A file from a header written with ' for " (readable in C) and `data_len` bytes of pattern.
 * Exactly sized, so ASan catches any read past the end. */
static uint8_t *raw_file(const char *hdr, size_t data_len, size_t *len)
{
    size_t h = strlen(hdr);
    *len = 8 + h + data_len;
    uint8_t *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    put_le64(b, h);
    for (size_t i = 0; i < h; i++)
        b[8 + i] = hdr[i] == '\'' ? '"' : (uint8_t)hdr[i];
    for (size_t i = 0; i < data_len; i++)
        b[8 + h + i] = (uint8_t)(i * 37 + 11);
    return b;
}

static int file_is_empty(const unet__st_file *f)
{
    return f->tensors == NULL && f->count == 0 && f->metadata_libunet == NULL && f->data == NULL &&
           f->data_size == 0;
}

/* Parse must fail with UNET_E_FORMAT, a message containing `want`, and an empty result. */
static void check_format_failure(const uint8_t *buf, size_t len, const char *want, int line)
{
    unet__st_file f;
    memset(&f, 0xA5, sizeof f); /* garbage in: the parser must empty it */
    unet__clear_error();
    int rc = unet__st_parse(buf, len, &f);
    ck_assert_msg(rc == UNET_E_FORMAT, "line %d: rc %d, want UNET_E_FORMAT (message '%s')", line,
                  rc, unet_last_error());
    ck_assert_msg(unet_last_error()[0] != '\0', "line %d: empty error message", line);
    ck_assert_msg(!want || strstr(unet_last_error(), want),
                  "line %d: message '%s' does not mention '%s'", line, unet_last_error(), want);
    ck_assert_msg(file_is_empty(&f), "line %d: result not emptied on failure", line);
}
#define EXPECT_FORMAT(buf, len, want) check_format_failure((buf), (len), (want), __LINE__)

/* A raw header must fail as described. */
static void raw_fails(const char *hdr, size_t data_len, const char *want, int line)
{
    size_t len;
    uint8_t *b = raw_file(hdr, data_len, &len);
    check_format_failure(b, len, want, line);
    free(b);
}
#define RAW_FAILS(hdr, data_len, want) raw_fails((hdr), (data_len), (want), __LINE__)

static void raw_parses(const char *hdr, size_t data_len, int line)
{
    size_t len;
    uint8_t *b = raw_file(hdr, data_len, &len);
    unet__st_file f;
    int rc = unet__st_parse(b, len, &f);
    ck_assert_msg(rc == UNET_OK, "line %d: rc %d: %s", line, rc, unet_last_error());
    unet__st_file_clear(&f);
    free(b);
}
#define RAW_PARSES(hdr, data_len) raw_parses((hdr), (data_len), __LINE__)

/* The valid file most malformed cases start from: three tensors (one of zero elements) and
 * metadata. */
static const int64_t shape_a[] = {2, 3};
static const int64_t shape_b[] = {4};
static const int64_t shape_z[] = {0, 5};
static float data_a[6], data_b[4], data_s[1];

static void fill_data(void)
{
    const uint32_t special[] = {0x7fc01234u, 0x80000000u, 0x00000001u, 0x7f800000u,
                                0xff800000u, 0x3f800000u};
    for (int i = 0; i < 6; i++)
        data_a[i] = bits_f32(special[i]);
    for (int i = 0; i < 4; i++)
        data_b[i] = (float)i * 0.25f - 1.5f;
    data_s[0] = 3.14159265f;
}

#define N_VALID 4
static void valid_tensors(unet__st_out *t)
{
    fill_data();
    t[0] = (unet__st_out){"enc.weight", 2, shape_a, data_a};
    t[1] = (unet__st_out){"zero", 2, shape_z, NULL};
    t[2] = (unet__st_out){"b", 1, shape_b, data_b};
    t[3] = (unet__st_out){"scalar", 0, NULL, data_s};
}

static const char *valid_meta = "{\"format_version\": 1, \"note\": \"\xc2\xb5m \\\"quoted\\\"\"}";

static uint8_t *valid_file(size_t *len)
{
    unet__st_out t[N_VALID];
    valid_tensors(t);
    uint8_t *buf = NULL;
    int rc = unet__st_serialize(t, N_VALID, valid_meta, &buf, len);
    ck_assert_msg(rc == UNET_OK, "serialize: %s", unet_last_error());
    ck_assert_ptr_nonnull(buf);
    return buf;
}

static uint8_t *copy_exact(const uint8_t *src, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, src, n);
    return d;
}

/* ---- f16 / bf16 --------------------------------------------------------------------------- */

START_TEST(test_f16_known_values)
{
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x3c00)), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0xc000)), f32_bits(-2.0f));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x7bff)), f32_bits(65504.0f));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x0001)), f32_bits(ldexpf(1.0f, -24)));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x03ff)), f32_bits(ldexpf(1023.0f, -24)));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x0400)), f32_bits(ldexpf(1.0f, -14)));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x8001)), f32_bits(-ldexpf(1.0f, -24)));
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x0000)), 0x00000000u);
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x8000)), 0x80000000u);
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0x7c00)), 0x7f800000u);
    ck_assert_uint_eq(f32_bits(unet__f16_to_f32(0xfc00)), 0xff800000u);
    ck_assert(isnan(unet__f16_to_f32(0x7e00)));
    ck_assert(isnan(unet__f16_to_f32(0x7c01))); /* signalling NaN stays a NaN, not inf */
    ck_assert(isnan(unet__f16_to_f32(0xfe00)));

    ck_assert_uint_eq(unet__f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(unet__f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(unet__f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(1.0f, -24)), 0x0001);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(1.0f, -14)), 0x0400);
    ck_assert_uint_eq(unet__f32_to_f16(0.0f), 0x0000);
    ck_assert_uint_eq(unet__f32_to_f16(-0.0f), 0x8000);
    ck_assert_uint_eq(unet__f32_to_f16(INFINITY), 0x7c00);
    ck_assert_uint_eq(unet__f32_to_f16(-INFINITY), 0xfc00);
    ck_assert_uint_eq(unet__f32_to_f16(1e10f), 0x7c00);
    ck_assert_uint_eq(unet__f32_to_f16(-1e10f), 0xfc00);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(1.0f, -40)), 0x0000);
    uint16_t n = unet__f32_to_f16(NAN);
    ck_assert_uint_eq(n & 0x7c00, 0x7c00);
    ck_assert_uint_ne(n & 0x03ff, 0);
    /* a NaN whose payload lies only in the low bits must not become inf */
    uint16_t n2 = unet__f32_to_f16(bits_f32(0x7f800001u));
    ck_assert_uint_eq(n2 & 0x7c00, 0x7c00);
    ck_assert_uint_ne(n2 & 0x03ff, 0);
}
END_TEST

START_TEST(test_f16_round_to_even)
{
    /* halfway between 1 (even) and 1 + 2^-10: down */
    ck_assert_uint_eq(unet__f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00);
    /* halfway between 0x3c01 (odd) and 0x3c02: up */
    ck_assert_uint_eq(unet__f32_to_f16(1.0f + 3.0f * ldexpf(1.0f, -11)), 0x3c02);
    /* just above halfway: up */
    ck_assert_uint_eq(unet__f32_to_f16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);
    /* just below halfway: down */
    ck_assert_uint_eq(unet__f32_to_f16(1.0f + ldexpf(1.0f, -11) - ldexpf(1.0f, -22)), 0x3c00);
    /* the overflow threshold: 65519.99 stays finite, 65520 ties to the even 65536 = inf */
    ck_assert_uint_eq(unet__f32_to_f16(65519.0f), 0x7bff);
    ck_assert_uint_eq(unet__f32_to_f16(65520.0f), 0x7c00);
    ck_assert_uint_eq(unet__f32_to_f16(-65520.0f), 0xfc00);
    /* subnormals: 2^-25 ties to 0, 1.5 * 2^-24 ties to 2, 2.5 * 2^-24 ties to 2 */
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(1.0f, -25)), 0x0000);
    ck_assert_uint_eq(unet__f32_to_f16(-ldexpf(1.0f, -25)), 0x8000);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(1.0f, -25) * 1.0001f), 0x0001);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(3.0f, -25)), 0x0002);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(5.0f, -25)), 0x0002);
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(7.0f, -25)), 0x0004);
    /* the largest subnormal plus half a step ties up into the smallest normal */
    ck_assert_uint_eq(unet__f32_to_f16(ldexpf(2047.0f, -25)), 0x0400);
    /* a mantissa carry bumps the exponent: 2 - 2^-12 rounds to 2 */
    ck_assert_uint_eq(unet__f32_to_f16(2.0f - ldexpf(1.0f, -12)), 0x4000);
}
END_TEST

START_TEST(test_f16_exhaustive)
{
    /* Every half converts to float and back unchanged; its float is exactly the value. */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = unet__f16_to_f32((uint16_t)h);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan) {
            ck_assert_msg(isnan(f), "half 0x%04x", h);
            ck_assert_msg(isnan(unet__f16_to_f32(unet__f32_to_f16(f))), "half 0x%04x", h);
            continue;
        }
        ck_assert_msg(unet__f32_to_f16(f) == h, "half 0x%04x -> %a -> 0x%04x", h, (double)f,
                      unet__f32_to_f16(f));
        if ((h & 0x7c00) != 0x7c00) {
            int e = (int)((h >> 10) & 0x1f);
            double m = (double)(h & 0x3ff);
            double v = e ? ldexp(1024.0 + m, e - 25) : ldexp(m, -24);
            if (h & 0x8000)
                v = -v;
            ck_assert_msg((double)f == v, "half 0x%04x -> %a, want %a", h, (double)f, v);
        }
    }
}
END_TEST

START_TEST(test_bf16)
{
    ck_assert_uint_eq(f32_bits(unet__bf16_to_f32(0x3f80)), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(unet__bf16_to_f32(0xc000)), f32_bits(-2.0f));
    ck_assert_uint_eq(f32_bits(unet__bf16_to_f32(0x0001)), 0x00010000u); /* smallest subnormal */
    ck_assert_uint_eq(f32_bits(unet__bf16_to_f32(0x7f80)), 0x7f800000u);
    ck_assert_uint_eq(f32_bits(unet__bf16_to_f32(0xff80)), 0xff800000u);
    ck_assert(isnan(unet__bf16_to_f32(0x7fc0)));
    ck_assert(isnan(unet__bf16_to_f32(0x7f81)));

    ck_assert_uint_eq(unet__f32_to_bf16(1.0f), 0x3f80);
    ck_assert_uint_eq(unet__f32_to_bf16(-2.0f), 0xc000);
    ck_assert_uint_eq(unet__f32_to_bf16(bits_f32(0x00010000u)), 0x0001);
    ck_assert_uint_eq(unet__f32_to_bf16(INFINITY), 0x7f80);
    ck_assert_uint_eq(unet__f32_to_bf16(-INFINITY), 0xff80);
    ck_assert_uint_eq(unet__f32_to_bf16(-0.0f), 0x8000);
    /* round to nearest even */
    ck_assert_uint_eq(unet__f32_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3f80);       /* tie, down */
    ck_assert_uint_eq(unet__f32_to_bf16(1.0f + 3.0f * ldexpf(1.0f, -8)), 0x3f82); /* tie, up */
    ck_assert_uint_eq(unet__f32_to_bf16(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -20)), 0x3f81);
    ck_assert_uint_eq(unet__f32_to_bf16(bits_f32(0x00008000u)), 0x0000); /* subnormal tie */
    ck_assert_uint_eq(unet__f32_to_bf16(bits_f32(0x00018000u)), 0x0002);
    ck_assert_uint_eq(unet__f32_to_bf16(bits_f32(0x7f7fffffu)), 0x7f80); /* FLT_MAX -> inf */
    ck_assert_uint_eq(unet__f32_to_bf16(bits_f32(0x7f7f7fffu)), 0x7f7f);
    /* NaNs stay NaN, including payloads only in the dropped low half */
    uint16_t n = unet__f32_to_bf16(bits_f32(0x7f800001u));
    ck_assert_uint_eq(n & 0x7f80, 0x7f80);
    ck_assert_uint_ne(n & 0x007f, 0);
    n = unet__f32_to_bf16(bits_f32(0xffffffffu));
    ck_assert(isnan(unet__bf16_to_f32(n)));

    for (uint32_t b = 0; b < 65536; b++) {
        float f = unet__bf16_to_f32((uint16_t)b);
        if (isnan(f))
            ck_assert_msg(isnan(unet__bf16_to_f32(unet__f32_to_bf16(f))), "bf16 0x%04x", b);
        else
            ck_assert_msg(unet__f32_to_bf16(f) == b, "bf16 0x%04x", b);
    }
}
END_TEST

/* ---- round trip --------------------------------------------------------------------------- */

START_TEST(test_roundtrip)
{
    unet__st_out t[N_VALID];
    valid_tensors(t);
    size_t len = 0;
    uint8_t *buf = valid_file(&len);

    uint64_t hlen = get_le64(buf);
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_le(8 + hlen, len);
    /* JSON ends with '}', then fewer than 8 spaces */
    uint64_t end = hlen;
    while (end > 0 && buf[8 + end - 1] == ' ')
        end--;
    ck_assert_uint_lt(hlen - end, 8);
    ck_assert_uint_gt(end, 0);
    ck_assert_int_eq(buf[8 + end - 1], '}');
    ck_assert_int_eq(buf[8], '{');
    ck_assert_uint_eq(len, 8 + hlen + (6 + 0 + 4 + 1) * 4);

    unet__st_file f;
    int rc = unet__st_parse(buf, len, &f);
    ck_assert_msg(rc == UNET_OK, "%s", unet_last_error());
    ck_assert_uint_eq(f.count, N_VALID);
    ck_assert_ptr_eq(f.data, buf + 8 + hlen);
    ck_assert_uint_eq(f.data_size, len - 8 - hlen);
    ck_assert_ptr_nonnull(f.metadata_libunet);
    ck_assert_str_eq(f.metadata_libunet, valid_meta);

    uint64_t off = 0;
    for (int i = 0; i < N_VALID; i++) {
        const unet__st_tensor *st = &f.tensors[i];
        ck_assert_str_eq(st->name, t[i].name); /* header order = given order */
        ck_assert_int_eq(st->dtype, UNET__ST_F32);
        ck_assert_int_eq(st->ndim, t[i].ndim);
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            ck_assert_int_eq(st->shape[d], t[i].shape[d]);
            numel *= t[i].shape[d];
        }
        ck_assert_int_eq(st->numel, numel);
        ck_assert_uint_eq(st->begin, off);
        ck_assert_uint_eq(st->end, off + (uint64_t)numel * 4);
        off = st->end;
        if (numel)
            ck_assert_mem_eq(f.data + st->begin, t[i].data, (size_t)numel * 4);
        float tmp[8];
        memset(tmp, 0xEE, sizeof tmp);
        ck_assert_int_eq(unet__st_to_f32(&f, st, tmp), UNET_OK);
        if (numel)
            ck_assert_mem_eq(tmp, t[i].data, (size_t)numel * 4); /* bit-exact, NaN payload too */
        ck_assert_uint_eq(f32_bits(tmp[numel]), 0xEEEEEEEEu);    /* nothing written past */
    }
    ck_assert_uint_eq(off, f.data_size);
    uint32_t want_crc = (uint32_t)crc32(0L, f.data, (uInt)f.data_size);
    ck_assert_uint_eq(unet__st_data_crc32(t, N_VALID), want_crc);
    ck_assert_uint_ne(want_crc, (uint32_t)crc32(0L, Z_NULL, 0));

    unet__st_file_clear(&f);
    ck_assert(file_is_empty(&f));
    unet__st_file_clear(&f); /* twice is harmless */
    unet__st_file_clear(NULL);
    free(buf);
}
END_TEST

START_TEST(test_serialize_exact_header)
{
    const int64_t shape[] = {2};
    const float v[] = {1.0f, -2.0f};
    unet__st_out t = {"w", 1, shape, v};
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(unet__st_serialize(&t, 1, "m", &buf, &len), UNET_OK);
    const char *want =
        "{\"__metadata__\":{\"libunet\":\"m\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}";
    size_t wl = strlen(want), padded = (wl + 7) / 8 * 8;
    ck_assert_uint_eq(len, 8 + padded + 8);
    ck_assert_uint_eq(get_le64(buf), padded);
    ck_assert_mem_eq(buf + 8, want, wl);
    for (size_t i = wl; i < padded; i++)
        ck_assert_int_eq(buf[8 + i], ' ');
    ck_assert_mem_eq(buf + 8 + padded, v, 8);
    free(buf);
}
END_TEST

START_TEST(test_padding_every_amount)
{
    /* Metadata of 0..15 characters moves the JSON length through every residue mod 8. */
    const int64_t shape[] = {1};
    const float v[] = {0.5f};
    unet__st_out t = {"x", 1, shape, v};
    int seen[8] = {0};
    char meta[17];
    for (int k = 0; k < 16; k++) {
        memset(meta, 'q', (size_t)k);
        meta[k] = '\0';
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(unet__st_serialize(&t, 1, meta, &buf, &len), UNET_OK);
        uint64_t hlen = get_le64(buf);
        ck_assert_uint_eq(hlen % 8, 0);
        uint64_t end = hlen;
        while (end > 0 && buf[8 + end - 1] == ' ')
            end--;
        ck_assert_int_eq(buf[8 + end - 1], '}');
        seen[hlen - end]++;
        unet__st_file f;
        ck_assert_int_eq(unet__st_parse(buf, len, &f), UNET_OK);
        ck_assert_str_eq(f.metadata_libunet, meta);
        ck_assert_uint_eq(f.count, 1);
        unet__st_file_clear(&f);
        free(buf);
    }
    for (int p = 0; p < 8; p++)
        ck_assert_msg(seen[p] > 0, "no header needed %d spaces", p);
}
END_TEST

START_TEST(test_roundtrip_empty)
{
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(unet__st_serialize(NULL, 0, NULL, &buf, &len), UNET_OK);
    ck_assert_uint_eq(len, 16);
    ck_assert_uint_eq(get_le64(buf), 8);
    ck_assert_mem_eq(buf + 8, "{}      ", 8);
    unet__st_file f;
    ck_assert_int_eq(unet__st_parse(buf, len, &f), UNET_OK);
    ck_assert_uint_eq(f.count, 0);
    ck_assert_ptr_null(f.metadata_libunet);
    ck_assert_uint_eq(f.data_size, 0);
    ck_assert_int_eq(unet__st_find(&f, "x"), -1);
    unet__st_file_clear(&f);
    free(buf);
}
END_TEST

START_TEST(test_serialize_rejects)
{
    const int64_t shape[] = {2};
    const int64_t neg[] = {-2};
    const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int64_t huge[] = {INT64_MAX / 2, 4};
    const float v[2] = {1, 2};
    struct {
        unet__st_out t[2];
        size_t n;
        const char *meta;
        const char *want;
    } cases[] = {
        {{{NULL, 1, shape, v}}, 1, NULL, "no name"},
        {{{"a", 1, shape, v}, {"a", 1, shape, v}}, 2, NULL, "twice"},
        {{{"__metadata__", 1, shape, v}}, 1, NULL, "reserved"},
        {{{"a", 9, nine, v}}, 1, NULL, "ndim 9"},
        {{{"a", -1, shape, v}}, 1, NULL, "ndim -1"},
        {{{"a", 1, neg, v}}, 1, NULL, "negative"},
        {{{"a", 2, huge, v}}, 1, NULL, "too large"},
        {{{"a", 1, shape, NULL}}, 1, NULL, "no data"},
        {{{"bad\xff", 1, shape, v}}, 1, NULL, "UTF-8"},
        {{{"a", 1, shape, v}}, 1, "bad\xc3", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *buf = (uint8_t *)&buf;
        size_t len = 99;
        unet__clear_error();
        int rc = unet__st_serialize(cases[i].t, cases[i].n, cases[i].meta, &buf, &len);
        ck_assert_msg(rc == UNET_E_INVALID_ARG, "case %zu: rc %d", i, rc);
        ck_assert_ptr_null(buf);
        ck_assert_uint_eq(len, 0);
        ck_assert_msg(strstr(unet_last_error(), cases[i].want), "case %zu: '%s'", i,
                      unet_last_error());
    }
    uint8_t *buf;
    ck_assert_int_eq(unet__st_serialize(NULL, 1, NULL, &buf, NULL), UNET_E_INVALID_ARG);
}
END_TEST

/* ---- malformed corpus --------------------------------------------------------------------- */

START_TEST(test_truncation_every_offset)
{
    size_t len;
    uint8_t *buf = valid_file(&len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = copy_exact(buf, n);
        check_format_failure(p, n, NULL, (int)n);
        free(p);
    }
    uint8_t *p = copy_exact(buf, len);
    unet__st_file f;
    ck_assert_int_eq(unet__st_parse(p, len, &f), UNET_OK);
    unet__st_file_clear(&f);
    free(p);
    free(buf);
}
END_TEST

START_TEST(test_header_length)
{
    size_t len;
    uint8_t *buf = valid_file(&len);
    uint64_t hlen = get_le64(buf);

    put_le64(buf, len - 8 + 1); /* one past the file */
    EXPECT_FORMAT(buf, len, "exceeds the");
    put_le64(buf, UINT64_MAX);
    EXPECT_FORMAT(buf, len, "18446744073709551615");
    put_le64(buf, (uint64_t)1 << 63);
    EXPECT_FORMAT(buf, len, "exceeds the");
    put_le64(buf, hlen - 8); /* cuts the JSON short */
    EXPECT_FORMAT(buf, len, "not valid JSON");
    put_le64(buf, hlen + 8); /* swallows data into the header */
    EXPECT_FORMAT(buf, len, "not valid JSON");
    put_le64(buf, 0);
    EXPECT_FORMAT(buf, len, "not valid JSON");
    put_le64(buf, hlen);
    unet__st_file f;
    ck_assert_int_eq(unet__st_parse(buf, len, &f), UNET_OK);
    unet__st_file_clear(&f);
    free(buf);

    /* A header over the 100 MB limit is refused before any parsing even when the file is
     * long enough to hold it. */
    size_t big = 8 + (size_t)UNET__ST_MAX_HEADER + 8;
    uint8_t *b = calloc(big, 1);
    ck_assert_ptr_nonnull(b);
    put_le64(b, UNET__ST_MAX_HEADER + 1ull);
    EXPECT_FORMAT(b, big, "limit");
    free(b);

    unet__st_file g;
    ck_assert_int_eq(unet__st_parse(NULL, 0, &g), UNET_E_FORMAT);
    ck_assert_int_eq(unet__st_parse(NULL, 5, &g), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet__st_parse((const uint8_t *)"x", 1, NULL), UNET_E_INVALID_ARG);
}
END_TEST

#define T2 "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
START_TEST(test_baseline_raw_parses)
{
    /* The raw headers below are this one with one defect each. */
    RAW_PARSES(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}", 16);
    RAW_PARSES(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}   \n\t ", 16);
    RAW_PARSES(T2 "'__metadata__':{'other':'x'},"
                  "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}",
               16);
}
END_TEST

START_TEST(test_header_json)
{
    RAW_FAILS("not json at all", 0, "not valid JSON");
    RAW_FAILS("{'a':", 0, "not valid JSON");
    RAW_FAILS("[]", 0, "not an object");
    RAW_FAILS("[{'a':1}]", 0, "not an object");
    RAW_FAILS("3", 0, NULL);
    RAW_FAILS("'str'", 0, NULL);
    RAW_FAILS("{} {}", 0, "not valid JSON");
    RAW_FAILS("", 0, "not valid JSON");
    RAW_FAILS("{'a\\u0000b':{'dtype':'F32','shape':[0],'data_offsets':[0,0]}}", 0, NULL);
    RAW_FAILS("{'\xff':{'dtype':'F32','shape':[0],'data_offsets':[0,0]}}", 0, NULL);
    /* a NUL byte inside the header */
    size_t len;
    uint8_t *b = raw_file("{'a':{'dtype':'F32','shape':[0],'data_offsets':[0,0]}}", 0, &len);
    b[8 + 3] = '\0';
    EXPECT_FORMAT(b, len, NULL);
    free(b);
    RAW_FAILS(T2 "'a':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}", 16, "duplicate");
    RAW_FAILS("{'a':{'dtype':'F32','dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 8,
              "duplicate");
    RAW_FAILS(T2 "'__metadata__':{},'__metadata__':{}}", 8, "duplicate");
}
END_TEST

START_TEST(test_entry_fields)
{
    RAW_FAILS(T2 "'b':[1]}", 8, "'b': entry is not an object");
    RAW_FAILS(T2 "'b':{'shape':[2],'data_offsets':[8,16]}}", 16, "missing dtype");
    RAW_FAILS(T2 "'b':{'dtype':'F32','data_offsets':[8,16]}}", 16, "missing shape");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2]}}", 16, "missing data_offsets");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16],'x':1}}", 16,
              "unknown field 'x'");
    RAW_FAILS(T2 "'b':{'dtype':32,'shape':[2],'data_offsets':[8,16]}}", 16, "not a string");
    RAW_FAILS(T2 "'b':{'dtype':'F8','shape':[2],'data_offsets':[8,16]}}", 16,
              "unknown dtype 'F8'");
    RAW_FAILS(T2 "'b':{'dtype':'f32','shape':[2],'data_offsets':[8,16]}}", 16,
              "unknown dtype 'f32'");
    RAW_FAILS(T2 "'b':{'dtype':'I8','shape':[8],'data_offsets':[8,16]}}", 16,
              "unknown dtype 'I8'");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':2,'data_offsets':[8,16]}}", 16, "not an array");
}
END_TEST

START_TEST(test_shapes)
{
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[-2],'data_offsets':[8,16]}}", 16,
              "shape[0] is not a non-negative integer");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[1,2.0],'data_offsets':[8,16]}}", 16,
              "shape[1] is not a non-negative integer");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2e0],'data_offsets':[8,16]}}", 16,
              "shape[0] is not");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':['2'],'data_offsets':[8,16]}}", 16,
              "shape[0] is not");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[true],'data_offsets':[8,16]}}", 16,
              "shape[0] is not");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[null],'data_offsets':[8,16]}}", 16,
              "shape[0] is not");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[[2]],'data_offsets':[8,16]}}", 16,
              "shape[0] is not");
    /* beyond int64: jansson refuses it while parsing */
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[18446744073709551616],'data_offsets':[8,16]}}", 16,
              "not valid JSON");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[4294967296,4294967296,16],'data_offsets':[8,16]}}",
              16, "overflows");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[9223372036854775807,2],'data_offsets':[8,16]}}", 16,
              "overflows");
    /* fits int64 as a count, not as a byte size */
    RAW_FAILS(T2 "'b':{'dtype':'F64','shape':[4611686018427387904],'data_offsets':[8,16]}}", 16,
              "more than");
    /* a zero dimension makes any other dimension harmless */
    RAW_PARSES(T2 "'b':{'dtype':'F32','shape':[4294967296,0,4294967296,16],'data_offsets':[8,8]}}",
               8);
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,2],'data_offsets':[8,16]}}", 16,
              "9 dims");
    RAW_PARSES(T2 "'b':{'dtype':'F32','shape':[1,1,1,1,1,1,1,2],'data_offsets':[8,16]}}", 16);
    /* shape against offsets */
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[3],'data_offsets':[8,16]}}", 16,
              "3 elements of F32 need 12 bytes but data_offsets [8, 16] hold 8");
    RAW_FAILS(T2 "'b':{'dtype':'F16','shape':[2],'data_offsets':[8,16]}}", 16, "need 4 bytes");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[],'data_offsets':[8,16]}}", 16, "need 4 bytes");
    RAW_PARSES(T2 "'b':{'dtype':'F32','shape':[],'data_offsets':[8,12]}}", 12);
}
END_TEST

START_TEST(test_offsets)
{
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}", 12,
              "data_offsets [8, 16] exceed the data section (12 bytes)");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[16,8]}}", 16,
              "[16, 8] end before they begin");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[-8,16]}}", 16,
              "data_offsets are not non-negative integers");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8.0,16]}}", 16,
              "data_offsets are not");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16,24]}}", 16,
              "not an array of 2");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8]}}", 16, "not an array of 2");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':{'0':8}}}", 16,
              "not an array of 2");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,18446744073709551615]}}", 16,
              "not valid JSON");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[9223372036854775807,8]}}", 16,
              "end before");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[0],'data_offsets':[9223372036854775807,"
                 "9223372036854775807]}}",
              8, "exceed the data section");
    /* tiling */
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}", 12,
              "tensor 'b' [4, 12] overlaps tensor 'a' [0, 8]");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 8, "overlaps");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[12,20]}}", 20,
              "gap of 4 bytes in the data section before tensor 'b'");
    RAW_FAILS("{'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}", 12, "gap of 4 bytes");
    RAW_FAILS(T2 "'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]}}", 20,
              "4 trailing bytes");
    RAW_FAILS("{}", 1, "no tensors but a data section of 1 bytes");
    /* an empty tensor inside another one is an overlap too, as for the safetensors package */
    RAW_FAILS(T2 "'e':{'dtype':'F32','shape':[0],'data_offsets':[4,4]}}", 8, "overlaps");
    /* header order need not be data order; empty tensors may sit at any boundary */
    RAW_PARSES("{'b':{'dtype':'F32','shape':[2],'data_offsets':[8,16]},"
               "'e':{'dtype':'U8','shape':[0],'data_offsets':[16,16]},"
               "'z':{'dtype':'F32','shape':[0,3],'data_offsets':[0,0]},"
               "'m':{'dtype':'BOOL','shape':[0],'data_offsets':[8,8]},"
               "'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}",
               16);
}
END_TEST

START_TEST(test_metadata)
{
    RAW_FAILS(T2 "'__metadata__':'x'}", 8, "__metadata__ is not an object");
    RAW_FAILS(T2 "'__metadata__':null}", 8, "__metadata__ is not an object");
    RAW_FAILS(T2 "'__metadata__':['libunet']}", 8, "__metadata__ is not an object");
    RAW_FAILS(T2 "'__metadata__':{'libunet':1}}", 8, "value of 'libunet' is not a string");
    RAW_FAILS(T2 "'__metadata__':{'libunet':'ok','n':{}}}", 8, "value of 'n' is not a string");
    RAW_FAILS(T2 "'__metadata__':{'libunet':null}}", 8, "not a string");

    size_t len;
    uint8_t *b = raw_file(T2 "'__metadata__':{'x':'y'}}", 8, &len);
    unet__st_file f;
    ck_assert_int_eq(unet__st_parse(b, len, &f), UNET_OK);
    ck_assert_ptr_null(f.metadata_libunet);
    ck_assert_uint_eq(f.count, 1);
    unet__st_file_clear(&f);
    free(b);

    b = raw_file(T2 "'__metadata__':{'x':'y','libunet':'{\\'k\\': \\'\\u00b5\\'}'}}", 8, &len);
    ck_assert_int_eq(unet__st_parse(b, len, &f), UNET_OK);
    ck_assert_ptr_nonnull(f.metadata_libunet);
    ck_assert_str_eq(f.metadata_libunet, "{\"k\": \"\xc2\xb5\"}");
    unet__st_file_clear(&f);
    free(b);
}
END_TEST

START_TEST(test_convert_dtypes)
{
    /* F16 [3] at 0, BF16 [2] at 6 (unaligned), F64 [2] at 10 (unaligned), I64, I32, U8, BOOL */
    const char *hdr = "{'h':{'dtype':'F16','shape':[3],'data_offsets':[0,6]},"
                      "'bf':{'dtype':'BF16','shape':[2],'data_offsets':[6,10]},"
                      "'d':{'dtype':'F64','shape':[2],'data_offsets':[10,26]},"
                      "'i':{'dtype':'I64','shape':[1],'data_offsets':[26,34]},"
                      "'i32':{'dtype':'I32','shape':[1],'data_offsets':[34,38]},"
                      "'u':{'dtype':'U8','shape':[1],'data_offsets':[38,39]},"
                      "'q':{'dtype':'BOOL','shape':[1],'data_offsets':[39,40]},"
                      "'f':{'dtype':'F32','shape':[1],'data_offsets':[40,44]}}";
    size_t len;
    uint8_t *b = raw_file(hdr, 44, &len);
    uint8_t *d = b + len - 44;
    const uint16_t h[3] = {0x3c00, 0xc000, 0x0001}; /* 1, -2, 2^-24 */
    const uint16_t bf[2] = {0x3f80, 0xff80};         /* 1, -inf */
    const double dv[2] = {0.1, -1e300};              /* the second overflows float */
    for (int i = 0; i < 3; i++) {
        d[2 * i] = (uint8_t)(h[i] & 0xff);
        d[2 * i + 1] = (uint8_t)(h[i] >> 8);
    }
    for (int i = 0; i < 2; i++) {
        d[6 + 2 * i] = (uint8_t)(bf[i] & 0xff);
        d[6 + 2 * i + 1] = (uint8_t)(bf[i] >> 8);
    }
    memcpy(d + 10, dv, sizeof dv);
    const float fv = 7.5f;
    memcpy(d + 40, &fv, 4);

    unet__st_file f;
    ck_assert_msg(unet__st_parse(b, len, &f) == UNET_OK, "%s", unet_last_error());
    ck_assert_uint_eq(f.count, 8);
    float out[4];

    int k = unet__st_find(&f, "h");
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(f.tensors[k].dtype, UNET__ST_F16);
    ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[k], out), UNET_OK);
    ck_assert_uint_eq(f32_bits(out[0]), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(out[1]), f32_bits(-2.0f));
    ck_assert_uint_eq(f32_bits(out[2]), f32_bits(ldexpf(1.0f, -24)));

    k = unet__st_find(&f, "bf");
    ck_assert_int_eq(k, 1);
    ck_assert_int_eq(f.tensors[k].dtype, UNET__ST_BF16);
    ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[k], out), UNET_OK);
    ck_assert_uint_eq(f32_bits(out[0]), f32_bits(1.0f));
    ck_assert_uint_eq(f32_bits(out[1]), 0xff800000u);

    k = unet__st_find(&f, "d");
    ck_assert_int_eq(k, 2);
    ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[k], out), UNET_OK);
    ck_assert_uint_eq(f32_bits(out[0]), f32_bits(0.1f));
    ck_assert(isinf(out[1]) && out[1] < 0);

    k = unet__st_find(&f, "f");
    ck_assert_int_eq(k, 7);
    ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[k], out), UNET_OK);
    ck_assert_uint_eq(f32_bits(out[0]), f32_bits(7.5f));

    const char *nonfloat[] = {"i", "i32", "u", "q"};
    const unet__st_dtype types[] = {UNET__ST_I64, UNET__ST_I32, UNET__ST_U8, UNET__ST_BOOL};
    for (int i = 0; i < 4; i++) {
        k = unet__st_find(&f, nonfloat[i]);
        ck_assert_int_eq(k, 3 + i);
        ck_assert_int_eq(f.tensors[k].dtype, types[i]);
        out[0] = 42.0f;
        unet__clear_error();
        ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[k], out), UNET_E_FORMAT);
        ck_assert_ptr_nonnull(strstr(unet_last_error(), "not a floating-point type"));
        ck_assert_ptr_nonnull(strstr(unet_last_error(), nonfloat[i]));
        ck_assert_uint_eq(f32_bits(out[0]), f32_bits(42.0f));
    }

    /* find */
    ck_assert_int_eq(unet__st_find(&f, "missing"), -1);
    ck_assert_int_eq(unet__st_find(&f, ""), -1);
    ck_assert_int_eq(unet__st_find(&f, "H"), -1);
    ck_assert_int_eq(unet__st_find(&f, NULL), -1);
    ck_assert_int_eq(unet__st_find(NULL, "h"), -1);

    /* a tensor that does not belong to the file is refused, not read */
    unet__st_tensor bogus = f.tensors[0];
    bogus.end = f.data_size + 6;
    bogus.begin = f.data_size;
    ck_assert_int_eq(unet__st_to_f32(&f, &bogus, out), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet__st_to_f32(&f, &f.tensors[0], NULL), UNET_E_INVALID_ARG);

    unet__st_file_clear(&f);
    free(b);
}
END_TEST

/* ---- property: random header mutations ---------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
    /* xorshift64*: fixed seed, so any failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void check_consistent(const unet__st_file *f, const uint8_t *buf, size_t len)
{
    uint64_t hlen = get_le64(buf);
    ck_assert_ptr_eq(f->data, buf + 8 + hlen);
    ck_assert_uint_eq(f->data_size, len - 8 - hlen);
    static const unsigned isz[] = {4, 2, 2, 8, 8, 4, 1, 1};
    uint64_t total = 0;
    for (size_t i = 0; i < f->count; i++) {
        const unet__st_tensor *t = &f->tensors[i];
        ck_assert_ptr_nonnull(t->name);
        ck_assert_int_ge(t->ndim, 0);
        ck_assert_int_le(t->ndim, UNET__ST_MAX_DIMS);
        ck_assert_uint_le(t->begin, t->end);
        ck_assert_uint_le(t->end, f->data_size);
        int64_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            ck_assert_int_ge(t->shape[d], 0);
            n *= t->shape[d]; /* bounded: the product was checked by the parser */
        }
        ck_assert_int_eq(n, t->numel);
        ck_assert_uint_eq((uint64_t)n * isz[t->dtype], t->end - t->begin);
        total += t->end - t->begin;
        ck_assert_int_eq(unet__st_find(f, t->name), (int)i);
    }
    ck_assert_uint_eq(total, f->data_size); /* with no overlap, this is exact tiling */
}

START_TEST(test_property_header_mutations)
{
    size_t len;
    uint8_t *valid = valid_file(&len);
    uint64_t hlen = get_le64(valid);
    int ok = 0, failed = 0;
    for (int iter = 0; iter < 4000; iter++) {
        uint8_t *m = copy_exact(valid, len);
        int flips = 1 + (int)(rng_next() % 3);
        for (int k = 0; k < flips; k++) {
            /* mostly the JSON, sometimes the length field */
            uint64_t r = rng_next();
            size_t pos = (r & 0xF) == 0 ? (size_t)(r >> 8) % 8 : 8 + (size_t)((r >> 8) % hlen);
            uint64_t v = rng_next();
            if (v & 1) /* a character the JSON grammar cares about (index 23: NUL) */
                m[pos] = (uint8_t)"{}[]\":,0123456789-.e \\\xff"[(v >> 8) % 24];
            else
                m[pos] ^= (uint8_t)(1u << ((v >> 8) % 8));
        }
        unet__st_file f;
        unet__clear_error();
        int rc = unet__st_parse(m, len, &f);
        if (rc == UNET_OK) {
            check_consistent(&f, m, len);
            unet__st_file_clear(&f);
            ok++;
        } else {
            ck_assert_msg(rc == UNET_E_FORMAT, "iteration %d: rc %d", iter, rc);
            ck_assert_msg(unet_last_error()[0] != '\0', "iteration %d: no message", iter);
            ck_assert(file_is_empty(&f));
            failed++;
        }
        free(m);
    }
    /* The mutations must exercise both outcomes, or the loop proves nothing. */
    ck_assert_int_gt(failed, 100);
    ck_assert_int_gt(ok, 0);
    free(valid);
}
END_TEST

/* ---- runner ------------------------------------------------------------------------------- */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("safetensors");

    TCase *tc = tcase("f16");
    tcase_add_test(tc, test_f16_known_values);
    tcase_add_test(tc, test_f16_round_to_even);
    tcase_add_test(tc, test_f16_exhaustive);
    tcase_add_test(tc, test_bf16);
    suite_add_tcase(s, tc);

    tc = tcase("roundtrip");
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_serialize_exact_header);
    tcase_add_test(tc, test_padding_every_amount);
    tcase_add_test(tc, test_roundtrip_empty);
    tcase_add_test(tc, test_serialize_rejects);
    suite_add_tcase(s, tc);

    tc = tcase("malformed");
    tcase_add_test(tc, test_truncation_every_offset);
    tcase_add_test(tc, test_header_length);
    tcase_add_test(tc, test_baseline_raw_parses);
    tcase_add_test(tc, test_header_json);
    tcase_add_test(tc, test_entry_fields);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_metadata);
    suite_add_tcase(s, tc);

    tc = tcase("convert");
    tcase_add_test(tc, test_convert_dtypes);
    suite_add_tcase(s, tc);

    tc = tcase("property");
    tcase_add_test(tc, test_property_header_mutations);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
