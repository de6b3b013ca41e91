/* Post-processing: every function against a brute-force oracle written from its definition
 * (components by breadth-first search, distances by trying every background pixel, peaks by
 * scanning every window), thread-count independence, argument validation at every entry
 * point, and the behaviour that matters on nuclei (touching discs split, small objects keep
 * their seed, instance F1 with a case that needs augmenting paths). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "api_calls.h"
#include "run_suite.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t next_u32(rng *r)
{
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);
}

static double uniform(rng *r)
{
    return next_u32(r) / 2147483648.0;
}

static int64_t numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Coordinates as (z, y, x), z = 0 for 2-D. */
static void coords(int ndim, const int64_t *shape, int64_t i, int64_t c[3])
{
    int64_t w = shape[ndim - 1], h = shape[ndim - 2];
    c[2] = i % w;
    c[1] = i / w % h;
    c[0] = ndim == 3 ? i / (w * h) : 0;
}

static int rank_of(int ndim, int connectivity)
{
    if (connectivity == 0 || connectivity == 4 || connectivity == 6)
        return 1;
    if (connectivity == 18)
        return 2;
    (void)ndim;
    return 3;
}

static uint8_t *random_mask(int64_t n, double p, rng *r)
{
    uint8_t *m = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++)
        m[i] = uniform(r) < p;
    return m;
}

/* Discs (2-D) or balls (3-D) of random centres and radii. */
static uint8_t *random_blobs(int ndim, const int64_t *shape, int count, double rmin,
                             double rmax, rng *r)
{
    int64_t n = numel(ndim, shape);
    uint8_t *m = calloc((size_t)n, 1);
    int64_t d = ndim == 3 ? shape[0] : 1, h = shape[ndim - 2], w = shape[ndim - 1];
    for (int k = 0; k < count; k++) {
        double cz = uniform(r) * d, cy = uniform(r) * h, cx = uniform(r) * w;
        double rad = rmin + uniform(r) * (rmax - rmin);
        for (int64_t i = 0; i < n; i++) {
            int64_t c[3];
            coords(ndim, shape, i, c);
            double dz = ndim == 3 ? c[0] - cz : 0, dy = c[1] - cy, dx = c[2] - cx;
            if (dz * dz + dy * dy + dx * dx <= rad * rad)
                m[i] = 1;
        }
    }
    return m;
}

/* ---- oracles ---- */

static uint32_t oracle_components(const uint8_t *mask, int ndim, const int64_t *shape, int rank,
                                  uint32_t *labels)
{
    int64_t n = numel(ndim, shape);
    int64_t d = ndim == 3 ? shape[0] : 1, h = shape[ndim - 2], w = shape[ndim - 1];
    int64_t *queue = malloc((size_t)n * sizeof *queue);
    memset(labels, 0, (size_t)n * sizeof *labels);
    uint32_t next = 0;
    for (int64_t s = 0; s < n; s++) {
        if (!mask[s] || labels[s])
            continue;
        labels[s] = ++next;
        int64_t head = 0, tail = 0;
        queue[tail++] = s;
        while (head < tail) {
            int64_t p = queue[head++], c[3];
            coords(ndim, shape, p, c);
            for (int dz = -1; dz <= 1; dz++)
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int l1 = abs(dz) + abs(dy) + abs(dx);
                        if (l1 == 0 || l1 > rank)
                            continue;
                        int64_t z = c[0] + dz, y = c[1] + dy, x = c[2] + dx;
                        if (z < 0 || y < 0 || x < 0 || z >= d || y >= h || x >= w)
                            continue;
                        int64_t q = (z * h + y) * w + x;
                        if (mask[q] && !labels[q]) {
                            labels[q] = next;
                            queue[tail++] = q;
                        }
                    }
        }
    }
    free(queue);
    return next;
}

static void oracle_distance(const uint8_t *mask, int ndim, const int64_t *shape,
                            const double *spacing, double *out)
{
    int64_t n = numel(ndim, shape);
    double sp[3] = {1, 1, 1};
    if (spacing)
        for (int i = 0; i < ndim; i++)
            sp[3 - ndim + i] = spacing[i];
    for (int64_t i = 0; i < n; i++) {
        if (!mask[i]) {
            out[i] = 0;
            continue;
        }
        int64_t a[3];
        coords(ndim, shape, i, a);
        double best = INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (mask[j])
                continue;
            int64_t b[3];
            coords(ndim, shape, j, b);
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += (sp[k] * (a[k] - b[k])) * (sp[k] * (a[k] - b[k]));
            if (s < best)
                best = s;
        }
        out[i] = sqrt(best);
    }
}

typedef struct pk {
    float v;
    int64_t i;
} pk;

