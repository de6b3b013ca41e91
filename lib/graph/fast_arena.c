/*
 * The fast executor's memory (see fast_impl.h): per call, the sizes of every tensor, their
 * first-fit placement in one arena by lifetime, the scratch beside them, and the arena itself
 * (kept with the plan for the next call when not too large).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/status.h"
#include "graph/fast_impl.h"

int64_t unet__fast_wino_group(int nblk, int ncob, int64_t tiles, int threads, int pt)
{
    const int64_t per_tile =
        WINO_POS * (int64_t)(nblk + ncob) * UNET__BLK * (int64_t)sizeof(float);
    int64_t T = WINO_BUDGET / per_tile / pt * pt;
    T = imin64(imax64(T, pt), WINO_GROUP_MAX_TILES * (int64_t)pt);
    while (T > pt && cdiv64(tiles, T) < WINO_GROUPS_PER_THREAD * threads)
        T -= pt;
    return T;
}

int64_t unet__fast_wino_plane(int nb, int64_t T)
{
    return (int64_t)nb * T * UNET__BLK + UNET__BLK;
}

/* Geometry of a storage's tensor (data set later). */
static unet__btensor store_tensor(const struct unet__fast_impl *im, const run *r, int s,
                                  size_t *bytes)
{
    const int p = im->stores[s].node;
    unet__btensor t;
    const int64_t P = im->border;
    t.c = im->g->nodes[p].channels;
    t.lanes = im->nodes[p].lanes;
    t.nblk = cdiv(t.c, t.lanes);
    t.h = r->h[p];
    t.w = r->w[p];
    t.border = (int)P;
    t.rstride = (t.w + 2 * P) * t.lanes;
    t.bstride = cdiv64((t.h + 2 * P) * t.rstride, FAST_ALIGN_FLOATS) * FAST_ALIGN_FLOATS;
    t.nstride = t.bstride * t.nblk;
    t.data = NULL;
    *bytes = align_up((size_t)(r->n * t.nstride) * sizeof(float));
    return t;
}

/* The cached arena if it is free and large enough, else a new allocation (huge pages when
 * large). */
char *unet__fast_arena_get(struct unet__fast_impl *im, size_t bytes, size_t *got)
{
    char *p = NULL;
    pthread_mutex_lock(&im->lock);
    if (im->cache && im->cache_bytes >= bytes) {
        p = im->cache;
        *got = im->cache_bytes;
        im->cache = NULL;
    }
    pthread_mutex_unlock(&im->lock);
    if (p)
        return p;
    /* posix_memalign, freed with free() (arena_put, unet__fast_plan_clear). */
    const size_t align = bytes < ARENA_HUGE_MIN ? FAST_ALIGN : ARENA_HUGE_ALIGN;
    const size_t rounded = (bytes + align - 1) / align * align;
    if (rounded < bytes || posix_memalign((void **)&p, align, rounded) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align > FAST_ALIGN)
        madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    *got = rounded;
    return p;
}

/* Keep the arena for the next call when it is the largest seen and not too large. */
void unet__fast_arena_put(struct unet__fast_impl *im, char *p, size_t bytes)
{
    if (bytes <= ARENA_CACHE_MAX) {
        pthread_mutex_lock(&im->lock);
        if (!im->cache || im->cache_bytes < bytes) {
            char *old = im->cache;
            im->cache = p;
            im->cache_bytes = bytes;
            p = old;
        }
        pthread_mutex_unlock(&im->lock);
    }
    free(p);
}

size_t unet__fast_layout_meta(const struct unet__fast_impl *im)
{
    const size_t count = (size_t)im->g->count;
    return align_up(count * 3 * sizeof(int64_t)) + align_up(count * sizeof(value)) +
           align_up((size_t)im->nstore * sizeof(placed));
}

