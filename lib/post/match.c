/*
 * Matching predicted instances to true ones at an IoU threshold. Overlaps are counted in one
 * pass into a hash of (pred, truth) pairs; pairs at or above the threshold are edges of a
 * bipartite graph, and a maximum matching (greedy by IoU, then augmenting paths) counts the
 * true positives. At thresholds >= 0.5 an object overlaps at most one partner that much, so
 * the greedy start is already maximal there; below 0.5 the augmenting paths matter.
 */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "post/post.h"

typedef struct pairmap {
    uint64_t *keys; /* (pred id << 32) | truth id; 0 empty */
    int64_t *counts;
    size_t cap, len;
} pairmap;

static size_t pslot(const pairmap *m, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 24) & (m->cap - 1);
}

static int pairmap_init(pairmap *m, size_t cap)
{
    m->keys = calloc(cap, sizeof *m->keys);
    m->counts = calloc(cap, sizeof *m->counts);
    m->cap = cap;
    m->len = 0;
    return m->keys && m->counts ? UNET_OK : UNET_E_NOMEM;
}

static void pairmap_free(pairmap *m)
{
    free(m->keys);
    free(m->counts);
}

static int pairmap_add(pairmap *m, uint64_t key, int64_t n)
{
    if ((m->len + 1) * 2 > m->cap) {
        pairmap b;
        if (pairmap_init(&b, m->cap * 2) != UNET_OK) {
            pairmap_free(&b);
            return UNET_E_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = pslot(&b, m->keys[i]);
                while (b.keys[j])
                    j = (j + 1) & (b.cap - 1);
                b.keys[j] = m->keys[i];
                b.counts[j] = m->counts[i];
            }
        b.len = m->len;
        pairmap_free(m);
        *m = b;
    }
    size_t i = pslot(m, key);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->len++;
    }
    m->counts[i] += n;
    return UNET_OK;
}

typedef struct edge {
    uint32_t p, t;
    double iou;
} edge;

static int cmp_edge(const void *pa, const void *pb)
{
    const edge *a = pa, *b = pb;
    if (a->iou != b->iou)
        return a->iou > b->iou ? -1 : 1;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

static int count_areas(const uint32_t *labels, int64_t n, unet__labelmap *map, int64_t **area)
{
    /* Ids first, areas after: the map gives ids in order of first appearance. */
    uint32_t last = 0, id = 0;
    size_t cap = 1024;
    int64_t *a = calloc(cap, sizeof *a);
    if (!a)
        return UNET_E_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        uint32_t v = labels[i];
        if (!v)
            continue;
        if (v != last) {
            if (!(id = unet__labelmap_put(map, v))) {
                free(a);
                return UNET_E_NOMEM;
            }
            last = v;
            if (id >= cap) {
                int64_t *b = realloc(a, cap * 2 * sizeof *b);
                if (!b) {
                    free(a);
                    return UNET_E_NOMEM;
                }
                memset(b + cap, 0, cap * sizeof *b);
                a = b;
                cap *= 2;
            }
        }
        a[id]++;
    }
    *area = a;
    return UNET_OK;
}

