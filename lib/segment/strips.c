/* The strip segmenter (see segment.h for why owning whole components makes strips exact). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/budget.h"
#include "core/status.h"
#include "post/post.h"
#include "segment/segment.h"

#define DROPPED UINT32_MAX /* owned pixels without an object (removed by size, or unseeded) */

struct unet__seg {
    unet__seg_params p;
    int64_t H, W;
    unet__seg_emit_fn emit;
    void *emit_user;
    /* input rows [buf0, buf0 + have): PROB: prob > threshold; 3CLASS, DISTANCE: class 0/1/2
     * and the landscape the cores flood down (interior probability, distance) */
    uint8_t *mask;
    float *interior;
    int64_t cap, buf0, have;
    int64_t core0;        /* start of the next strip's core */
    uint32_t *glob;       /* provisional ids of rows [core0, core0 + strip + overlap) */
    uint32_t *carry;      /* giant ids of rows [core0, core0 + carry_rows) from the last window */
    int64_t carry_rows;
    uint32_t *wl, *comp, *out; /* window labels and components; emitted rows */
    uint32_t next_prov, nfinal;
    unet__labelmap final;    /* provisional -> final id, for objects still being written */
    unet__seg_stats stats;
};

int unet__seg_create(const unet__seg_params *p, int64_t height, int64_t width,
                     unet__seg_emit_fn emit, void *emit_user, unet__seg **out)
{
    *out = NULL;
    unet__seg *s = calloc(1, sizeof *s);
    if (!s)
        return unet__fail(UNET_E_NOMEM, "out of memory for the segmenter");
    s->p = *p;
    /* A strip or overlap past the image is the image: allocate no more than it needs. */
    s->p.strip = p->strip < height ? p->strip : height;
    s->p.overlap = p->overlap < height ? p->overlap : height;
    s->H = height;
    s->W = width;
    s->emit = emit;
    s->emit_user = emit_user;
    int64_t S = s->p.strip, O = s->p.overlap;
    s->cap = S + 2 * O;
    if (s->cap > height)
        s->cap = height;
    /* Every buffer's size, checked against the memory budget before any is allocated (the
     * products saturate, so absurd strips or widths are refused, never wrapped). */
    uint64_t win = unet__sat_mul((uint64_t)s->cap, (uint64_t)width);
    uint64_t gl = unet__sat_mul((uint64_t)(S + O), (uint64_t)width);
    uint64_t carry = unet__sat_mul((uint64_t)O, (uint64_t)width);
    uint64_t rows_out = unet__sat_mul((uint64_t)S, (uint64_t)width);
    /* per window pixel: mask, labels and components, the landscape of seeded kinds */
    uint64_t per_win = 1 + 2 * sizeof(uint32_t);
    if (p->kind != UNET__SEG_PROB)
        per_win += sizeof(float);
    uint64_t total = unet__sat_add(unet__sat_mul(win, per_win),
                                   unet__sat_mul(unet__sat_add(unet__sat_add(gl, carry), rows_out),
                                                 sizeof(uint32_t)));
    char what[120];
    snprintf(what, sizeof what, "segmentation in strips of %lld x %lld pixels",
             (long long)s->cap, (long long)width);
    int rc = unet__check_budget(total, what, "; use smaller strip_rows or strip_overlap");
    if (rc != UNET_OK) {
        free(s);
        return rc;
    }
    s->mask = malloc(win);
    s->interior = p->kind != UNET__SEG_PROB ? malloc(win * sizeof(float)) : NULL;
    s->glob = calloc(gl, sizeof *s->glob);
    s->carry = calloc(carry, sizeof *s->carry);
    s->wl = malloc(win * sizeof *s->wl);
    s->comp = malloc(win * sizeof *s->comp);
    s->out = malloc(rows_out * sizeof *s->out);
    s->stats.scratch_bytes = (size_t)total;
    rc = unet__labelmap_init(&s->final, 1024);
    if (rc == UNET_OK && (!s->mask || (p->kind != UNET__SEG_PROB && !s->interior) ||
                          !s->glob || !s->carry || !s->wl || !s->comp || !s->out))
        rc = unet__fail(UNET_E_NOMEM, "out of memory for segmentation strips of %lld x %lld "
                                      "pixels", (long long)s->cap, (long long)width);
    if (rc != UNET_OK) {
        unet__seg_free(s);
        return rc;
    }
    *out = s;
    return UNET_OK;
}