static int cmp_pk(const void *pa, const void *pb)
{
    const pk *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static uint32_t oracle_peaks(const float *img, const uint32_t *regions, int ndim,
                             const int64_t *shape, int m, uint32_t *markers)
{
    int64_t n = numel(ndim, shape);
    int64_t d = ndim == 3 ? shape[0] : 1, h = shape[ndim - 2], w = shape[ndim - 1];
    float lo = INFINITY;
    for (int64_t i = 0; i < n; i++)
        lo = img[i] < lo ? img[i] : lo;
    pk *c = malloc((size_t)n * sizeof *c);
    int64_t nc = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t r = regions ? regions[i] : 1;
        if (!r || !(img[i] > lo))
            continue;
        int64_t a[3];
        coords(ndim, shape, i, a);
        int is_max = 1;
        for (int64_t z = a[0] - m; z <= a[0] + m && is_max; z++)
            for (int64_t y = a[1] - m; y <= a[1] + m && is_max; y++)
                for (int64_t x = a[2] - m; x <= a[2] + m; x++) {
                    if (z < 0 || y < 0 || x < 0 || z >= d || y >= h || x >= w)
                        continue;
                    int64_t q = (z * h + y) * w + x;
                    if ((regions ? regions[q] : 1) == r && img[q] > img[i]) {
                        is_max = 0;
                        break;
                    }
                }
        if (is_max)
            c[nc++] = (pk){img[i], i};
    }
    qsort(c, (size_t)nc, sizeof *c, cmp_pk);
    int64_t *kept = malloc((size_t)(nc + 1) * sizeof *kept);
    int64_t nk = 0;
    memset(markers, 0, (size_t)n * sizeof *markers);
    for (int64_t k = 0; k < nc; k++) {
        int64_t a[3];
        coords(ndim, shape, c[k].i, a);
        int ok = 1;
        for (int64_t j = 0; j < nk && ok; j++) {
            int64_t b[3];
            coords(ndim, shape, kept[j], b);
            if (regions && regions[kept[j]] != regions[c[k].i])
                continue;
            if (llabs(a[0] - b[0]) < m && llabs(a[1] - b[1]) < m && llabs(a[2] - b[2]) < m)
                ok = 0;
        }
        if (ok) {
            kept[nk++] = c[k].i;
            markers[c[k].i] = 1;
        }
    }
    uint32_t next = 0;
    for (int64_t i = 0; i < n; i++)
        if (markers[i])
            markers[i] = ++next;
    free(c);
    free(kept);
    return next;
}

/* ---- tests ---- */

START_TEST(test_components_match_bfs)
{
    rng r = {1};
    struct {
        int ndim;
        int64_t shape[3];
    } cases[] = {{2, {1, 1}},   {2, {1, 57}},  {2, {63, 1}},   {2, {40, 33}},
                 {2, {97, 61}}, {3, {5, 9, 11}}, {3, {17, 3, 8}}, {3, {1, 20, 20}}};
    int conn2[] = {0, 4, 8}, conn3[] = {0, 6, 18, 26};
    int threads[] = {1, 2, 3, 7};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ndim = cases[c].ndim;
        const int64_t *shape = cases[c].shape;
        int64_t n = numel(ndim, shape);
        for (int dens = 0; dens < 3; dens++) {
            uint8_t *mask = random_mask(n, 0.3 + 0.2 * dens, &r);
            uint32_t *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
            int nconn = ndim == 2 ? 3 : 4;
            for (int k = 0; k < nconn; k++) {
                int conn = ndim == 2 ? conn2[k] : conn3[k];
                uint32_t nw = oracle_components(mask, ndim, shape, rank_of(ndim, conn), want);
                for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
                    uint32_t ng = 12345;
                    ck_assert_int_eq(label_components_p(mask, ndim, shape, conn, got, &ng,
                                                           threads[t]),
                                     UNET_OK);
                    ck_assert_uint_eq(ng, nw);
                    ck_assert_msg(memcmp(got, want, (size_t)n * 4) == 0,
                                  "case %zu conn %d threads %d differs", c, conn, threads[t]);
                }
            }
            free(mask);
            free(want);
            free(got);
        }
    }
}
END_TEST

START_TEST(test_components_large_bands)
{
    /* Tall enough that several threads get bands; spirals and stripes cross every seam. */
    int64_t shape[2] = {700, 300};
    int64_t n = shape[0] * shape[1];
    rng r = {2};
    uint8_t *mask = random_blobs(2, shape, 300, 2, 14, &r);
    for (int64_t y = 0; y < shape[0]; y++)
        mask[y * shape[1] + 150] = 1; /* one column joins everything it crosses */
    uint32_t *want = malloc((size_t)n * 4), *got = malloc((size_t)n * 4);
    for (int conn = 4; conn <= 8; conn += 4) {
        uint32_t nw = oracle_components(mask, 2, shape, rank_of(2, conn), want), ng;
        for (int t = 1; t <= 8; t++) {
            ck_assert_int_eq(label_components_p(mask, 2, shape, conn, got, &ng, t), UNET_OK);
            ck_assert_uint_eq(ng, nw);
            ck_assert(memcmp(got, want, (size_t)n * 4) == 0);
        }
    }
    free(mask);
    free(want);
    free(got);
}
END_TEST

