/*
 * Normalisation statistics of a whole plane, read strip by strip so memory stays bounded (a
 * plane of up to 32 MiB is read once and kept for every pass): mean and standard deviation
 * in two passes (double sums), and exact percentiles: from one histogram when every value is
 * an integer of 8- or 16-bit range, else by histogram refinement, each pass narrowing the value
 * range holding the wanted order statistic until few enough values remain to select it
 * directly.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "core/threads.h"
#include "predict/predict.h"
#include "predict/stats_kept.h"

#define STRIP_FLOATS ((int64_t)1 << 20) /* floats per strip read (4 MiB) */
/* A plane up to this many floats (32 MiB) is read once and kept for every pass: the passes
 * (about ten for two percentiles) would otherwise each read it again, and a resized source
 * (automatic scale) resamples the whole plane on every read. */
#define WHOLE_FLOATS ((int64_t)1 << 23)
#define BINS 4096
#define SELECT_LIMIT ((int64_t)1 << 21) /* values gathered for the final selection */

/* Reads a plane strip by strip into one buffer that every pass reuses (allocating it per
 * pass fragments the heap and inflates the resident size on big images). */
typedef struct strip_reader {
    const unet__source *src;
    int64_t plane, rows, row;
    float *buf;
    bool kept; /* the whole plane is in buf (read once, checked once) */
} strip_reader;

static int reader_open(strip_reader *r, const unet__source *src, int64_t plane)
{
    r->src = src;
    r->plane = plane;
    r->buf = NULL;
    r->kept = false;
    r->row = 0;
    int64_t per_row = src->channels * src->width;
    if (per_row * src->height <= WHOLE_FLOATS) {
        r->rows = src->height;
        r->buf = unet__alloc_floats((size_t)(r->rows * per_row));
        if (r->buf)
            return UNET_OK;
    }
    r->rows = STRIP_FLOATS / per_row; /* strips: large planes, or no memory for the whole */
    if (r->rows < 1)
        r->rows = 1;
    if (r->rows > src->height)
        r->rows = src->height;
    r->buf = unet__alloc_floats((size_t)(r->rows * per_row));
    if (!r->buf)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld-row strip",
                          (long long)r->rows);
    return UNET_OK;
}

/* Read the next strip: *n rows into r->buf laid out (C, n, W); 0 rows at the end. */
static int reader_next(strip_reader *r, int64_t *n)
{
    *n = r->src->height - r->row < r->rows ? r->src->height - r->row : r->rows;
    if (*n == 0)
        return UNET_OK;
    if (r->kept) {
        r->row += *n;
        return UNET_OK;
    }
    int rc = r->src->read(r->src->user, r->plane, r->row, 0, *n, r->src->width, r->buf);
    if (rc != 0)
        return rc < 0 ? rc : unet__fail(UNET_E_IO, "reading rows %lld..%lld of plane %lld "
                                                   "failed (callback returned %d)",
                                        (long long)r->row, (long long)(r->row + *n),
                                        (long long)r->plane, rc);
    for (int64_t i = 0; i < *n * r->src->channels * r->src->width; i++)
        if (!isfinite(r->buf[i]))
            return unet__fail(UNET_E_INVALID_ARG, "input plane %lld has a non-finite value "
                                                  "near row %lld",
                              (long long)r->plane, (long long)r->row);
    r->kept = *n == r->src->height;
    r->row += *n;
    return UNET_OK;
}

/* One pass over the plane calling visit(ctx, channel, values, count) per channel strip; with
 * `go`, only while *go holds (checked before every strip). */
typedef void (*visit_fn)(void *ctx, int64_t channel, const float *v, int64_t n);

static int pass_while(strip_reader *r, visit_fn visit, void *ctx, const bool *go)
{
    const unet__source *src = r->src;
    int64_t n;
    int rc = UNET_OK;
    r->row = 0;
    while ((!go || *go) && (rc = reader_next(r, &n)) == UNET_OK && n > 0)
        for (int64_t c = 0; c < src->channels; c++)
            visit(ctx, c, r->buf + c * n * src->width, n * src->width);
    return go && !*go ? UNET_OK : rc;
}

static int pass(strip_reader *r, visit_fn visit, void *ctx)
{
    return pass_while(r, visit, ctx, NULL);
}