void unet__seg_free(unet__seg *s)
{
    if (!s)
        return;
    free(s->mask);
    free(s->interior);
    free(s->glob);
    free(s->carry);
    free(s->wl);
    free(s->comp);
    free(s->out);
    unet__labelmap_free(&s->final);
    free(s);
}

uint32_t unet__seg_count(const unet__seg *s)
{
    return s->nfinal;
}

const unet__seg_stats *unet__seg_get_stats(const unet__seg *s)
{
    return &s->stats;
}

/* Segment the window as a whole-image pass would: labels 1..n into s->wl. */
static int segment_window(unet__seg *s, const unet__grid *g, uint32_t *n)
{
    /* split false: the foreground's components (a 3-class output always floods its cores) */
    if (s->p.kind != UNET__SEG_3CLASS && !s->p.split)
        return unet__label_components(s->mask, g, s->p.rank, s->wl, n, s->p.threads);
    if (s->p.kind == UNET__SEG_PROB) {
        const double spacing[3] = {1, 1, 1};
        return unet__watershed_mask(s->mask, g, spacing, s->p.min_distance, s->p.rank, s->wl, n,
                                    s->p.threads);
    }
    /* Cores and rims (3-class, distance), as classed when the rows arrived. */
    return unet__labels_from_cores(s->mask, s->interior, g, s->p.rank, s->wl, n, s->p.threads);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int new_id(unet__seg *s, uint32_t *id)
{
    if (s->next_prov >= UINT32_MAX - 2)
        return unet__fail(UNET_E_NOMEM, "more than 2^32 objects");
    *id = ++s->next_prov;
    return UNET_OK;
}

/* Giant objects (unowned foreground in the core) continue the id of the previous window's
 * object they overlap most in the carried rows, else take a new id. */
static int label_giants(unet__seg *s, int64_t w0, int64_t a, int64_t b, uint32_t n,
                        uint8_t *giant, uint32_t *gid)
{
    int64_t W = s->W;
    for (int64_t y = a; y < b; y++)
        for (int64_t x = 0; x < W; x++) {
            uint32_t l = s->wl[(y - w0) * W + x];
            if (l && s->glob[(y - a) * W + x] == 0)
                giant[l] = 1;
        }
    size_t npairs = 0, cap = 0;
    uint64_t *pairs = NULL;
    for (int64_t i = 0; i < s->carry_rows * W; i++) {
        uint32_t c = s->carry[i], l = s->wl[(a - w0) * W + i];
        if (!c || !l || !giant[l])
            continue;
        if (npairs == cap) {
            cap = cap ? 2 * cap : 1024;
            uint64_t *p = realloc(pairs, cap * sizeof *p);
            if (!p) {
                free(pairs);
                return unet__fail(UNET_E_NOMEM, "out of memory matching objects at a seam");
            }
            pairs = p;
        }
        pairs[npairs++] = (uint64_t)l << 32 | c;
    }
    if (npairs) /* qsort must not see the NULL of an empty list */
        qsort(pairs, npairs, sizeof *pairs, cmp_u64);
    int64_t *best = calloc((size_t)n + 1, sizeof *best);
    if (!best) {
        free(pairs);
        return unet__fail(UNET_E_NOMEM, "out of memory matching objects at a seam");
    }
    for (size_t i = 0; i < npairs;) {
        size_t j = i;
        while (j < npairs && pairs[j] == pairs[i])
            j++;
        uint32_t l = (uint32_t)(pairs[i] >> 32);
        if ((int64_t)(j - i) > best[l]) { /* ties keep the smaller id (sorted first) */
            best[l] = (int64_t)(j - i);
            gid[l] = (uint32_t)pairs[i];
        }
        i = j;
    }
    free(pairs);
    free(best);
    int rc = UNET_OK;
    for (uint32_t l = 1; l <= n && rc == UNET_OK; l++)
        if (giant[l] && !gid[l]) {
            rc = new_id(s, &gid[l]);
            s->stats.giant_objects++;
        }
    return rc;
}

/* Final ids in raster order of first emitted pixel; then forget objects no longer pending. */
static int emit_core(unet__seg *s, int64_t a, int64_t b)
{
    int64_t W = s->W, n = (b - a) * W, rest = (s->p.strip + s->p.overlap) * W;
    int rc = UNET_OK;
    uint32_t last_v = 0, last_f = 0; /* runs of one object along a row: one lookup per run */
    for (int64_t i = 0; i < n && rc == UNET_OK; i++) {
        uint32_t v = s->glob[i], f = 0;
        if (v && v != DROPPED) {
            if (v == last_v) {
                f = last_f;
            } else {
                f = unet__labelmap_get(&s->final, v);
                if (!f)
                    rc = unet__labelmap_set(&s->final, v, f = ++s->nfinal);
                last_v = v;
                last_f = f;
            }
        }
        s->out[i] = f;
    }
    if (rc == UNET_OK) {
        rc = s->emit(s->emit_user, a, b - a, s->out);
        if (rc > 0)
            rc = unet__fail(UNET_E_IO, "writing label rows %lld..%lld failed (callback "
                                       "returned %d)", (long long)a, (long long)b, rc);
    }
    unet__labelmap keep;
    if (rc == UNET_OK)
        rc = unet__labelmap_init(&keep, s->final.len);
    if (rc != UNET_OK)
        return rc;
    for (int64_t i = n; i < rest && rc == UNET_OK; i++) {
        uint32_t v = s->glob[i], f;
        if (v && v != DROPPED && (f = unet__labelmap_get(&s->final, v)))
            rc = unet__labelmap_set(&keep, v, f);
    }
    for (int64_t i = 0; i < s->carry_rows * W && rc == UNET_OK; i++) {
        uint32_t v = s->carry[i], f;
        if (v && (f = unet__labelmap_get(&s->final, v)))
            rc = unet__labelmap_set(&keep, v, f);
    }
    unet__labelmap_free(&s->final);
    s->final = keep;
    return rc;
}

static int process_strip(unet__seg *s)
{
    int64_t W = s->W, H = s->H, S = s->p.strip, O = s->p.overlap;
    int64_t a = s->core0, b = a + S < H ? a + S : H;
    int64_t w0 = a - O > 0 ? a - O : 0, w1 = b + O < H ? b + O : H, h = w1 - w0;
    unet__grid g = {1, h, W, h * W};
    if (h > s->stats.window_rows)
        s->stats.window_rows = h;
    s->stats.strips++;
    uint32_t n, ncomp;
    int rc = segment_window(s, &g, &n);
    if (rc == UNET_OK)
        rc = unet__label_components(s->mask, &g, s->p.rank, s->comp, &ncomp, s->p.threads);
    if (rc != UNET_OK)
        return rc;
    /* Row extent of every component, component and area of every object. */
    int64_t *top = malloc(((size_t)ncomp + 1) * sizeof *top);
    int64_t *bottom = malloc(((size_t)ncomp + 1) * sizeof *bottom);
    uint32_t *comp_of = calloc((size_t)n + 1, sizeof *comp_of);
    int64_t *area = calloc((size_t)n + 1, sizeof *area);
    uint32_t *pid = calloc((size_t)n + 1, sizeof *pid);
    uint32_t *gid = calloc((size_t)n + 1, sizeof *gid);
    uint8_t *giant = calloc((size_t)n + 1, 1);
    uint8_t *owned = calloc((size_t)ncomp + 1, 1);
    if (!top || !bottom || !comp_of || !area || !pid || !gid || !giant || !owned) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for %u objects of a strip", n);
        goto done;
    }
    for (uint32_t c = 0; c <= ncomp; c++) {
        top[c] = INT64_MAX;
        bottom[c] = -1;
    }
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < W; x++) {
            uint32_t c = s->comp[y * W + x], l = s->wl[y * W + x];
            if (c) {
                top[c] = y < top[c] ? y : top[c];
                bottom[c] = y;
            }
            if (l) {
                comp_of[l] = c;
                area[l]++;
            }
        }
    /* A component is owned here when its top row is in the core and it ends inside the
     * window (not on a cut edge): it is then whole, with the background around it. */
    for (uint32_t c = 1; c <= ncomp; c++) {
        bool complete = (top[c] > 0 || w0 == 0) && (bottom[c] < h - 1 || w1 == H);
        owned[c] = complete && w0 + top[c] >= a && w0 + top[c] < b;
    }
    for (uint32_t l = 1; l <= n && rc == UNET_OK; l++)
        if (owned[comp_of[l]] && area[l] >= s->p.min_size)
            rc = new_id(s, &pid[l]);
    if (rc != UNET_OK)
        goto done;
    for (int64_t y = a; y < w1; y++)
        for (int64_t x = 0; x < W; x++) {
            int64_t i = (y - w0) * W + x;
            if (s->comp[i] && owned[s->comp[i]])
                s->glob[(y - a) * W + x] = s->wl[i] ? (pid[s->wl[i]] ? pid[s->wl[i]] : DROPPED)
                                                    : DROPPED;
        }
    rc = label_giants(s, w0, a, b, n, giant, gid);
    if (rc != UNET_OK)
        goto done;
    for (int64_t y = a; y < b; y++)
        for (int64_t x = 0; x < W; x++) {
            uint32_t l = s->wl[(y - w0) * W + x], *gp = &s->glob[(y - a) * W + x];
            if (l && *gp == 0)
                *gp = gid[l];
        }
    /* Carry the giant ids of the rows below the core to the next strip. */
    s->carry_rows = w1 - b;
    for (int64_t i = 0; i < s->carry_rows * W; i++) {
        uint32_t l = s->wl[(b - w0) * W + i];
        s->carry[i] = l && giant[l] ? gid[l] : 0;
    }
    rc = emit_core(s, a, b);
    if (rc != UNET_OK)
        goto done;
    /* Slide: the glob rows move up by the core; the input keeps `overlap` rows above b. */
    int64_t keep = S + O - (b - a);
    memmove(s->glob, s->glob + (b - a) * W, (size_t)(keep * W) * sizeof *s->glob);
    memset(s->glob + keep * W, 0, (size_t)((b - a) * W) * sizeof *s->glob);
    s->core0 = b;
    int64_t nb0 = b - O > 0 ? b - O : 0, drop = nb0 - s->buf0;
    if (drop > 0) {
        s->have -= drop;
        memmove(s->mask, s->mask + drop * W, (size_t)(s->have * W));
        if (s->interior)
            memmove(s->interior, s->interior + drop * W,
                    (size_t)(s->have * W) * sizeof(float));
        s->buf0 = nb0;
    }