START_TEST(test_distance_matches_brute_force)
{
    rng r = {3};
    struct {
        int ndim;
        int64_t shape[3];
        double spacing[3];
        int use_spacing;
    } cases[] = {{2, {1, 1}, {1, 1}, 0},        {2, {1, 40}, {1, 1}, 0},
                 {2, {37, 1}, {1, 1}, 0},       {2, {31, 45}, {1, 1}, 0},
                 {2, {29, 33}, {0.5, 2.0}, 1},  {3, {7, 13, 11}, {1, 1, 1}, 0},
                 {3, {9, 8, 12}, {3.0, 1, 0.7}, 1}, {3, {20, 1, 6}, {1, 1, 1}, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ndim = cases[c].ndim;
        const int64_t *shape = cases[c].shape;
        const double *sp = cases[c].use_spacing ? cases[c].spacing : NULL;
        int64_t n = numel(ndim, shape);
        for (int dens = 0; dens < 3; dens++) {
            uint8_t *mask = random_mask(n, dens == 0 ? 0.5 : dens == 1 ? 0.9 : 0.99, &r);
            mask[n / 2] = 0; /* at least one background pixel */
            double *want = malloc((size_t)n * sizeof *want);
            float *got = malloc((size_t)n * sizeof *got);
            oracle_distance(mask, ndim, shape, sp, want);
            for (int t = 1; t <= 3; t++) {
                ck_assert_int_eq(distance_transform_p(mask, ndim, shape, sp, got, t),
                                 UNET_OK);
                for (int64_t i = 0; i < n; i++)
                    ck_assert_msg(fabs(got[i] - want[i]) <= 1e-6 * (1 + want[i]),
                                  "case %zu pixel %lld: %g, want %g", c, (long long)i,
                                  (double)got[i], want[i]);
            }
            free(mask);
            free(want);
            free(got);
        }
    }
    /* No background: infinite; all background: 0. */
    int64_t shape[2] = {5, 6};
    uint8_t ones[30], zeros[30] = {0};
    memset(ones, 1, sizeof ones);
    float d[30];
    ck_assert_int_eq(distance_transform_p(ones, 2, shape, NULL, d, 0), UNET_OK);
    for (int i = 0; i < 30; i++)
        ck_assert(isinf(d[i]) && d[i] > 0);
    ck_assert_int_eq(distance_transform_p(zeros, 2, shape, NULL, d, 0), UNET_OK);
    for (int i = 0; i < 30; i++)
        ck_assert(d[i] == 0.0f);
}
END_TEST

START_TEST(test_distance_large_exact)
{
    /* One background pixel in a corner of 600 x 900: distances are exactly sqrt(y^2 + x^2). */
    int64_t shape[2] = {600, 900}, n = 600 * 900;
    uint8_t *mask = malloc((size_t)n);
    memset(mask, 1, (size_t)n);
    mask[0] = 0;
    float *d = malloc((size_t)n * sizeof *d);
    ck_assert_int_eq(distance_transform_p(mask, 2, shape, NULL, d, 4), UNET_OK);
    for (int64_t y = 0; y < 600; y++)
        for (int64_t x = 0; x < 900; x++)
            ck_assert(d[y * 900 + x] == (float)sqrt((double)(y * y + x * x)));
    free(mask);
    free(d);
}
END_TEST

START_TEST(test_local_maxima_match_scan)
{
    rng r = {4};
    struct {
        int ndim;
        int64_t shape[3];
    } cases[] = {{2, {1, 30}}, {2, {40, 37}}, {2, {64, 64}}, {3, {6, 15, 14}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int ndim = cases[c].ndim;
        const int64_t *shape = cases[c].shape;
        int64_t n = numel(ndim, shape);
        float *img = malloc((size_t)n * sizeof *img);
        uint32_t *regions = malloc((size_t)n * 4), *want = malloc((size_t)n * 4),
                 *got = malloc((size_t)n * 4);
        for (int variant = 0; variant < 3; variant++) {
            /* Quantised values make ties (plateaus) common; regions from a random mask. */
            for (int64_t i = 0; i < n; i++)
                img[i] = variant == 2 ? (float)uniform(&r) : (float)(next_u32(&r) % 6);
            uint8_t *mask = random_mask(n, 0.6, &r);
            uint32_t nreg;
            ck_assert_int_eq(label_components_p(mask, ndim, shape, 0, regions, &nreg, 1),
                             UNET_OK);
            for (int m = 1; m <= 4; m++)
                for (int use_regions = 0; use_regions <= 1; use_regions++) {
                    const uint32_t *reg = use_regions ? regions : NULL;
                    uint32_t nw = oracle_peaks(img, reg, ndim, shape, m, want), ng;
                    for (int t = 1; t <= 3; t += 2) {
                        ck_assert_int_eq(local_maxima_p(img, reg, ndim, shape, m, got, &ng,
                                                           t),
                                         UNET_OK);
                        ck_assert_uint_eq(ng, nw);
                        ck_assert_msg(memcmp(got, want, (size_t)n * 4) == 0,
                                      "case %zu m %d regions %d", c, m, use_regions);
                    }
                }
            free(mask);
        }
        free(img);
        free(regions);
        free(want);
        free(got);
    }
}
END_TEST

START_TEST(test_watershed_markers_flood)
{
    /* A valley between two basins: each marker takes its side, the ridge goes to whichever
     * arrives first at equal height (the left, pushed first). */
    int64_t shape[2] = {1, 9};
    float land[9] = {0, 1, 2, 3, 4, 3, 2, 1, 0};
    uint32_t markers[9] = {1, 0, 0, 0, 0, 0, 0, 0, 7}, labels[9];
    ck_assert_int_eq(watershed_markers_p(land, markers, NULL, 2, shape, 0, labels, 1),
                     UNET_OK);
    uint32_t want[9] = {1, 1, 1, 1, 1, 7, 7, 7, 7};
    ck_assert(memcmp(labels, want, sizeof want) == 0);
    /* A mask cuts the line: the far side is unreachable and stays 0; markers outside the
     * mask are dropped. In place on the markers' buffer. */
    uint8_t mask[9] = {1, 1, 1, 0, 1, 1, 1, 1, 0};
    uint32_t inplace[9] = {3, 0, 0, 0, 0, 0, 0, 0, 5};
    ck_assert_int_eq(watershed_markers_p(land, inplace, mask, 2, shape, 4, inplace, 2),
                     UNET_OK);
    uint32_t want2[9] = {3, 3, 3, 0, 0, 0, 0, 0, 0};
    ck_assert(memcmp(inplace, want2, sizeof want2) == 0);
    /* 8-connectivity reaches across a diagonal gap that 4-connectivity cannot. */
    int64_t sq[2] = {2, 2};
    float flat[4] = {0, 0, 0, 0};
    uint8_t diag[4] = {1, 0, 0, 1};
    uint32_t mk[4] = {2, 0, 0, 0}, out[4];
    ck_assert_int_eq(watershed_markers_p(flat, mk, diag, 2, sq, 4, out, 1), UNET_OK);
    ck_assert_uint_eq(out[3], 0);
    ck_assert_int_eq(watershed_markers_p(flat, mk, diag, 2, sq, 8, out, 1), UNET_OK);
    ck_assert_uint_eq(out[3], 2);
}
END_TEST

/* Two discs of radius r whose centres are `gap` apart, on a w x h image. */
static uint8_t *two_discs(int64_t h, int64_t w, double r1, double r2, double gap)
{
    uint8_t *m = calloc((size_t)(h * w), 1);
    double cy = h / 2.0, cx1 = w / 2.0 - gap / 2, cx2 = w / 2.0 + gap / 2;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double a = (y - cy) * (y - cy) + (x - cx1) * (x - cx1);
            double b = (y - cy) * (y - cy) + (x - cx2) * (x - cx2);
            m[y * w + x] = a <= r1 * r1 || b <= r2 * r2;
        }
    return m;
}

START_TEST(test_watershed_splits_touching_discs)
{
    int64_t shape[2] = {60, 100}, n = 6000;
    uint8_t *mask = two_discs(60, 100, 15, 12, 24);
    uint32_t *labels = malloc((size_t)n * 4), *cc = malloc((size_t)n * 4), count, ncc;
    ck_assert_int_eq(label_components_p(mask, 2, shape, 4, cc, &ncc, 0), UNET_OK);
    ck_assert_uint_eq(ncc, 1); /* merged by thresholding alone */
    for (int t = 1; t <= 4; t++) {
        ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 5, 0, labels, &count, t),
                         UNET_OK);
        ck_assert_uint_eq(count, 2);
        /* Every foreground pixel labelled; the left disc's centre is 1, the right's 2. */
        for (int64_t i = 0; i < n; i++)
            ck_assert((labels[i] != 0) == (mask[i] != 0));
        ck_assert_uint_eq(labels[30 * 100 + 38], 1);
        ck_assert_uint_eq(labels[30 * 100 + 62], 2);
    }
    /* A min_distance past the centres' distance keeps one seed: one object. */
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 30, 0, labels, &count, 1), UNET_OK);
    ck_assert_uint_eq(count, 1);
    free(mask);
    free(labels);
    free(cc);
}
END_TEST

