/* Placement of the wide scene's nuclei: dense clusters grown from a centre (each new nucleus
 * against a member, the candidate nearest the centre first), then scattered nuclei, some
 * against an earlier one. Where outlines overlap, a pixel belongs to the nucleus it is deeper
 * inside. A nucleus joins only if every nucleus it touches (itself included) then still has
 * - `keep` of its area (pixels outside the image count: the border does not eat into it), and
 * - at least the area of a d_lo disc inside the image, unless its label touches the border,
 * and its outline holds no more than a d_hi disc: so every label that does not touch the
 * border has an equivalent diameter in [d_lo, d_hi]. */
#include <stdlib.h>
#include <string.h>

#include "sample/scene.h"

enum { MAX_NUCLEI = 65535, MAX_TOUCH = 32 };

/* What each nucleus holds now (index = its id). */
typedef struct {
    int32_t full;   /* pixels, those outside the image included */
    int32_t inside; /* pixels in the image */
    int32_t edge;   /* pixels on the image's outermost rows and columns */
    int32_t keep;   /* fewest `full` allowed */
} holding;

typedef struct {
    const unet__wscene *s;
    uint16_t *owner;
    float *depth;
    unet__wnuc *all;
    holding *hold;
    int32_t least; /* pixels of a d_lo disc, rounded up */
    int count;
} placer;

static int holds_enough(const placer *P, const holding *h)
{
    return h->full >= h->keep && (h->edge > 0 || h->inside >= P->least);
}

/* Add n (its centre set) if it fits: 1 when added (owner, depth and holdings updated), else
 * 0. Pixels are counted first, and claimed only when every holding stays enough. */
static int try_place(placer *P, unet__wnuc *n)
{
    const int w = P->s->w, h = P->s->h;
    int cx = (int)floor(n->cx + 0.5), cy = (int)floor(n->cy + 0.5);
    if (cx >= 0 && cy >= 0 && cx < w && cy < h && P->owner[(size_t)cy * w + cx])
        return 0; /* centre inside another nucleus: far too much overlap, rejected cheaply */
    double ideal = M_PI * n->d * n->d / 4, hi = M_PI * P->s->d_hi * P->s->d_hi / 4;
    holding mine = {0, 0, 0, (int32_t)ceil(P->s->keep * ideal)};
    uint16_t ids[MAX_TOUCH];
    holding lost[MAX_TOUCH]; /* what each touched nucleus would lose */
    int32_t given = 0;       /* pixels that stay another's */
    /* The nucleus cannot keep enough once it has given away more than this. */
    const int32_t most_given = (int32_t)(1.1 * ideal) + 8 - mine.keep;
    int nn = 0, y0, y1;
    unet__wnuc_rows(n, 1, &y0, &y1);
    for (int y = y0; y < y1; y++) {
        int x0, x1;
        unet__wnuc_span(n, y, 1, &x0, &x1);
        for (int x = x0; x < x1; x++) {
            double rho = unet__wnuc_rho(n, x, y, 1);
            if (rho >= 1)
                continue;
            mine.full++;
            if (x < 0 || y < 0 || x >= w || y >= h)
                continue;
            int edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;
            size_t p = (size_t)y * w + x;
            uint16_t o = P->owner[p];
            if (o && rho >= P->depth[p]) { /* stays the other's */
                if (++given > most_given)
                    return 0;
                continue;
            }
            mine.inside++;
            mine.edge += edge;
            if (!o)
                continue;
            int i = 0;
            while (i < nn && ids[i] != o)
                i++;
            if (i == MAX_TOUCH)
                return 0; /* crowded beyond anything real */
            if (i == nn) {
                ids[nn] = o;
                memset(&lost[nn++], 0, sizeof lost[0]);
            }
            lost[i].full++;
            lost[i].inside++;
            lost[i].edge += edge;
            if (P->hold[o].full - lost[i].full < P->hold[o].keep)
                return 0;
        }
    }
    mine.full -= given;
    if (mine.inside == 0 || mine.full + given > hi || !holds_enough(P, &mine))
        return 0;
    for (int i = 0; i < nn; i++) {
        holding after = P->hold[ids[i]];
        after.full -= lost[i].full;
        after.inside -= lost[i].inside;
        after.edge -= lost[i].edge;
        if (!holds_enough(P, &after))
            return 0;
        lost[i] = after;
    }
    uint16_t id = (uint16_t)(P->count + 1);
    for (int i = 0; i < nn; i++)
        P->hold[ids[i]] = lost[i];
    P->hold[id] = mine;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < h; y++) {
        int x0, x1;
        unet__wnuc_span(n, y, 1, &x0, &x1);
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < w; x++) {
            size_t p = (size_t)y * w + x;
            double rho = unet__wnuc_rho(n, x, y, 1);
            if (rho < 1 && (!P->owner[p] || rho < P->depth[p])) {
                P->owner[p] = id;
                P->depth[p] = (float)rho;
            }
        }
    }
    P->all[P->count++] = *n;
    return 1;
}