done:
    free(top);
    free(bottom);
    free(comp_of);
    free(area);
    free(pid);
    free(gid);
    free(giant);
    free(owned);
    return rc;
}

/* Rows [y, y+h) of the network output into mask (and interior) rows at the buffer's end. */
static int convert_rows(unet__seg *s, int64_t y, int64_t h, int64_t i0, int64_t take,
                        const float *rows)
{
    int64_t W = s->W, plane = h * W;
    uint8_t *m = s->mask + s->have * W;
    for (int64_t r = 0; r < take; r++)
        for (int64_t x = 0; x < W; x++) {
            int64_t i = (i0 + r) * W + x;
            if (s->p.kind == UNET__SEG_PROB) {
                if (isnan(rows[i]))
                    return unet__fail(UNET_E_INVALID_ARG, "probability at (y %lld, x %lld) is "
                                      "NaN", (long long)(y + i0 + r), (long long)x);
            } else if (s->p.kind == UNET__SEG_DISTANCE) {
                if (isnan(rows[i]) || isnan(rows[plane + i]))
                    return unet__fail(UNET_E_INVALID_ARG, "foreground or distance at (y %lld, "
                                      "x %lld) is NaN", (long long)(y + i0 + r), (long long)x);
                s->interior[(s->have + r) * W + x] = rows[plane + i]; /* order as sigmoid's */
            } else {
                if (isnan(rows[i]) || isnan(rows[plane + i]) || isnan(rows[2 * plane + i]))
                    return unet__fail(UNET_E_INVALID_ARG, "3-class probability at (y %lld, x "
                                      "%lld) is NaN", (long long)(y + i0 + r), (long long)x);
                s->interior[(s->have + r) * W + x] = rows[plane + i];
            }
            m[r * W + x] = unet__seg_class(&s->p, rows, plane, i);
        }
    return UNET_OK;
}

int unet__seg_push(unet__seg *s, int64_t y, int64_t h, const float *rows)
{
    if (y != s->buf0 + s->have || y + h > s->H)
        return unet__fail(UNET_E_INTERNAL, "segmentation rows %lld..%lld arrive out of order",
                          (long long)y, (long long)(y + h));
    int64_t done = 0;
    while (done < h) {
        int64_t take = s->cap - s->have < h - done ? s->cap - s->have : h - done;
        if (take <= 0)
            return unet__fail(UNET_E_INTERNAL, "segmentation strip buffer overflow");
        int rc = convert_rows(s, y, h, done, take, rows);
        if (rc != UNET_OK)
            return rc;
        s->have += take;
        done += take;
        for (;;) {
            int64_t b = s->core0 + s->p.strip < s->H ? s->core0 + s->p.strip : s->H;
            int64_t need = b + s->p.overlap < s->H ? b + s->p.overlap : s->H;
            if (s->core0 >= s->H || s->buf0 + s->have < need)
                break;
            if ((rc = process_strip(s)) != UNET_OK)
                return rc;
        }
    }
    return UNET_OK;
}