START_TEST(test_watershed_small_object_keeps_seed)
{
    /* A 3-px blob 2 px from a big disc: its peak is inside the disc's window but it is its
     * own component, so it must still be an object. */
    int64_t shape[2] = {60, 60}, n = 3600;
    uint8_t *mask = calloc((size_t)n, 1);
    for (int64_t y = 0; y < 60; y++)
        for (int64_t x = 0; x < 60; x++)
            mask[y * 60 + x] = (y - 30) * (y - 30) + (x - 25) * (x - 25) <= 14 * 14;
    mask[30 * 60 + 41] = mask[30 * 60 + 42] = mask[31 * 60 + 41] = 1;
    uint32_t *labels = malloc((size_t)n * 4), count;
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 10, 0, labels, &count, 2), UNET_OK);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_ne(labels[30 * 60 + 41], 0);
    ck_assert_uint_ne(labels[30 * 60 + 41], labels[30 * 60 + 25]);
    for (int64_t i = 0; i < n; i++)
        ck_assert((labels[i] != 0) == (mask[i] != 0));
    /* Empty and full masks. */
    memset(mask, 0, (size_t)n);
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 5, 0, labels, &count, 0), UNET_OK);
    ck_assert_uint_eq(count, 0);
    memset(mask, 1, (size_t)n);
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 5, 0, labels, &count, 0), UNET_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(labels[n - 1], 1);
    free(mask);
    free(labels);
}
END_TEST

