/*
 * Connected components with union-find over provisional labels. The image is a sequence of
 * lines (rows of every plane); threads label bands of consecutive lines on their own, with
 * labels local to the band, then the bands are stitched along their first lines and every
 * provisional label is mapped to its final number.
 *
 * Roots are always the smallest label of their set, and provisional labels grow in raster
 * order, so a root is the label of its component's first pixel: numbering roots in order
 * gives raster order without a second look at the image.
 */
#include <stdlib.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

#define MIN_BAND_LINES 16

typedef struct band {
    int64_t line0, line1;
    uint32_t *parent; /* parent[0] unused; local labels 1..count */
    uint32_t count, cap;
    uint64_t offset;  /* global label = offset + local */
    int status;
} band;

static uint32_t find(uint32_t *parent, uint32_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]]; /* path halving */
        a = parent[a];
    }
    return a;
}

static uint32_t unite(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a < b) {
        parent[b] = a;
        return a;
    }
    parent[a] = b;
    return b;
}

static uint32_t new_label(band *b)
{
    if (b->count + 1 >= b->cap) {
        if (b->cap >= UINT32_MAX / 2) {
            b->status = UNET_E_UNSUPPORTED;
            return 0;
        }
        uint32_t cap = b->cap ? b->cap * 2 : 1024;
        uint32_t *p = realloc(b->parent, (size_t)cap * sizeof *p);
        if (!p) {
            b->status = UNET_E_NOMEM;
            return 0;
        }
        b->parent = p;
        b->cap = cap;
    }
    b->count++;
    b->parent[b->count] = b->count;
    return b->count;
}

/* Lines before a line that hold neighbours: (dz, dy) and how far along x they reach. */
typedef struct causal {
    int n;
    int dz[4], dy[4], ext[4];
} causal;

static void make_causal(int rank, causal *c)
{
    static const int dz[4] = {0, -1, -1, -1}, dy[4] = {-1, -1, 0, 1};
    c->n = 0;
    for (int i = 0; i < 4; i++) {
        int left = rank - abs(dz[i]) - abs(dy[i]);
        if (left < 0)
            continue;
        c->dz[c->n] = dz[i];
        c->dy[c->n] = dy[i];
        c->ext[c->n] = left > 0 ? 1 : 0;
        c->n++;
    }
}

static void label_band(const uint8_t *mask, const unet__grid *g, const causal *c, band *b,
                       uint32_t *labels)
{
    for (int64_t line = b->line0; line < b->line1 && b->status == UNET_OK; line++) {
        int64_t z = line / g->h, y = line % g->h;
        const uint8_t *row = mask + line * g->w;
        uint32_t *out = labels + line * g->w;
        for (int64_t x = 0; x < g->w; x++) {
            if (!row[x]) {
                out[x] = 0;
                continue;
            }
            uint32_t lab = x > 0 && row[x - 1] ? out[x - 1] : 0;
            for (int k = 0; k < c->n; k++) {
                int64_t zz = z + c->dz[k], yy = y + c->dy[k];
                if (zz < 0 || yy < 0 || yy >= g->h)
                    continue;
                int64_t nl = zz * g->h + yy;
                if (nl < b->line0) /* another band's: stitched later */
                    continue;
                const uint8_t *nrow = mask + nl * g->w;
                const uint32_t *nout = labels + nl * g->w;
                int64_t x0 = x - c->ext[k] < 0 ? 0 : x - c->ext[k];
                int64_t x1 = x + c->ext[k] >= g->w ? g->w - 1 : x + c->ext[k];
                for (int64_t xx = x0; xx <= x1; xx++)
                    if (nrow[xx])
                        lab = lab ? unite(b->parent, lab, nout[xx]) : nout[xx];
            }
            if (!lab && !(lab = new_label(b)))
                return;
            out[x] = lab;
        }
    }
}

/* The two parallel loops, one band per chunk: labelling, then the final numbers. */
typedef struct bands_job {
    const uint8_t *mask;
    const unet__grid *g;
    const causal *c;
    band *bands;
    const uint32_t *final;
    uint32_t *labels;
} bands_job;

static void label_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const bands_job *j = ctx;
    for (int64_t i = b; i < e; i++)
        label_band(j->mask, j->g, j->c, &j->bands[i], j->labels);
}

static void number_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const bands_job *j = ctx;
    for (int64_t i = b; i < e; i++) {
        const uint32_t *base = j->final + j->bands[i].offset;
        uint32_t *labels = j->labels;
        for (int64_t p = j->bands[i].line0 * j->g->w; p < j->bands[i].line1 * j->g->w; p++)
            if (labels[p])
                labels[p] = base[labels[p]];
    }
}

