/* The sample generator: the classic scene bit for bit (checksums taken before the wide scene
 * existed), and the wide scene's contracts: diameters, empty fields of every background kind,
 * touching clusters, 12-bit images, determinism, option checks. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_suite.h"
#include "unet.h"

/* FNV-1a 64 over the values as little-endian bytes (so the figures hold on any machine). */
static uint64_t fnv_u16(const uint16_t *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 2; b++)
            h = (h ^ ((v[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv_u32(const uint32_t *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            h = (h ^ ((v[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    return h;
}

/* One image: seed, then the options of `json` (may be NULL). */
static int gen(const char *json, uint64_t seed, int64_t h, int64_t w, uint16_t *img,
               uint32_t *lab, uint32_t *n)
{
    unet_sample_opts_t *o;
    ck_assert_int_eq(unet_sample_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set_seed(o, seed), UNET_OK);
    int rc = json ? unet_sample_opts_set_json(o, json) : UNET_OK;
    if (rc == UNET_OK)
        rc = unet_sample_nuclei(o, h, w, img, lab, n);
    unet_sample_opts_free(o);
    return rc;
}

/* ---- the classic scene never changes ---- */

START_TEST(test_classic_checksums)
{
    /* `unet sample --seed 0 --size 256` (16-bit), its 8-bit variant and two more, hashed
     * before the wide scene was added. */
    static const struct {
        uint64_t seed;
        int size, bits;
        uint64_t image, labels;
        uint32_t count;
    } want[] = {
        {0, 256, 16, 0x69861c4c89001f07ull, 0xbb81c6b42a7bf806ull, 13},
        {0, 256, 8, 0x9b666bb47a5ba09bull, 0xbb81c6b42a7bf806ull, 13},
        {3, 200, 16, 0xa915c4e26e87587dull, 0xf2a13ebe860a8a25ull, 10},
        {11, 128, 8, 0x4fc6fd1cb5629cb7ull, 0x84f2540521ea39c3ull, 14},
    };
    uint16_t *img = malloc(256 * 256 * 2);
    uint32_t *lab = malloc(256 * 256 * 4), n;
    char json[96];
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t np = (size_t)want[k].size * want[k].size;
        /* the defaults, and the classic scene asked for by name */
        for (int named = 0; named < 2; named++) {
            snprintf(json, sizeof json, "{\"bits\": %d%s}", want[k].bits,
                     named ? ", \"scene\": \"classic\"" : "");
            ck_assert_int_eq(gen(json, want[k].seed, want[k].size, want[k].size, img, lab, &n),
                             UNET_OK);
            ck_assert_uint_eq(n, want[k].count);
            ck_assert_msg(fnv_u16(img, np) == want[k].image, "image of case %zu changed", k);
            ck_assert_msg(fnv_u32(lab, np) == want[k].labels, "labels of case %zu changed", k);
        }
    }
    /* NULL options are the defaults: seed 0, 16 bits, the classic scene. */
    ck_assert_int_eq(unet_sample_nuclei(NULL, 256, 256, img, lab, &n), UNET_OK);
    ck_assert(fnv_u16(img, 256 * 256) == want[0].image);
    free(img);
    free(lab);
}
END_TEST

/* ---- wide scene ---- */

/* Label areas (index = label) and whether each label touches the image border. */
static void label_stats(const uint32_t *lab, int h, int w, uint32_t n, long *area, char *edge)
{
    memset(area, 0, sizeof *area * (n + 1));
    memset(edge, 0, n + 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t l = lab[(size_t)y * w + x];
            ck_assert_uint_le(l, n);
            area[l]++;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                edge[l] = 1;
        }
}

START_TEST(test_wide_diameters)
{
    static const double ranges[][2] = {{8, 90}, {8, 12}, {20, 30}, {60, 90}, {4, 6}};
    const int S = 256;
    uint16_t *img = malloc(S * S * 2);
    uint32_t *lab = malloc(S * S * 4), n;
    long *area = malloc(sizeof *area * 65536);
    char *edge = malloc(65536), json[128];
    for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
        const double lo = ranges[k][0], hi = ranges[k][1], pi = 3.14159265358979;
        double dmin = 1e9, dmax = 0;
        int whole = 0;
        snprintf(json, sizeof json, "{\"min_diameter\": %g, \"max_diameter\": %g}", lo, hi);
        for (uint64_t seed = 0; seed < 6; seed++) {
            ck_assert_int_eq(gen(json, seed, S, S, img, lab, &n), UNET_OK);
            label_stats(lab, S, S, n, area, edge);
            for (uint32_t l = 1; l <= n; l++) {
                ck_assert_int_gt(area[l], 0); /* labels 1..n without gaps */
                if (edge[l])
                    continue; /* cut by the border: smaller, by design */
                double d = sqrt(4 * area[l] / pi);
                ck_assert_msg(d >= lo && d <= hi, "range [%g, %g], seed %d: label %u has an "
                              "equivalent diameter of %.3f", lo, hi, (int)seed, l, d);
                dmin = d < dmin ? d : dmin;
                dmax = d > dmax ? d : dmax;
                whole++;
            }
        }
        ck_assert_int_gt(whole, 5);
        if (k == 0) /* the default range is really used, small and large */
            ck_assert_msg(dmin < 14 && dmax > 45, "8-90 px gave only %.1f to %.1f", dmin, dmax);
    }
    free(img);
    free(lab);
    free(area);
    free(edge);
}
END_TEST

/* Block means of a w x h image in B x B blocks (w, h multiples of B). */
static void block_means(const uint16_t *img, int w, int h, int B, double *out)
{
    for (int by = 0; by < h / B; by++)
        for (int bx = 0; bx < w / B; bx++) {
            double s = 0;
            for (int y = by * B; y < (by + 1) * B; y++)
                for (int x = bx * B; x < (bx + 1) * B; x++)
                    s += img[(size_t)y * w + x];
            out[by * (w / B) + bx] = s / (B * B);
        }
}

/* Mean absolute difference of horizontal neighbours over the mean: how noisy. */
static double roughness(const uint16_t *img, int w, int h)
{
    double d = 0, s = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s += img[(size_t)y * w + x];
            if (x > 0)
                d += abs((int)img[(size_t)y * w + x] - (int)img[(size_t)y * w + x - 1]);
        }
    return d / (s + 1e-9);
}

START_TEST(test_empty_fields)
{
    static const char *const kinds[] = {"auto", "flat", "ramp", "haze", "debris", "noise"};
    const int S = 128;
    uint16_t *img = malloc(S * S * 2);
    uint32_t *lab = malloc(S * S * 4), n;
    char json[96];
    for (int k = 0; k < 6; k++)
        for (uint64_t seed = 0; seed < 20; seed++) {
            snprintf(json, sizeof json, "{\"nuclei\": 0, \"background\": \"%s\"}", kinds[k]);
            n = 99;
            ck_assert_int_eq(gen(json, seed, S, S, img, lab, &n), UNET_OK);
            ck_assert_uint_eq(n, 0);
            uint16_t lo = img[0], hi = img[0];
            for (size_t i = 0; i < (size_t)S * S; i++) {
                ck_assert_uint_eq(lab[i], 0);
                lo = img[i] < lo ? img[i] : lo;
                hi = img[i] > hi ? img[i] : hi;
            }
            ck_assert_uint_gt(hi, lo); /* an image, not a constant */
        }
    free(img);
    free(lab);
}
END_TEST

/* Each kind really adds its clutter: compared with the flat field of the same seed (the same
 * camera noise), ramp varies smoothly, haze and debris add light, noise is noisier. */
START_TEST(test_background_kinds_differ_from_flat)
{
    const int S = 256, B = 32, NB = (S / B) * (S / B);
    uint16_t *flat = malloc(S * S * 2), *img = malloc(S * S * 2);
    uint32_t n;
    double fb[64], gb[64];
    for (uint64_t seed = 0; seed < 10; seed++) {
        ck_assert_int_eq(gen("{\"nuclei\": 0, \"background\": \"flat\"}", seed, S, S, flat,
                             NULL, &n), UNET_OK);
        block_means(flat, S, S, B, fb);
        ck_assert_int_eq(gen("{\"nuclei\": 0, \"background\": \"ramp\"}", seed, S, S, img, NULL,
                             &n), UNET_OK);
        block_means(img, S, S, B, gb);
        double rlo = 1e9, rhi = 0;
        for (int b = 0; b < NB; b++) {
            double r = gb[b] / (fb[b] + 1e-9);
            rlo = r < rlo ? r : rlo;
            rhi = r > rhi ? r : rhi;
        }
        ck_assert_msg(rhi > 1.2 * rlo, "seed %d: ramp spans only %.3f", (int)seed, rhi / rlo);
        for (int k = 0; k < 2; k++) { /* haze, debris: more light in some pixels */
            ck_assert_int_eq(gen(k ? "{\"nuclei\": 0, \"background\": \"debris\"}"
                                   : "{\"nuclei\": 0, \"background\": \"haze\"}",
                                 seed, S, S, img, NULL, &n), UNET_OK);
            double sf = 0, sg = 0;
            long brighter = 0;
            for (size_t i = 0; i < (size_t)S * S; i++) {
                sf += flat[i];
                sg += img[i];
                brighter += img[i] > flat[i];
            }
            ck_assert_msg(sg > sf, "seed %d: %s adds no light", (int)seed, k ? "debris" : "haze");
            ck_assert_msg(brighter > (k ? 0.001 : 0.02) * S * S, "seed %d: %s brightens only %ld "
                          "pixels", (int)seed, k ? "debris" : "haze", brighter);
        }
        ck_assert_int_eq(gen("{\"nuclei\": 0, \"background\": \"noise\"}", seed, S, S, img,
                             NULL, &n), UNET_OK);
        ck_assert_msg(roughness(img, S, S) > 1.5 * roughness(flat, S, S), "seed %d: noise %.3f, "
                      "flat %.3f", (int)seed, roughness(img, S, S), roughness(flat, S, S));
    }
    free(flat);
    free(img);
}
END_TEST

/* The largest 4-connected group of labelled pixels: how many labels it holds, and whether
 * each of them touches another label (4-neighbours of different labels). */
static void largest_group(const uint32_t *lab, int w, int h, uint32_t n, int *labels_in,
                          int *all_touch)
{
    size_t np = (size_t)w * h;
    int32_t *comp = calloc(np, sizeof *comp);
    size_t *queue = malloc(np * sizeof *queue);
    char *seen = malloc(n + 1), *touch = calloc(n + 1, 1);
    int ncomp = 0, best = 0, best_comp = 0;
    for (size_t s = 0; s < np; s++) {
        if (!lab[s] || comp[s])
            continue;
        size_t head = 0, tail = 0;
        int count = 0;
        memset(seen, 0, n + 1);
        comp[s] = ++ncomp;
        queue[tail++] = s;
        while (head < tail) {
            size_t p = queue[head++];
            int x = (int)(p % w), y = (int)(p / w);
            if (!seen[lab[p]]) {
                seen[lab[p]] = 1;
                count++;
            }
            const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
            for (int k = 0; k < 4; k++) {
                int xx = x + dx[k], yy = y + dy[k];
                if (xx < 0 || yy < 0 || xx >= w || yy >= h)
                    continue;
                size_t q = (size_t)yy * w + xx;
                if (!lab[q])
                    continue;
                if (lab[q] != lab[p])
                    touch[lab[p]] = 1;
                if (!comp[q]) {
                    comp[q] = ncomp;
                    queue[tail++] = q;
                }
            }
        }
        if (count > best) {
            best = count;
            best_comp = ncomp;
        }
    }
    *all_touch = 1;
    for (size_t p = 0; p < np; p++)
        if (comp[p] == best_comp && !touch[lab[p]])
            *all_touch = 0;
    *labels_in = best;
    free(comp);
    free(queue);
    free(seen);
    free(touch);
}

START_TEST(test_clusters_touch)
{
    const int S = 512;
    uint16_t *img = malloc((size_t)S * S * 2);
    uint32_t *lab = malloc((size_t)S * S * 4), n;
    for (uint64_t seed = 0; seed < 3; seed++) {
        ck_assert_int_eq(gen("{\"nuclei\": 150, \"clusters\": 1, \"max_diameter\": 20}", seed, S,
                             S, img, lab, &n), UNET_OK);
        ck_assert_uint_ge(n, 140); /* room for all of them */
        int in = 0, touch = 0;
        largest_group(lab, S, S, n, &in, &touch);
        ck_assert_msg(in >= 50, "seed %d: the largest group of touching nuclei has %d", (int)seed,
                      in);
        ck_assert_msg(touch, "seed %d: a nucleus of the cluster touches no other", (int)seed);
    }
    /* Without clusters and sparse, no group comes near that. */
    ck_assert_int_eq(gen("{\"nuclei\": 60, \"clusters\": 0, \"max_diameter\": 20}", 1, S, S,
                         img, lab, &n), UNET_OK);
    int in = 0, touch = 0;
    largest_group(lab, S, S, n, &in, &touch);
    ck_assert_int_lt(in, 50);
    free(img);
    free(lab);
}
END_TEST

START_TEST(test_bit_depths)
{
    const int S = 128;
    uint16_t *img = malloc(S * S * 2);
    uint32_t n;
    static const char *const scenes[] = {"classic", "wide"};
    static const int bits[] = {8, 12, 16};
    char json[96];
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < 3; b++) {
            int top = 0;
            for (uint64_t seed = 0; seed < 8; seed++) {
                snprintf(json, sizeof json, "{\"scene\": \"%s\", \"bits\": %d}", scenes[s],
                         bits[b]);
                ck_assert_int_eq(gen(json, seed, S, S, img, NULL, &n), UNET_OK);
                for (size_t i = 0; i < (size_t)S * S; i++) {
                    ck_assert_int_lt(img[i], 1 << bits[b]);
                    top = img[i] > top ? img[i] : top;
                }
            }
            /* the range is used: beyond the next smaller depth somewhere */
            ck_assert_msg(top >= (bits[b] == 8 ? 64 : 1 << bits[b - 1]),
                          "%s %d-bit: largest value %d", scenes[s], bits[b], top);
        }
    free(img);
}
END_TEST

START_TEST(test_wide_deterministic)
{
    const int H = 160, W = 224;
    size_t np = (size_t)H * W;
    uint16_t *a = malloc(np * 2), *b = malloc(np * 2);
    uint32_t *la = malloc(np * 4), *lb = malloc(np * 4), na, nb;
    ck_assert_int_eq(gen("{\"scene\": \"wide\"}", 7, H, W, a, la, &na), UNET_OK);
    ck_assert_int_eq(gen("{\"scene\": \"wide\"}", 7, H, W, b, lb, &nb), UNET_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, np * 2) == 0 && memcmp(la, lb, np * 4) == 0);
    uint32_t top = 0;
    for (size_t i = 0; i < np; i++)
        top = la[i] > top ? la[i] : top;
    ck_assert_uint_eq(top, na);
    ck_assert_int_eq(gen("{\"scene\": \"wide\"}", 7, H, W, b, NULL, NULL), UNET_OK);
    ck_assert(memcmp(a, b, np * 2) == 0); /* labels are optional */
    ck_assert_int_eq(gen("{\"scene\": \"wide\"}", 8, H, W, b, NULL, NULL), UNET_OK);
    ck_assert(memcmp(a, b, np * 2) != 0);
    /* Not the classic image of the same seed; a given count is placed. */
    ck_assert_int_eq(gen(NULL, 7, H, W, b, NULL, NULL), UNET_OK);
    ck_assert(memcmp(a, b, np * 2) != 0);
    ck_assert_int_eq(gen("{\"nuclei\": 25, \"max_diameter\": 30}", 3, H, W, a, la, &na), UNET_OK);
    ck_assert_uint_eq(na, 25);
    free(a);
    free(b);
    free(la);
    free(lb);
}
END_TEST

START_TEST(test_wide_options)
{
    uint16_t img[32 * 32];
    uint32_t n = 7;
    const char *text;
    ck_assert_int_eq(gen("{\"scene\": \"classic\", \"nuclei\": 3}", 0, 32, 32, img, NULL, &n),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "scene = classic"));
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(gen("{\"min_diameter\": 30, \"max_diameter\": 20}", 0, 32, 32, img, NULL,
                         NULL), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "at least 1 px"));
    ck_assert_int_eq(gen("{\"nuclei\": 0, \"clusters\": 2}", 0, 32, 32, img, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "clusters = 2"));
    ck_assert_int_eq(gen("{\"background\": \"fog\"}", 0, 32, 32, img, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(gen("{\"max_diameter\": 3}", 0, 32, 32, img, NULL, NULL),
                     UNET_E_INVALID_ARG);
    /* auto by word and by null; the describe table lists every key */
    unet_sample_opts_t *o;
    ck_assert_int_eq(unet_sample_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set(o, "nuclei", "12"), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set(o, "nuclei", "auto"), UNET_OK);
    ck_assert_int_eq(unet_sample_opts_set_json(o, "{\"clusters\": 2, \"min_diameter\": null}"),
                     UNET_OK);
    ck_assert_int_eq(unet_sample_opts_json(o, &text), UNET_OK);
    json_t *v = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert(json_is_null(json_object_get(v, "nuclei")));
    ck_assert(json_is_null(json_object_get(v, "min_diameter")));
    ck_assert_int_eq(json_integer_value(json_object_get(v, "clusters")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(v, "scene")), "auto");
    ck_assert_str_eq(json_string_value(json_object_get(v, "background")), "auto");
    json_decref(v);
    ck_assert_int_eq(unet_sample_opts_describe(o, &text), UNET_OK);
    static const char *const keys[] = {"scene", "nuclei", "min_diameter", "max_diameter",
                                       "clusters", "background"};
    for (int k = 0; k < 6; k++) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "\"%s\"", keys[k]);
        ck_assert_msg(strstr(text, quoted), "describe lacks %s", keys[k]);
    }
    unet_sample_opts_free(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sample");
    TCase *tc = tcase_create("sample");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_classic_checksums);
    tcase_add_test(tc, test_wide_diameters);
    tcase_add_test(tc, test_empty_fields);
    tcase_add_test(tc, test_background_kinds_differ_from_flat);
    tcase_add_test(tc, test_clusters_touch);
    tcase_add_test(tc, test_bit_depths);
    tcase_add_test(tc, test_wide_deterministic);
    tcase_add_test(tc, test_wide_options);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