/* ---- mean and standard deviation ---- */

typedef struct moments {
    double *sum, *mean, *sq;
} moments;

static void visit_sum(void *ctx, int64_t c, const float *v, int64_t n)
{
    moments *m = ctx;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += v[i];
    m->sum[c] += s;
}

static void visit_sq(void *ctx, int64_t c, const float *v, int64_t n)
{
    moments *m = ctx;
    double s = 0, mean = m->mean[c];
    for (int64_t i = 0; i < n; i++)
        s += (v[i] - mean) * (v[i] - mean);
    m->sq[c] += s;
}

/* ---- order statistics ---- */

/* Per channel: the value range [lo, hi] still searched, how many values lie below it, a
 * histogram of the values inside and their extremes; once few enough remain they are
 * gathered and the rank is selected among them. */
typedef struct select_state {
    double *lo, *hi, *inmin, *inmax;
    int64_t *below, *inside, *hist; /* hist: channels x BINS */
    float **gathered;               /* per channel, NULL unless gathering */
    int64_t *ngathered;
} select_state;

static void visit_hist(void *ctx, int64_t c, const float *v, int64_t n)
{
    select_state *s = ctx;
    const double lo = s->lo[c], hi = s->hi[c];
    /* Bins only once the range is finite (the first pass finds the extremes: no bins, and
     * x - lo is infinite); a multiply per value, not a divide (the narrowing widens the kept
     * bin by a hair for such rounding). BINS / (hi - lo) stays finite: a range holding two
     * distinct floats is at least their gap, and 64 rounds shrink it by at most 4096^64. */
    const bool binned = isfinite(lo) && isfinite(hi) && hi > lo;
    const double per_value = binned ? BINS / (hi - lo) : 0;
    int64_t *h = s->hist + c * BINS;
    float *g = s->gathered[c];
    int64_t below = 0, inside = 0, ng = s->ngathered[c];
    double inmin = s->inmin[c], inmax = s->inmax[c];
    for (int64_t i = 0; i < n; i++) {
        const double x = v[i];
        if (x < lo) {
            below++;
            continue;
        }
        if (!(x <= hi))
            continue;
        inside++;
        inmin = x < inmin ? x : inmin;
        inmax = x > inmax ? x : inmax;
        if (g) {
            g[ng++] = v[i];
        } else if (binned) {
            const double t = (x - lo) * per_value;
            h[t >= 1 ? (t < BINS ? (int64_t)t : BINS - 1) : 0]++; /* lo <= x <= hi: t >= 0 */
        } else {
            h[0]++;
        }
    }
    s->below[c] += below;
    s->inside[c] += inside;
    s->ngathered[c] = ng;
    s->inmin[c] = inmin;
    s->inmax[c] = inmax;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest (0-based) of v[0..n) (no NaN), rearranging v. Quickselect with Hoare's
 * partition around a median of three: linear on average, also through long runs of equal
 * values (a background peak gathers millions of equal pixels; sorting them took a quarter of
 * a 2048^2 segmentation). After 64 rounds the rest is sorted, so the worst case stays
 * O(n log n). */
float unet__select_kth(float *v, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    for (int round = 0; lo < hi; round++) {
        if (round == 64) {
            qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, cmp_float);
            break;
        }
        float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi];
        float pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        int64_t i = lo, j = hi;
        while (i <= j) { /* the pivot is in range: both scans stop inside it */
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        /* v[lo..j] <= pivot <= v[i..hi], and every value between j and i is the pivot */
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

static int hist_pass(strip_reader *r, select_state *s, int64_t C)
{
    for (int64_t c = 0; c < C; c++) {
        s->below[c] = s->inside[c] = s->ngathered[c] = 0;
        s->inmin[c] = INFINITY;
        s->inmax[c] = -INFINITY;
    }
    memset(s->hist, 0, (size_t)(C * BINS) * sizeof *s->hist);
    return pass(r, visit_hist, s);
}

/* The value of rank `rank` (0-based, ascending) in every channel of the plane. */
static int kth_values(strip_reader *r, int64_t rank, double *out)
{
    int64_t C = r->src->channels;
    select_state s;
    s.lo = calloc((size_t)(4 * C), sizeof *s.lo);
    s.below = calloc((size_t)(3 * C), sizeof *s.below);
    s.hist = calloc((size_t)(C * BINS), sizeof *s.hist);
    s.gathered = calloc((size_t)C, sizeof *s.gathered);
    int *state = calloc((size_t)C, sizeof *state); /* 0 searching, 1 gather, 2 done */
    int rc = UNET_OK;
    if (!s.lo || !s.below || !s.hist || !s.gathered || !state) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
        goto done;
    }
    s.hi = s.lo + C;
    s.inmin = s.lo + 2 * C;
    s.inmax = s.lo + 3 * C;
    s.inside = s.below + C;
    s.ngathered = s.below + 2 * C;
    for (int64_t c = 0; c < C; c++) {
        s.lo[c] = -INFINITY;
        s.hi[c] = INFINITY;
    }
    /* Each round keeps the one bin (of 4096) holding the rank, widened by a hair for
     * rounding in visit_hist, and clipped to the extremes actually seen: float ranges close in
     * a few rounds. The first round only finds the extremes (the range is infinite). */
    for (int round = 0; round < 64; round++) {
        bool searching = false;
        for (int64_t c = 0; c < C; c++)
            searching |= state[c] == 0;
        if (!searching)
            break;
        if ((rc = hist_pass(r, &s, C)) != UNET_OK)
            goto done;
        for (int64_t c = 0; c < C; c++) {
            if (state[c] != 0)
                continue;
            if (s.inmin[c] == s.inmax[c]) { /* every candidate is the same value */
                out[c] = s.inmin[c];
                state[c] = 2;
                continue;
            }
            if (isinf(s.lo[c]) || isinf(s.hi[c])) {
                s.lo[c] = s.inmin[c];
                s.hi[c] = s.inmax[c];
                continue;
            }
            if (s.inside[c] <= SELECT_LIMIT) {
                state[c] = 1;
                continue;
            }
            int64_t *h = s.hist + c * BINS, acc = s.below[c];
            int b = 0;
            while (b < BINS - 1 && acc + h[b] <= rank)
                acc += h[b++];
            double lo = s.lo[c], width = (s.hi[c] - lo) / BINS;
            double nlo = lo + width * (b - 1e-3), nhi = lo + width * (b + 1 + 1e-3);
            s.lo[c] = nlo > s.inmin[c] ? nlo : s.inmin[c];
            s.hi[c] = nhi < s.inmax[c] ? nhi : s.inmax[c];
        }
    }
    /* Gather the remaining candidates (few by now) and select the rank among them. */
    bool gathering = false;
    for (int64_t c = 0; c < C; c++) {
        if (state[c] == 2)
            continue;
        gathering = true;
        s.gathered[c] = unet__alloc_floats((size_t)(s.inside[c] ? s.inside[c] : 1));
        if (!s.gathered[c]) {
            rc = unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
            goto done;
        }
    }
    if (!gathering)
        goto done;
    if ((rc = hist_pass(r, &s, C)) != UNET_OK)
        goto done;
    for (int64_t c = 0; c < C; c++) {
        if (state[c] == 2)
            continue;
        int64_t k = rank - s.below[c];
        if (k < 0 || k >= s.ngathered[c]) {
            rc = unet__fail(UNET_E_INTERNAL, "percentile selection lost rank %lld",
                            (long long)rank);
            goto done;
        }
        out[c] = unet__select_kth(s.gathered[c], s.ngathered[c], k);
    }
done:
    if (s.gathered)
        for (int64_t c = 0; c < C; c++)
            unet__free_aligned(s.gathered[c]);
    free(s.gathered);
    free(s.lo);
    free(s.below);
    free(s.hist);
    free(state);
    return rc;
}

/* The value after rank k's value v in every channel, in one pass: v again when more than k + 1
 * values are <= v, else the smallest value above v (instead of a second search for k + 1). */
typedef struct successor_state {
    const double *value;
    int64_t *at_or_below;
    double *above;
} successor_state;

static void visit_successor(void *ctx, int64_t c, const float *v, int64_t n)
{
    successor_state *s = ctx;
    const double value = s->value[c];
    int64_t count = 0;
    double above = s->above[c];
    for (int64_t i = 0; i < n; i++) {
        if (v[i] <= value)
            count++;
        else if (v[i] < above)
            above = v[i];
    }
    s->at_or_below[c] += count;
    s->above[c] = above;
}

static int successor_values(strip_reader *r, int64_t rank, const double *value, double *out)
{
    const int64_t C = r->src->channels;
    successor_state s = {value, calloc((size_t)C, sizeof(int64_t)),
                         malloc((size_t)C * sizeof(double))};
    int rc = UNET_OK;
    if (!s.at_or_below || !s.above) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
        goto done;
    }
    for (int64_t c = 0; c < C; c++)
        s.above[c] = INFINITY;
    if ((rc = pass(r, visit_successor, &s)) != UNET_OK)
        goto done;
    for (int64_t c = 0; c < C; c++) {
        if (s.at_or_below[c] < rank + 1 || (s.at_or_below[c] < rank + 2 && isinf(s.above[c]))) {
            rc = unet__fail(UNET_E_INTERNAL, "percentile selection lost rank %lld",
                            (long long)rank);
            goto done;
        }
        out[c] = s.at_or_below[c] >= rank + 2 ? value[c] : s.above[c];
    }
done:
    free(s.at_or_below);
    free(s.above);
    return rc;
}