START_TEST(test_watershed_3d_and_spacing)
{
    /* Two touching balls in a volume with anisotropic voxels (z sampled every 2 units). */
    int64_t shape[3] = {16, 30, 50}, n = 16 * 30 * 50;
    uint8_t *mask = calloc((size_t)n, 1);
    for (int64_t z = 0; z < 16; z++)
        for (int64_t y = 0; y < 30; y++)
            for (int64_t x = 0; x < 50; x++) {
                double zz = 2.0 * (z - 8), yy = y - 15;
                double a = zz * zz + yy * yy + (x - 17) * (x - 17);
                double b = zz * zz + yy * yy + (x - 33) * (x - 33);
                mask[(z * 30 + y) * 50 + x] = a <= 100 || b <= 100;
            }
    double spacing[3] = {2.0, 1.0, 1.0};
    uint32_t *labels = malloc((size_t)n * 4), count;
    ck_assert_int_eq(watershed_p(mask, 3, shape, spacing, 4, 26, labels, &count, 3), UNET_OK);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_ne(labels[(8 * 30 + 15) * 50 + 17], labels[(8 * 30 + 15) * 50 + 33]);
    free(mask);
    free(labels);
}
END_TEST

START_TEST(test_threeclass)
{
    /* Two squares sharing an edge; their outer rings and the shared seam are boundary. */
    int64_t shape[2] = {20, 30}, n = 600;
    float *p = calloc(3 * (size_t)n, sizeof *p);
    for (int64_t y = 0; y < 20; y++)
        for (int64_t x = 0; x < 30; x++) {
            int in_a = y >= 4 && y < 16 && x >= 3 && x < 15;
            int in_b = y >= 4 && y < 16 && x >= 15 && x < 27;
            int cls = 0;
            if (in_a || in_b) {
                int edge = y == 4 || y == 15 || x == 3 || x == 26 || x == 14 || x == 15;
                cls = edge ? 2 : 1;
            }
            float *px[3] = {p + y * 30 + x, p + n + y * 30 + x, p + 2 * n + y * 30 + x};
            for (int c = 0; c < 3; c++)
                *px[c] = c == cls ? 0.8f : 0.1f;
        }
    /* An isolated boundary-only blob has no interior and stays background. */
    p[0] = 0.1f;
    p[2 * n] = 0.8f;
    uint32_t labels[600], count;
    ck_assert_int_eq(labels_from_3class_p(p, 2, shape, 0, labels, &count, 2), UNET_OK);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(labels[0], 0);
    ck_assert_uint_eq(labels[4 * 30 + 3], 1);   /* corner of a: boundary, grown */
    ck_assert_uint_eq(labels[10 * 30 + 14], 1); /* seam pixel on a's side */
    ck_assert_uint_eq(labels[10 * 30 + 15], 2); /* seam pixel on b's side */
    ck_assert_uint_eq(labels[15 * 30 + 26], 2);
    int64_t fg = 0;
    for (int i = 0; i < 600; i++)
        fg += labels[i] != 0;
    ck_assert_int_eq(fg, 2 * 12 * 12);
    /* A NaN is named with its class and pixel. */
    p[n + 5 * 30 + 7] = NAN;
    count = 9;
    ck_assert_int_eq(labels_from_3class_p(p, 2, shape, 0, labels, &count, 1),
                     UNET_E_INVALID_ARG);
    ck_assert_uint_eq(count, 0);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "interior probability at (y 5, x 7)"));
    free(p);
}
END_TEST