int unet__instance_match(const uint32_t *pred, const uint32_t *truth, const unet__grid *g,
                         double iou_threshold, int64_t *tp, int64_t *fp, int64_t *fn)
{
    *tp = *fp = *fn = 0;
    unet__labelmap mp = {0}, mt = {0};
    pairmap pairs = {0};
    int64_t *ap = NULL, *at = NULL;
    edge *edges = NULL;
    uint32_t *match_p = NULL, *match_t = NULL, *start = NULL, *adj = NULL, *stack = NULL,
             *pos = NULL, *seen = NULL;
    int rc = UNET_E_NOMEM;
    if (unet__labelmap_init(&mp, 1024) || unet__labelmap_init(&mt, 1024) ||
        pairmap_init(&pairs, 4096) || count_areas(pred, g->n, &mp, &ap) ||
        count_areas(truth, g->n, &mt, &at))
        goto done;
    /* Overlaps: runs of one (pred, truth) pair are counted before touching the hash. */
    uint64_t run_key = 0;
    int64_t run = 0;
    uint32_t lp = 0, lt = 0, ip = 0, it = 0;
    for (int64_t i = 0; i < g->n; i++) {
        uint32_t p = pred[i], t = truth[i];
        if (!p || !t)
            continue;
        if (p != lp) {
            ip = unet__labelmap_get(&mp, p);
            lp = p;
        }
        if (t != lt) {
            it = unet__labelmap_get(&mt, t);
            lt = t;
        }
        uint64_t key = (uint64_t)ip << 32 | it;
        if (key != run_key) {
            if (run && pairmap_add(&pairs, run_key, run) != UNET_OK)
                goto done;
            run_key = key;
            run = 0;
        }
        run++;
    }
    if (run && pairmap_add(&pairs, run_key, run) != UNET_OK)
        goto done;

    size_t np = mp.len, nt = mt.len, ne = 0;
    edges = malloc((pairs.len ? pairs.len : 1) * sizeof *edges);
    if (!edges)
        goto done;
    for (size_t i = 0; i < pairs.cap; i++) {
        if (!pairs.keys[i])
            continue;
        uint32_t p = (uint32_t)(pairs.keys[i] >> 32), t = (uint32_t)pairs.keys[i];
        int64_t inter = pairs.counts[i];
        double iou = (double)inter / (double)(ap[p] + at[t] - inter);
        if (iou >= iou_threshold)
            edges[ne++] = (edge){p, t, iou};
    }
    qsort(edges, ne, sizeof *edges, cmp_edge);

    match_p = calloc(np + 1, sizeof *match_p);
    match_t = calloc(nt + 1, sizeof *match_t);
    start = calloc(np + 2, sizeof *start);
    adj = malloc((ne ? ne : 1) * sizeof *adj);
    stack = malloc((np + 1) * sizeof *stack);
    pos = malloc((np + 1) * sizeof *pos);
    seen = calloc(nt + 1, sizeof *seen);
    if (!match_p || !match_t || !start || !adj || !stack || !pos || !seen)
        goto done;
    int64_t matched = 0;
    for (size_t e = 0; e < ne; e++) { /* greedy, best IoU first */
        start[edges[e].p + 1]++;
        if (!match_p[edges[e].p] && !match_t[edges[e].t]) {
            match_p[edges[e].p] = edges[e].t;
            match_t[edges[e].t] = edges[e].p;
            matched++;
        }
    }
    for (size_t p = 1; p <= np + 1; p++)
        start[p] += start[p - 1];
    {
        uint32_t *fill = calloc(np + 1, sizeof *fill);
        if (!fill)
            goto done;
        for (size_t e = 0; e < ne; e++) {
            uint32_t p = edges[e].p;
            adj[start[p] + fill[p]++] = edges[e].t;
        }
        free(fill);
    }
    /* Augmenting paths from every unmatched prediction (iterative depth-first search). */
    uint32_t stamp = 0;
    for (uint32_t root = 1; root <= np; root++) {
        if (match_p[root] || start[root] == start[root + 1])
            continue;
        stamp++;
        size_t depth = 0;
        stack[0] = root;
        pos[0] = start[root];
        while (true) {
            uint32_t p = stack[depth];
            if (pos[depth] == start[p + 1]) {
                if (depth == 0)
                    break;
                depth--;
                continue;
            }
            uint32_t t = adj[pos[depth]++];
            if (seen[t] == stamp)
                continue;
            seen[t] = stamp;
            if (!match_t[t]) { /* flip the path */
                for (size_t k = depth + 1; k-- > 0;) {
                    uint32_t q = stack[k], old = match_p[q];
                    match_p[q] = t;
                    match_t[t] = q;
                    t = old;
                }
                matched++;
                break;
            }
            depth++;
            stack[depth] = match_t[t];
            pos[depth] = start[match_t[t]];
        }
    }
    *tp = matched;
    *fp = (int64_t)np - matched;
    *fn = (int64_t)nt - matched;
    rc = UNET_OK;
done:
    if (rc != UNET_OK)
        rc = unet__fail(rc, "out of memory matching instances");
    unet__labelmap_free(&mp);
    unet__labelmap_free(&mt);
    pairmap_free(&pairs);
    free(ap);
    free(at);
    free(edges);
    free(match_p);
    free(match_t);
    free(start);
    free(adj);
    free(stack);
    free(pos);
    free(seen);
    return rc;
}
