/*
 * Percentiles of a plane held in memory (stats_kept.h), on the pool's threads: one pass finds
 * each channel's extremes (and whether it holds only integers), one pass counts the values
 * into ordered bins, and the wanted ranks are read off the counts (integers: a bin is one
 * value) or selected among the values of their bins. The bin of a value is a non-decreasing
 * function of it, so every value of a bin lies between those of the bins around it and the
 * counts give exact ranks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "predict/stats_kept.h"

#define FLOAT_BINS 65536
#define INT_SPAN 98304 /* integer channels spanning up to this many values: a bin per value */
#define BLOCK ((int64_t)1 << 16) /* values per chunk of a parallel pass */
#define MAX_GATHER ((int64_t)1 << 21) /* values of the ranks' bins selected among; more: search */

/* The bins of one channel: bin(x) = min(bins - 1, (int64_t)((x - lo) * per_value)). */
typedef struct binning {
    double lo, per_value;
    int64_t bins;
    bool integers; /* one bin per integer value: bin b holds lo + b */
} binning;

static int64_t bin_of(const binning *b, float x)
{
    const double t = ((double)x - b->lo) * b->per_value;
    return t < (double)(b->bins - 1) ? (int64_t)t : b->bins - 1;
}

/* ---- pass 1: extremes, and whether every value is an integer ---- */

typedef struct extremes {
    float min, max;
    bool integers;
} extremes;

typedef struct extremes_job {
    const float *v;
    int64_t n;
    extremes *per_chunk;
} extremes_job;

static void extremes_chunk(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const extremes_job *j = ctx;
    for (int64_t k = begin; k < end; k++) {
        const float *v = j->v + k * BLOCK;
        int64_t m = j->n - k * BLOCK < BLOCK ? j->n - k * BLOCK : BLOCK;
        float lo = v[0], hi = v[0];
        bool integers = true;
        for (int64_t i = 0; i < m; i++) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
            integers = integers && v[i] == truncf(v[i]);
        }
        j->per_chunk[k] = (extremes){lo, hi, integers};
    }
}

/* ---- pass 2: counts per bin, one histogram per participant ---- */

typedef struct count_job {
    const float *v;
    int64_t n;
    const binning *b;
    uint32_t *hist; /* threads x bins */
} count_job;

static void count_chunk(void *ctx, int64_t begin, int64_t end, int tid)
{
    const count_job *j = ctx;
    uint32_t *h = j->hist + (int64_t)tid * j->b->bins;
    for (int64_t k = begin; k < end; k++) {
        const float *v = j->v + k * BLOCK;
        int64_t m = j->n - k * BLOCK < BLOCK ? j->n - k * BLOCK : BLOCK;
        for (int64_t i = 0; i < m; i++)
            h[bin_of(j->b, v[i])]++;
    }
}

/* The bin holding rank r (0-based, ascending) and how many values lie in the bins below. */
static int64_t rank_bin(const int64_t *count, int64_t bins, int64_t r, int64_t *below)
{
    int64_t b = 0, acc = 0;
    while (b < bins - 1 && acc + count[b] <= r)
        acc += count[b++];
    *below = acc;
    return b;
}

/* The values of ranks r[0..nr) (0-based, ascending) of the channel: read off their bins
 * (integers), or selected among the values of their bins, gathered in one pass; *too_many when
 * those bins hold more than MAX_GATHER values. */
#define MAX_RANKS 4
static int rank_values(const float *v, int64_t n, const binning *b, const int64_t *count,
                       const int64_t *r, int nr, double *out, bool *too_many)
{
    int64_t bin[MAX_RANKS], below[MAX_RANKS], want[MAX_RANKS], total = 0;
    int nwant = 0, slot[MAX_RANKS];
    for (int k = 0; k < nr; k++) {
        bin[k] = rank_bin(count, b->bins, r[k], &below[k]);
        if (b->integers) {
            out[k] = b->lo + (double)bin[k];
            continue;
        }
        slot[k] = -1;
        for (int w = 0; w < nwant; w++)
            if (want[w] == bin[k])
                slot[k] = w;
        if (slot[k] < 0) {
            slot[k] = nwant;
            want[nwant++] = bin[k];
            total += count[bin[k]];
        }
    }
    if (b->integers)
        return UNET_OK;
    if (total > MAX_GATHER) {
        *too_many = true;
        return UNET_OK;
    }
    float *g[MAX_RANKS] = {NULL};
    int64_t ng[MAX_RANKS] = {0};
    int rc = UNET_OK;
    for (int w = 0; w < nwant && rc == UNET_OK; w++)
        if (!(g[w] = unet__alloc_floats((size_t)(count[want[w]] ? count[want[w]] : 1))))
            rc = unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
    for (int64_t i = 0; i < n && rc == UNET_OK; i++) {
        int64_t bi = bin_of(b, v[i]);
        for (int w = 0; w < nwant; w++)
            if (bi == want[w])
                g[w][ng[w]++] = v[i];
    }
    for (int k = 0; k < nr && rc == UNET_OK; k++)
        out[k] = unet__select_kth(g[slot[k]], ng[slot[k]], r[k] - below[k]);
    for (int w = 0; w < nwant; w++)
        unet__free_aligned(g[w]);
    return rc;
}