START_TEST(test_relabel_and_sizes)
{
    int64_t shape[2] = {3, 6};
    uint32_t l[18] = {9, 9, 0, 4000000000u, 0, 5, 9, 0, 0, 4000000000u, 0, 5,
                      0, 0, 7, 0, 0, 5};
    uint32_t count;
    uint32_t a[18];
    memcpy(a, l, sizeof a);
    ck_assert_int_eq(unet_relabel(a, 2, shape, &count), UNET_OK);
    ck_assert_uint_eq(count, 4);
    uint32_t want[18] = {1, 1, 0, 2, 0, 3, 1, 0, 0, 2, 0, 3, 0, 0, 4, 0, 0, 3};
    ck_assert(memcmp(a, want, sizeof want) == 0);
    /* Sizes: 9 has 3 pixels, 4e9 has 2, 5 has 3, 7 has 1. */
    memcpy(a, l, sizeof a);
    ck_assert_int_eq(filter_sizes_p(a, 2, shape, 2, 2, &count), UNET_OK);
    ck_assert_uint_eq(count, 1);
    uint32_t want2[18] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert(memcmp(a, want2, sizeof want2) == 0);
    memcpy(a, l, sizeof a);
    ck_assert_int_eq(filter_sizes_p(a, 2, shape, 3, 0, &count), UNET_OK);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(a[0], 1);
    ck_assert_uint_eq(a[5], 2);
    ck_assert_uint_eq(a[3], 0);
    /* Many distinct large values force the table to grow. */
    int64_t big[2] = {100, 1000};
    uint32_t *m = malloc(100000 * 4);
    for (uint32_t i = 0; i < 100000; i++)
        m[i] = 4000000000u - i * 7u;
    ck_assert_int_eq(unet_relabel(m, 2, big, &count), UNET_OK);
    ck_assert_uint_eq(count, 100000);
    for (uint32_t i = 0; i < 100000; i++)
        ck_assert_uint_eq(m[i], i + 1);
    free(m);
}
END_TEST

START_TEST(test_instance_f1)
{
    int64_t shape[2] = {1, 30};
    /* t1 = [0,10), t2 = [10,20); p1 = [5,17) overlaps t1 (IoU 5/17) and t2 (7/15), p2 =
     * [17,22) overlaps t2 (3/12 = 0.25). At 0.25 the best-IoU-first greedy pairs p1-t2 and
     * strands p2; the maximum matching is p1-t1, p2-t2. */
    uint32_t truth[30] = {0}, pred[30] = {0};
    for (int i = 0; i < 10; i++)
        truth[i] = 10;
    for (int i = 10; i < 20; i++)
        truth[i] = 20;
    for (int i = 5; i < 17; i++)
        pred[i] = 3;
    for (int i = 17; i < 22; i++)
        pred[i] = 1;
    double f1;
    int64_t tp, fp, fn;
    ck_assert_int_eq(unet_instance_f1(pred, truth, 2, shape, 0.25, &f1, &tp, &fp, &fn), UNET_OK);
    ck_assert_int_eq(tp, 2);
    ck_assert_int_eq(fp, 0);
    ck_assert_int_eq(fn, 0);
    ck_assert_double_eq(f1, 1.0);
    ck_assert_int_eq(unet_instance_f1(pred, truth, 2, shape, 0.3, &f1, &tp, &fp, &fn), UNET_OK);
    ck_assert_int_eq(tp, 1);
    ck_assert_double_eq_tol(f1, 0.5, 1e-12);
    ck_assert_int_eq(unet_instance_f1(pred, truth, 2, shape, 0.5, &f1, &tp, &fp, &fn), UNET_OK);
    ck_assert_int_eq(tp, 0);
    ck_assert_int_eq(fp, 2);
    ck_assert_int_eq(fn, 2);
    ck_assert_double_eq(f1, 0.0);
    /* Identical up to renumbering: perfect; both empty: perfect; IoU exactly at threshold
     * counts. */
    uint32_t renum[30];
    for (int i = 0; i < 30; i++)
        renum[i] = truth[i] ? 1000 - truth[i] : 0;
    ck_assert_int_eq(unet_instance_f1(renum, truth, 2, shape, 1.0, &f1, NULL, NULL, NULL),
                     UNET_OK);
    ck_assert_double_eq(f1, 1.0);
    uint32_t empty[30] = {0};
    ck_assert_int_eq(unet_instance_f1(empty, empty, 2, shape, 0.5, &f1, &tp, &fp, &fn), UNET_OK);
    ck_assert_double_eq(f1, 1.0);
    ck_assert_int_eq(unet_instance_f1(empty, truth, 2, shape, 0.5, &f1, &tp, &fp, &fn),
                     UNET_OK);
    ck_assert_double_eq(f1, 0.0);
    ck_assert_int_eq(fn, 2);
    uint32_t half[30] = {0};
    for (int i = 0; i < 5; i++)
        half[i] = 1; /* IoU 5/10 with t1 */
    ck_assert_int_eq(unet_instance_f1(half, truth, 2, shape, 0.5, &f1, &tp, &fp, &fn), UNET_OK);
    ck_assert_int_eq(tp, 1);
    ck_assert_double_eq_tol(f1, 2.0 / 3.0, 1e-12);
}
END_TEST