/* A nucleus against `anchor`, its centre (r_a + r_n) x [0.8, 0.97] away. */
static void against(unet__rng *r, const unet__wnuc *anchor, unet__wnuc *n)
{
    double dir = unet__range(r, 0, 2 * M_PI);
    double dist = (anchor->req + n->req) * unet__range(r, 0.8, 0.97);
    n->cx = anchor->cx + dist * cos(dir);
    n->cy = anchor->cy + dist * sin(dir);
}

/* One dense cluster of up to `size` nuclei around a random centre; returns how many joined. */
static int grow_cluster(unet__rng *r, placer *P, int size)
{
    const unet__wscene *s = P->s;
    enum { CANDIDATES = 8 };
    double ccx = unet__range(r, 0.2, 0.8) * s->w, ccy = unet__range(r, 0.2, 0.8) * s->h;
    int first = P->count, members = 0;
    for (int t = 0; t < 50 && members == 0 && P->count < MAX_NUCLEI; t++) {
        unet__wnuc n;
        unet__wnuc_draw(r, s, unet__wscene_diameter(r, s), &n);
        n.cx = ccx + unet__range(r, -0.5, 0.5) * n.req;
        n.cy = ccy + unet__range(r, -0.5, 0.5) * n.req;
        members += try_place(P, &n);
    }
    for (long t = 0; members > 0 && members < size && t < 40L * size && P->count < MAX_NUCLEI;
         t++) {
        unet__wnuc cand[CANDIDATES];
        double score[CANDIDATES];
        int order[CANDIDATES];
        double d = unet__wscene_diameter(r, s);
        for (int c = 0; c < CANDIDATES; c++) {
            unet__wnuc_draw(r, s, d, &cand[c]);
            against(r, &P->all[first + (int)(unet__uni(r) * members)], &cand[c]);
            double dx = cand[c].cx - ccx, dy = cand[c].cy - ccy;
            score[c] = dx * dx + dy * dy;
            order[c] = c;
        }
        for (int i = 1; i < CANDIDATES; i++) /* nearest the centre first: a compact cluster */
            for (int j = i; j > 0 && score[order[j]] < score[order[j - 1]]; j--) {
                int tmp = order[j];
                order[j] = order[j - 1];
                order[j - 1] = tmp;
            }
        for (int c = 0; c < CANDIDATES; c++) {
            unet__wnuc *n = &cand[order[c]];
            if (n->cx < 0 || n->cy < 0 || n->cx >= s->w || n->cy >= s->h)
                continue; /* grow inwards at the border */
            if (try_place(P, n)) {
                members++;
                break;
            }
        }
    }
    return members;
}

int unet__place_nuclei(unet__rng *r, const unet__wscene *s, uint16_t *owner, float *depth,
                       unet__wnuc **all)
{
    placer P = {s, owner, depth, NULL, NULL, (int32_t)ceil(M_PI * s->d_lo * s->d_lo / 4), 0};
    int cap = s->target < MAX_NUCLEI ? s->target : MAX_NUCLEI;
    *all = NULL;
    if (cap == 0)
        return 0;
    P.all = malloc(sizeof *P.all * (size_t)cap);
    P.hold = malloc(sizeof *P.hold * ((size_t)cap + 1));
    if (!P.all || !P.hold) {
        free(P.all);
        free(P.hold);
        return -1;
    }
    for (int c = 0; c < s->clusters && P.count < cap; c++) {
        int size = s->cluster_size < cap - P.count ? s->cluster_size : cap - P.count;
        grow_cluster(r, &P, size);
    }
    for (long t = 30L * (cap - P.count) + 200; t > 0 && P.count < cap; t--) {
        unet__wnuc n;
        unet__wnuc_draw(r, s, unet__wscene_diameter(r, s), &n);
        if (P.count > 0 && unet__uni(r) < s->pair) {
            against(r, &P.all[(int)(unet__uni(r) * P.count)], &n);
        } else {
            n.cx = unet__range(r, -n.req, s->w + n.req);
            n.cy = unet__range(r, -n.req, s->h + n.req);
        }
        try_place(&P, &n);
    }
    free(P.hold);
    *all = P.all;
    return P.count;
}