/* ---- integer images: one histogram ---- */

/* Value of rank k (0-based, ascending) from a histogram of integers (bin b holds b - offset). */
static double hist_kth(const int64_t *hist, int64_t offset, int64_t k)
{
    int64_t b = 0, acc = hist[0];
    while (acc <= k)
        acc += hist[++b];
    return (double)(b - offset);
}

double unet__hist_percentile(const int64_t *hist, int64_t offset, int64_t n, double q)
{
    double pos = q / 100.0 * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double t = pos - (double)k, v = hist_kth(hist, offset, k);
    if (t > 0 && k + 1 < n)
        v = v + t * (hist_kth(hist, offset, k + 1) - v);
    return v;
}

/* 8- and 16-bit images arrive as floats holding integers: every value an integer in
 * [INT_LO, INT_HI] gives exact percentiles from one histogram pass instead of the passes of
 * the search below. */
#define INT_LO (-32768)
#define INT_HI 65535
#define INT_BINS ((int64_t)INT_HI - INT_LO + 1)

typedef struct int_hist_state {
    int64_t *hist; /* channels x INT_BINS */
    bool integers; /* every value so far */
} int_hist_state;

static void visit_int_hist(void *ctx, int64_t c, const float *v, int64_t n)
{
    int_hist_state *s = ctx;
    int64_t *h = s->hist + c * INT_BINS;
    for (int64_t i = 0; i < n && s->integers; i++) {
        const float x = v[i];
        if (x >= (float)INT_LO && x <= (float)INT_HI && x == (float)(int32_t)x)
            h[(int32_t)x - INT_LO]++;
        else
            s->integers = false;
    }
}