START_TEST(test_watershed_deterministic_across_threads)
{
    int64_t shape[2] = {512, 384}, n = 512 * 384;
    rng r = {6};
    uint8_t *mask = random_blobs(2, shape, 220, 5, 16, &r);
    uint32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4), na, nb;
    ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 5, 0, a, &na, 1), UNET_OK);
    for (int t = 2; t <= 8; t *= 2) {
        ck_assert_int_eq(watershed_p(mask, 2, shape, NULL, 5, 0, b, &nb, t), UNET_OK);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(a, b, (size_t)n * 4) == 0);
    }
    /* More objects than components (touching blobs split), every pixel of the mask kept,
     * numbering in raster order. */
    uint32_t ncc;
    ck_assert_int_eq(label_components_p(mask, 2, shape, 0, b, &ncc, 0), UNET_OK);
    ck_assert_uint_gt(na, ncc);
    uint32_t seen = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert((a[i] != 0) == (mask[i] != 0));
        if (a[i] > seen) {
            ck_assert_uint_eq(a[i], seen + 1);
            seen = a[i];
        }
    }
    /* The F1 of an instance image against itself is 1, and splitting costs it. */
    double f1;
    ck_assert_int_eq(unet_instance_f1(a, a, 2, shape, 0.5, &f1, NULL, NULL, NULL), UNET_OK);
    ck_assert_double_eq(f1, 1.0);
    ck_assert_int_eq(unet_instance_f1(b, a, 2, shape, 0.5, &f1, NULL, NULL, NULL), UNET_OK);
    ck_assert_double_lt(f1, 1.0);
    free(mask);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_threshold)
{
    int64_t shape[2] = {2, 3};
    float p[6] = {0.0f, 0.5f, 0.51f, 1.0f, 0.2f, 0.7f};
    uint8_t m[6];
    ck_assert_int_eq(threshold_p(p, 2, shape, 0.5, m, 0), UNET_OK);
    uint8_t want[6] = {0, 0, 1, 1, 0, 1};
    ck_assert(memcmp(m, want, 6) == 0);
    ck_assert_int_eq(threshold_p(p, 2, shape, 0.0, m, 1), UNET_OK);
    ck_assert_uint_eq(m[0], 0);
    ck_assert_uint_eq(m[4], 1);
    p[4] = NAN;
    ck_assert_int_eq(threshold_p(p, 2, shape, 0.5, m, 2), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(), "unet_threshold: probability at (y 1, x 1) is NaN");
    int64_t vol[3] = {2, 1, 3};
    ck_assert_int_eq(threshold_p(p, 3, vol, 0.5, m, 2), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(),
                     "unet_threshold: probability at (z 1, y 0, x 1) is NaN");
}
END_TEST