int unet__label_components(const uint8_t *mask, const unet__grid *g, int rank,
                           uint32_t *labels, uint32_t *count, int threads)
{
    *count = 0;
    int64_t lines = g->d * g->h;
    int64_t nb = lines / MIN_BAND_LINES;
    if (nb > threads)
        nb = threads;
    if (nb < 1)
        nb = 1;
    int64_t per = (lines + nb - 1) / nb;
    nb = (lines + per - 1) / per;
    band *bands = calloc((size_t)nb, sizeof *bands);
    if (!bands)
        return unet__fail(UNET_E_NOMEM, "out of memory labelling components");
    for (int64_t i = 0; i < nb; i++) {
        bands[i].line0 = i * per;
        bands[i].line1 = (i + 1) * per < lines ? (i + 1) * per : lines;
    }
    causal c;
    make_causal(rank, &c);

    bands_job job = {mask, g, &c, bands, NULL, labels};
    unet__pool_for(threads, nb, 1, label_chunk, &job);

    int rc = UNET_OK;
    uint64_t total = 0;
    for (int64_t i = 0; i < nb; i++) {
        if (bands[i].status != UNET_OK && rc == UNET_OK)
            rc = bands[i].status;
        bands[i].offset = total;
        total += bands[i].count;
    }
    uint32_t *parent = NULL, *final = NULL;
    if (rc == UNET_E_NOMEM) {
        rc = unet__fail(rc, "out of memory labelling components");
        goto done;
    }
    if (rc != UNET_OK || total >= UINT32_MAX) {
        rc = unet__fail(UNET_E_UNSUPPORTED, "more than 2^32 - 2 provisional labels: the image "
                                            "is too large or too fragmented for uint32 labels");
        goto done;
    }
    parent = malloc((size_t)(total + 1) * sizeof *parent);
    final = malloc((size_t)(total + 1) * sizeof *final);
    if (!parent || !final) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for %llu provisional labels",
                        (unsigned long long)total);
        goto done;
    }
    parent[0] = 0;
    for (int64_t i = 0; i < nb; i++)
        for (uint32_t l = 1; l <= bands[i].count; l++)
            parent[bands[i].offset + l] = (uint32_t)bands[i].offset + bands[i].parent[l];

    /* Stitch each band to the lines before it: only its first lines have such neighbours. */
    for (int64_t i = 1; i < nb; i++) {
        int64_t reach = bands[i].line0 + g->h + 2;
        for (int64_t line = bands[i].line0; line < bands[i].line1 && line < reach; line++) {
            int64_t z = line / g->h, y = line % g->h;
            const uint8_t *row = mask + line * g->w;
            const uint32_t *out = labels + line * g->w;
            for (int k = 0; k < c.n; k++) {
                int64_t zz = z + c.dz[k], yy = y + c.dy[k];
                if (zz < 0 || yy < 0 || yy >= g->h)
                    continue;
                int64_t nl = zz * g->h + yy;
                if (nl >= bands[i].line0)
                    continue;
                const band *nbnd = &bands[nl / per];
                const uint8_t *nrow = mask + nl * g->w;
                const uint32_t *nout = labels + nl * g->w;
                for (int64_t x = 0; x < g->w; x++) {
                    if (!row[x])
                        continue;
                    uint32_t a = (uint32_t)bands[i].offset + out[x];
                    int64_t x0 = x - c.ext[k] < 0 ? 0 : x - c.ext[k];
                    int64_t x1 = x + c.ext[k] >= g->w ? g->w - 1 : x + c.ext[k];
                    for (int64_t xx = x0; xx <= x1; xx++)
                        if (nrow[xx])
                            unite(parent, a, (uint32_t)nbnd->offset + nout[xx]);
                }
            }
        }
    }

    /* Roots in increasing order are components in raster order of their first pixel. */
    uint32_t next = 0;
    final[0] = 0;
    for (uint64_t l = 1; l <= total; l++) {
        uint32_t r = find(parent, (uint32_t)l);
        final[l] = r == l ? ++next : final[r];
    }
    job.final = final;
    unet__pool_for(threads, nb, 1, number_chunk, &job);
    *count = next;
done:
    for (int64_t i = 0; i < nb; i++)
        free(bands[i].parent);
    free(bands);
    free(parent);
    free(final);
    return rc;
}