/* Both percentiles of every channel from one pass when the plane holds integers only;
 * *integers false (and nothing written) otherwise. */
static int integer_percentiles(strip_reader *r, double qlo, double qhi, double *lo,
                               double *hi, bool *integers)
{
    const int64_t C = r->src->channels, n = r->src->height * r->src->width;
    int_hist_state s = {calloc((size_t)(C * INT_BINS), sizeof(int64_t)), true};
    *integers = false;
    if (!s.hist) /* no memory for the shortcut: the search needs little */
        return UNET_OK;
    int rc = pass_while(r, visit_int_hist, &s, &s.integers); /* stops at a fraction */
    for (int64_t c = 0; c < C && rc == UNET_OK && s.integers; c++) {
        lo[c] = unet__hist_percentile(s.hist + c * INT_BINS, -INT_LO, n, qlo);
        hi[c] = unet__hist_percentile(s.hist + c * INT_BINS, -INT_LO, n, qhi);
    }
    *integers = rc == UNET_OK && s.integers;
    free(s.hist);
    return rc;
}

/* NumPy's percentile (linear): v[k] + t (v[k+1] - v[k]) with pos = q/100 (n - 1). */
static int percentile(strip_reader *r, double q, double *out)
{
    int64_t n = r->src->height * r->src->width, C = r->src->channels;
    double pos = q / 100.0 * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double t = pos - (double)k;
    double *next = calloc((size_t)C, sizeof *next);
    if (!next)
        return unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
    int rc = kth_values(r, k, out);
    if (rc == UNET_OK && t > 0 && k + 1 < n)
        rc = successor_values(r, k, out, next);
    if (rc == UNET_OK && t > 0 && k + 1 < n)
        for (int64_t c = 0; c < C; c++)
            out[c] = out[c] + t * (next[c] - out[c]);
    free(next);
    return rc;
}