START_TEST(test_validation)
{
    int64_t shape[2] = {4, 4}, zero[2] = {0, 4}, huge[2] = {4, ((int64_t)1 << 31) + 1};
    int64_t vol[3] = {2, 4, 2};
    float f[32] = {0};
    uint8_t m[32] = {0};
    uint32_t l[32] = {0}, count = 77;
    double f1 = 3;
    int64_t tp = 5;

    /* NULL pointers, each named. */
    ck_assert_int_eq(threshold_p(NULL, 2, shape, 0.5, m, 0), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(), "unet_threshold: prob is NULL");
    ck_assert_int_eq(threshold_p(f, 2, shape, 0.5, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(threshold_p(f, 2, NULL, 0.5, m, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(label_components_p(NULL, 2, shape, 4, l, &count, 0),
                     UNET_E_INVALID_ARG);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(label_components_p(m, 2, shape, 4, NULL, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(distance_transform_p(NULL, 2, shape, NULL, f, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(distance_transform_p(m, 2, shape, NULL, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(local_maxima_p(NULL, NULL, 2, shape, 1, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(local_maxima_p(f, NULL, 2, shape, 1, NULL, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(watershed_markers_p(NULL, l, m, 2, shape, 0, l, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(watershed_markers_p(f, NULL, m, 2, shape, 0, l, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(watershed_markers_p(f, l, m, 2, shape, 0, NULL, 0), UNET_E_INVALID_ARG);
    count = 77;
    ck_assert_int_eq(watershed_p(NULL, 2, shape, NULL, 5, 0, l, &count, 0),
                     UNET_E_INVALID_ARG);
    ck_assert_uint_eq(count, 0);
    ck_assert_int_eq(watershed_p(m, 2, shape, NULL, 5, 0, NULL, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(labels_from_3class_p(NULL, 2, shape, 0, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(labels_from_3class_p(f, 2, shape, 0, NULL, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_relabel(NULL, 2, shape, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(filter_sizes_p(NULL, 2, shape, 0, 0, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_instance_f1(NULL, l, 2, shape, 0.5, &f1, &tp, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_double_eq(f1, 0.0);
    ck_assert_int_eq(tp, 0);
    ck_assert_int_eq(unet_instance_f1(l, NULL, 2, shape, 0.5, &f1, NULL, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_instance_f1(l, l, 2, shape, 0.5, NULL, NULL, NULL, NULL),
                     UNET_E_INVALID_ARG);

    /* Shapes: ndim, zero and oversized axes. */
    ck_assert_int_eq(label_components_p(m, 1, shape, 0, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_int_eq(label_components_p(m, 4, shape, 0, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_int_eq(label_components_p(m, 2, zero, 0, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_str_eq(unet_last_error(),
                     "unet_label_components: axis 0 has size 0 (must be 1 to 2^31)");
    ck_assert_int_eq(threshold_p(f, 2, huge, 0.5, m, 0), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "axis 1 has size 2147483649"));
    ck_assert_int_eq(distance_transform_p(m, 2, zero, NULL, f, 0), UNET_E_SHAPE);
    ck_assert_int_eq(local_maxima_p(f, NULL, 2, huge, 1, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_int_eq(watershed_markers_p(f, l, m, 2, zero, 0, l, 0), UNET_E_SHAPE);
    ck_assert_int_eq(watershed_p(m, 3, huge, NULL, 5, 0, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_int_eq(labels_from_3class_p(f, 2, zero, 0, l, NULL, 0), UNET_E_SHAPE);
    ck_assert_int_eq(unet_relabel(l, 2, zero, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(filter_sizes_p(l, 2, huge, 0, 0, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet_instance_f1(l, l, 2, zero, 0.5, &f1, NULL, NULL, NULL), UNET_E_SHAPE);
    /* An image too large for memory is refused before any allocation. */
    int64_t giant[3] = {(int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31};
    ck_assert_int_eq(unet_relabel(l, 3, giant, NULL), UNET_E_NOMEM);

    /* Parameters. */
    ck_assert_int_eq(threshold_p(f, 2, shape, 1.5, m, 0), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(),
                     "post-processing option threshold = 1.5 is out of range [0, 1]");
    ck_assert_int_eq(threshold_p(f, 2, shape, -0.1, m, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(threshold_p(f, 2, shape, NAN, m, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(label_components_p(m, 2, shape, 6, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "connectivity 6 is not 4 or 8 in 2-D"));
    ck_assert_int_eq(label_components_p(m, 3, vol, 8, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "6, 18 or 26"));
    ck_assert_int_eq(watershed_p(m, 2, shape, NULL, 5, 3, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(watershed_markers_p(f, l, m, 2, shape, -1, l, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(labels_from_3class_p(f, 2, shape, 5, l, NULL, 0), UNET_E_INVALID_ARG);
    double bad_sp[3][2] = {{0, 1}, {1, -2}, {1, NAN}};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(distance_transform_p(m, 2, shape, bad_sp[i], f, 0),
                         UNET_E_INVALID_ARG);
        ck_assert_int_eq(watershed_p(m, 2, shape, bad_sp[i], 5, 0, l, NULL, 0),
                         UNET_E_INVALID_ARG);
    }
    double inf_sp[2] = {INFINITY, 1};
    ck_assert_int_eq(distance_transform_p(m, 2, shape, inf_sp, f, 0), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "spacing inf of axis 0"));
    ck_assert_int_eq(local_maxima_p(f, NULL, 2, shape, 0, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(),
                     "post-processing option min_distance = 0 is out of range [1, 1000]");
    ck_assert_int_eq(watershed_p(m, 2, shape, NULL, -3, 0, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(filter_sizes_p(l, 2, shape, -1, 0, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(filter_sizes_p(l, 2, shape, 10, 5, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(filter_sizes_p(l, 2, shape, 0, -5, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_instance_f1(l, l, 2, shape, 0.0, &f1, NULL, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_instance_f1(l, l, 2, shape, 1.01, &f1, NULL, NULL, NULL),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_instance_f1(l, l, 2, shape, NAN, &f1, NULL, NULL, NULL),
                     UNET_E_INVALID_ARG);

    /* NaN in float inputs, named by pixel. */
    f[6] = NAN;
    ck_assert_int_eq(local_maxima_p(f, NULL, 2, shape, 1, l, NULL, 0), UNET_E_INVALID_ARG);
    ck_assert_str_eq(unet_last_error(), "unet_local_maxima: image value at (y 1, x 2) is NaN");
    ck_assert_int_eq(watershed_markers_p(f, l, NULL, 2, shape, 0, l, 0), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "landscape value at (y 1, x 2) is NaN"));

    /* A success clears the message. */
    ck_assert_int_eq(unet_relabel(l, 2, shape, NULL), UNET_OK);
    ck_assert_str_eq(unet_last_error(), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("post");
    TCase *tc = tcase_create("post");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_threshold);
    tcase_add_test(tc, test_components_match_bfs);
    tcase_add_test(tc, test_components_large_bands);
    tcase_add_test(tc, test_distance_matches_brute_force);
    tcase_add_test(tc, test_distance_large_exact);
    tcase_add_test(tc, test_local_maxima_match_scan);
    tcase_add_test(tc, test_watershed_markers_flood);
    tcase_add_test(tc, test_watershed_splits_touching_discs);
    tcase_add_test(tc, test_watershed_small_object_keeps_seed);
    tcase_add_test(tc, test_watershed_3d_and_spacing);
    tcase_add_test(tc, test_watershed_deterministic_across_threads);
    tcase_add_test(tc, test_threeclass);
    tcase_add_test(tc, test_relabel_and_sizes);
    tcase_add_test(tc, test_instance_f1);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