int unet__fast_layout(const struct unet__fast_impl *im, const unet__kernels *K,
                      const unet__exec_opts *opts, int64_t n, int64_t h, int64_t w, int threads,
                      char *meta, run *r, placed **plp, size_t *arena_bytes,
                      size_t *gn_stat_bytes, size_t *total)
{
    const unet__graph *g = im->g;
    const int count = g->count;
    memset(r, 0, sizeof *r);
    r->im = im;
    r->K = K;
    r->precise = opts->precise;
    r->threads = threads;
    r->n = n;
    r->h = (int64_t *)meta;
    r->w = r->h + count;
    r->scale = r->w + count;
    r->val = (value *)(meta + align_up((size_t)count * 3 * sizeof(int64_t)));
    placed *pl = (placed *)((char *)r->val + align_up((size_t)count * sizeof(value)));
    *plp = pl;
    r->origin_y = opts->origin_y;
    r->origin_x = opts->origin_x;
    int64_t oh, ow;
    if (unet__graph_axis_size(g, h, &oh, r->h) != UNET_OK ||
        unet__graph_axis_size(g, w, &ow, r->w) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "input %lldx%lld does not fit the network",
                          (long long)h, (long long)w);
    unet__graph_node_scales(g, r->scale);

    /* Storages: sizes, then first-fit placement by decreasing size among overlapping
     * lifetimes. */
    size_t arena = 0;
    for (int s = 0; s < im->nstore; s++) {
        size_t bytes;
        store_tensor(im, r, s, &bytes);
        pl[s].bytes = bytes;
        pl[s].first = im->stores[s].first;
        pl[s].last = im->stores[s].last;
        pl[s].off = (size_t)-1;
    }
    for (int done = 0; done < im->nstore; done++) {
        int best = -1;
        for (int s = 0; s < im->nstore; s++)
            if (pl[s].off == (size_t)-1 && (best < 0 || pl[s].bytes > pl[best].bytes))
                best = s;
        size_t off = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int s = 0; s < im->nstore; s++) {
                if (s == best || pl[s].off == (size_t)-1 || pl[s].last < pl[best].first ||
                    pl[best].last < pl[s].first)
                    continue;
                if (off < pl[s].off + pl[s].bytes && pl[s].off < off + pl[best].bytes) {
                    off = pl[s].off + pl[s].bytes;
                    moved = 1;
                }
            }
        }
        pl[best].off = off;
        if (off + pl[best].bytes > arena)
            arena = off + pl[best].bytes;
    }
    /* Scratch: per thread (pointers, patch, Winograd V and M), group-norm statistics. */
    size_t wino_bytes = 0;
    int64_t gn_groups = 0, gn_width = 0;
    for (int i = 0; i < count; i++) {
        const fnode *f = &im->nodes[i];
        const unet__node *nd = &g->nodes[i];
        if (f->kind == K_CONV && f->wino && !r->precise) {
            const int ncob = cdiv(nd->channels, UNET__BLK);
            /* at most: the grid may start up to WINO_OUT - 1 pixels before the tile */
            const int64_t tiles = n * cdiv64(r->h[i] + WINO_OUT - 1, WINO_OUT) *
                                  cdiv64(r->w[i] + WINO_OUT - 1, WINO_OUT);
            const int64_t T = unet__fast_wino_group(f->nblk, ncob, tiles, threads, K->pix_tile);
            const size_t b = WINO_POS *
                             (size_t)(unet__fast_wino_plane(f->nblk, T) +
                                      unet__fast_wino_plane(ncob, T)) *
                             sizeof(float);
            if (b > wino_bytes)
                wino_bytes = b;
        }
        if (f->kind == K_GN) {
            gn_groups = imax64(gn_groups, nd->groups);
            gn_width = imax64(gn_width, blk_floats(nd->channels));
        }
    }
    *gn_stat_bytes = align_up((size_t)(n * gn_groups) * 2 * sizeof(double));
    const size_t gn_bytes = *gn_stat_bytes + align_up((size_t)(n * gn_width) * 2 * sizeof(float));
    const int mb = im->max_nblk > 0 ? im->max_nblk : 1;
    /* Carved in this order by thread_scratch (exec_fast.c). */
    r->thread_bytes = align_up((size_t)mb * sizeof(float *)) +
                      align_up((size_t)mb * sizeof(int64_t)) +
                      align_up(WINO_POS * UNET__BLK * sizeof(float)) + align_up(wino_bytes);
    *arena_bytes = arena;
    *total = arena + r->thread_bytes * (size_t)threads + align_up(gn_bytes);
    return UNET_OK;
}

void unet__fast_bind_values(const struct unet__fast_impl *im, run *r, const placed *pl,
                            char *base)
{
    const unet__graph *g = im->g;
    /* Tensors of the storages, then aliases, concatenations and views. */
    for (int i = 0; i < g->count; i++) {
        const fnode *f = &im->nodes[i];
        const unet__node *nd = &g->nodes[i];
        value *v = &r->val[i];
        if (unet__fast_is_producer(f->kind)) {
            size_t bytes;
            unet__btensor t = store_tensor(im, r, f->store, &bytes);
            t.data = (float *)(base + pl[f->store].off) + im->border * t.rstride +
                     im->border * t.lanes;
            v->nseg = 1;
            v->seg[0] = t;
        } else if (f->kind == K_ALIAS) {
            *v = r->val[f->src];
        } else if (f->kind == K_CONCAT) {
            const value *a = &r->val[nd->in[0]], *b = &r->val[nd->in[1]];
            v->nseg = a->nseg + b->nseg;
            memcpy(v->seg, a->seg, (size_t)a->nseg * sizeof(unet__btensor));
            memcpy(v->seg + a->nseg, b->seg, (size_t)b->nseg * sizeof(unet__btensor));
        } else { /* K_VIEW */
            unet__btensor t = r->val[nd->in[0]].seg[0];
            t.data = unet__bt_at(&t, 0, 0, (t.h - r->h[i]) / 2, (t.w - r->w[i]) / 2);
            t.h = r->h[i];
            t.w = r->w[i];
            t.border = 0;
            v->nseg = 1;
            v->seg[0] = t;
        }
    }
}