int unet__plane_stats(const unet__source *src, int64_t plane, const unet__norm *norm,
                      unet__norm_stats *stats, unet__progress *prog, double f0, double f1)
{
    int64_t C = src->channels;
    for (int64_t c = 0; c < C; c++)
        stats[c] = (unet__norm_stats){0.0, 1.0};
    if (norm->mode == UNET_NORMALIZE_NONE)
        return UNET_OK;
    if (norm->mode == UNET_NORMALIZE_FIXED) {
        for (int64_t c = 0; c < C; c++)
            stats[c] = (unet__norm_stats){norm->a, norm->b};
        return UNET_OK;
    }
    int rc = unet__progress_report(prog, f0, "statistics", false);
    double *a = calloc((size_t)(3 * C), sizeof *a);
    strip_reader r = {0};
    if (rc == UNET_OK && !a)
        rc = unet__fail(UNET_E_NOMEM, "out of memory computing statistics");
    if (rc == UNET_OK)
        rc = reader_open(&r, src, plane);
    if (rc == UNET_OK && norm->mode == UNET_NORMALIZE_ZMUV) {
        moments m = {a, a + C, a + 2 * C};
        double n = (double)(src->height * src->width);
        rc = pass(&r, visit_sum, &m);
        for (int64_t c = 0; c < C && rc == UNET_OK; c++)
            m.mean[c] = m.sum[c] / n;
        if (rc == UNET_OK)
            rc = pass(&r, visit_sq, &m);
        for (int64_t c = 0; c < C && rc == UNET_OK; c++)
            stats[c] = (unet__norm_stats){m.mean[c], sqrt(m.sq[c] / n) + norm->eps};
    } else if (rc == UNET_OK) {
        double *lo = a, *hi = a + C;
        bool integers = false;
        if (r.rows == src->height) { /* the plane fits: read it once, count it in parallel */
            int64_t rows;
            int threads = prog && prog->opts ? unet__resolve_threads(prog->opts->threads) : 1;
            rc = reader_next(&r, &rows);
            if (rc == UNET_OK && r.kept)
                rc = unet__kept_percentiles(r.buf, C, src->height * src->width, norm->a,
                                            norm->b, threads, lo, hi, &integers);
        }
        if (rc == UNET_OK && !integers)
            rc = integer_percentiles(&r, norm->a, norm->b, lo, hi, &integers);
        if (rc == UNET_OK && !integers)
            rc = percentile(&r, norm->a, lo);
        if (rc == UNET_OK && !integers)
            rc = unet__progress_report(prog, (f0 + f1) / 2, "statistics", false);
        if (rc == UNET_OK && !integers)
            rc = percentile(&r, norm->b, hi);
        for (int64_t c = 0; c < C && rc == UNET_OK; c++)
            stats[c] = (unet__norm_stats){lo[c], hi[c] - lo[c] + 1e-20};
    }
    unet__free_aligned(r.buf);
    free(a);
    return rc;
}

int unet__plane_normalization(const unet__source *src, int64_t plane, const unet__norm *norm,
                              unet__affine *affine, unet__progress *prog, double f0, double f1)
{
    unet__norm_stats *stats = calloc((size_t)src->channels, sizeof *stats);
    if (!stats)
        return unet__fail(UNET_E_NOMEM, "out of memory computing statistics");
    int rc = unet__plane_stats(src, plane, norm, stats, prog, f0, f1);
    /* The scale is the reciprocal of the denominator, in double: what FIXED normalisation
     * with (shift, denominator) computes too, so the two agree bit for bit. */
    for (int64_t c = 0; c < src->channels && rc == UNET_OK; c++)
        affine[c] = (unet__affine){stats[c].shift, 1.0 / stats[c].denominator};
    free(stats);
    return rc;
}