/* NumPy's linear percentiles qlo and qhi of the channel: v[k] + t (v[k+1] - v[k]) with
 * pos = q/100 (n - 1), k = floor(pos), t = pos - k. */
static int channel_percentiles(const float *v, int64_t n, const binning *b,
                               const int64_t *count, const double q[2], double *out[2],
                               bool *too_many)
{
    int64_t r[MAX_RANKS];
    double t[2];
    int nr = 0, at[2];
    for (int p = 0; p < 2; p++) {
        double pos = q[p] / 100.0 * (double)(n - 1);
        int64_t k = (int64_t)floor(pos);
        t[p] = pos - (double)k;
        at[p] = nr;
        r[nr++] = k;
        if (t[p] > 0 && k + 1 < n)
            r[nr++] = k + 1;
        else
            t[p] = 0;
    }
    double value[MAX_RANKS];
    int rc = rank_values(v, n, b, count, r, nr, value, too_many);
    for (int p = 0; p < 2 && rc == UNET_OK && !*too_many; p++) {
        double a = value[at[p]];
        *out[p] = t[p] > 0 ? a + t[p] * (value[at[p] + 1] - a) : a;
    }
    return rc;
}

int unet__kept_percentiles(const float *plane, int64_t channels, int64_t n, double qlo,
                           double qhi, int threads, double *lo, double *hi, bool *done)
{
    *done = false;
    if (threads < 1)
        threads = 1;
    const int64_t blocks = (n + BLOCK - 1) / BLOCK;
    extremes *ext = malloc((size_t)blocks * sizeof *ext);
    uint32_t *hist = calloc((size_t)threads * (size_t)(INT_SPAN > FLOAT_BINS ? INT_SPAN
                                                                              : FLOAT_BINS),
                            sizeof *hist);
    int64_t *count = malloc((size_t)(INT_SPAN > FLOAT_BINS ? INT_SPAN : FLOAT_BINS) *
                            sizeof *count);
    int rc = UNET_OK;
    if (!ext || !hist || !count) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
        goto out;
    }
    bool too_many = false;
    for (int64_t c = 0; c < channels && rc == UNET_OK && !too_many; c++) {
        const float *v = plane + c * n;
        extremes_job ej = {v, n, ext};
        unet__pool_for(threads, blocks, 1, extremes_chunk, &ej);
        extremes e = ext[0];
        for (int64_t k = 1; k < blocks; k++) {
            e.min = ext[k].min < e.min ? ext[k].min : e.min;
            e.max = ext[k].max > e.max ? ext[k].max : e.max;
            e.integers = e.integers && ext[k].integers;
        }
        binning b = {e.min, 0, 1, false};
        if (e.integers && (double)e.max - (double)e.min < INT_SPAN) {
            b.bins = (int64_t)((double)e.max - (double)e.min) + 1;
            b.per_value = 1.0; /* x - lo is exact: bin b holds the integer lo + b */
            b.integers = true;
        } else if (e.max > e.min) {
            b.bins = FLOAT_BINS;
            b.per_value = FLOAT_BINS / ((double)e.max - (double)e.min);
        } else {
            b.integers = true; /* one value: the one bin holds it */
        }
        memset(hist, 0, (size_t)threads * (size_t)b.bins * sizeof *hist);
        count_job cj = {v, n, &b, hist};
        unet__pool_for(threads, blocks, 1, count_chunk, &cj);
        for (int64_t i = 0; i < b.bins; i++) {
            count[i] = 0;
            for (int t = 0; t < threads; t++)
                count[i] += hist[(int64_t)t * b.bins + i];
        }
        const double q[2] = {qlo, qhi};
        double *out[2] = {&lo[c], &hi[c]};
        rc = channel_percentiles(v, n, &b, count, q, out, &too_many);
    }
    *done = rc == UNET_OK && !too_many;
out:
    free(ext);
    free(hist);
    free(count);
    return rc;
}
