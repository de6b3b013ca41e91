/*
 * The fast executor (see exec_fast.h): plan building (node kinds, fusion, zero-copy values,
 * storage lifetimes, weight packing) and the forward pass (arena, one parallel region).
 */
#include "graph/exec_fast.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/status.h"
#include "kernels/blocked.h"
#include "kernels/pack.h"

#define MAXSEG 8
#define BN_EPS 1e-5
#define GN_EPS 1e-5
#define NONE_OFF ((size_t)-1)

/* Per-thread Winograd working set (transformed inputs and products of one tile group). */
#define WINO_BUDGET (1536 * 1024)
/* Input bytes a direct convolution task may sweep (its row band), to stay in L2. */
#define DIRECT_BAND (384 * 1024)
/* Arenas up to this size stay allocated with the plan for the next call (one per plan);
 * larger ones are returned to the system after each call. */
#define ARENA_CACHE_MAX ((size_t)1 << 30)
/* Arenas from this size on are 2 MiB aligned and asked for transparent huge pages (first
 * touch of 4 KiB pages costs as much as a convolution layer). */
#define ARENA_HUGE_MIN ((size_t)4 << 20)

enum kind {
    K_ALIAS,   /* the value of node `src` (dropout, folded batchnorm, fused activation) */
    K_CONCAT,  /* the blocks of in[0] then in[1], no copy */
    K_VIEW,    /* centre crop as a view */
    K_INPUT,   /* the packed network input */
    K_CONV,
    K_CONVT,
    K_MAXPOOL,
    K_AVGPOOL,
    K_NEAREST,
    K_BILINEAR,
    K_AFFINE,  /* act(x * scale + shift): standalone activation or unfolded batchnorm */
    K_GN,
    K_SOFTMAX,
    K_COPY     /* a concatenation or crop materialised into its own tensor */
};

typedef struct seg {
    int node; /* the producing node whose storage holds the data */
} seg;

typedef struct fnode {
    int kind;
    int src;       /* K_ALIAS */
    int act;       /* activation applied on store (K_CONV, K_CONVT, K_AFFINE, K_GN) */
    int store;     /* storage of the output (producing kinds), else -1 */
    int lanes;     /* lanes of the output storage */
    int nseg;      /* the value: segments in channel order */
    seg segs[MAXSEG];
    int last_read; /* last node reading a value that contains this node's storage */
    int nblk;      /* K_CONV / K_CONVT: input blocks over all segments */
    int in_lanes;
    int wino;      /* Winograd weights packed */
    size_t w_off, u_off, b_off, s_off; /* packed: direct weights, Winograd U, bias, scale */
} fnode;

typedef struct fstore {
    int node;        /* producer that defines the geometry */
    int first, last; /* lifetime in node indices (inclusive) */
} fstore;

struct unet__fast_impl {
    pthread_mutex_t lock;  /* guards the one-time analysis and packing, and the cache */
    atomic_int ready;
    char *cache;           /* an arena kept from an earlier call, or NULL */
    size_t cache_bytes;
    const unet__plan *ref;
    const unet__graph *g;
    fnode *nodes;
    fstore *stores;
    int nstore;
    int border;   /* zero border of every stored tensor: the largest conv padding */
    int max_nblk; /* largest input block count of a conv (pointer scratch) */
    float *packed;
};

static int cdiv(int a, int b) { return (a + b - 1) / b; }
static int64_t cdiv64(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax64(int64_t a, int64_t b) { return a > b ? a : b; }
/* Floor division and modulo for possibly negative canvas origins. */
static int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t fmod4(int64_t a) { return ((a % 4) + 4) % 4; }

static void impl_release(struct unet__fast_impl *im)
{
    free(im->nodes);
    free(im->stores);
    unet__free_aligned(im->packed);
    im->nodes = NULL;
    im->stores = NULL;
    im->packed = NULL;
    im->nstore = im->border = im->max_nblk = 0;
}

void unet__fast_plan_clear(unet__fast_plan *fp)
{
    if (fp->impl) {
        impl_release(fp->impl);
        free(fp->impl->cache);
        pthread_mutex_destroy(&fp->impl->lock);
        free(fp->impl);
    }
    fp->impl = NULL;
}

int unet__fast_plan_build(const unet__plan *ref, unet__fast_plan *fp)
{
    fp->impl = calloc(1, sizeof *fp->impl);
    if (!fp->impl || pthread_mutex_init(&fp->impl->lock, NULL) != 0) {
        free(fp->impl);
        fp->impl = NULL;
        return unet__fail(UNET_E_NOMEM, "out of memory building the fast inference plan");
    }
    atomic_init(&fp->impl->ready, 0);
    fp->impl->ref = ref;
    fp->impl->g = ref->graph;
    return UNET_OK;
}

/* ------------------------------------------------------------------ plan building */

static int is_producer(int kind)
{
    return kind != K_ALIAS && kind != K_CONCAT && kind != K_VIEW;
}

/* Every reader of node i (seen through aliases) is a convolution with padding <= max_pad or
 * a virtual concatenation whose readers are (recursively). */
static int read_only_by_convs(const unet__graph *g, const fnode *fn, int i, int max_pad)
{
    for (int j = i + 1; j < g->count; j++) {
        const unet__node *nd = &g->nodes[j];
        if (nd->in[0] != i && nd->in[1] != i)
            continue;
        if (fn[j].kind == K_ALIAS || fn[j].kind == K_CONCAT) {
            if (!read_only_by_convs(g, fn, j, max_pad))
                return 0;
        } else if (fn[j].kind != K_CONV || nd->pad > max_pad) {
            return 0;
        }
    }
    return i != g->output;
}

static int wino_eligible(const unet__node *nd, int cin, int in_lanes)
{
    return nd->k == 3 && nd->pad == 1 && in_lanes == 16 && cin >= 32 && nd->channels >= 32;
}

/* The analysis and packing, done once, on the first forward pass (so that setting tensors
 * one by one, which rebuilds the plans each time, stays cheap). */
static int analyze(struct unet__fast_impl *im)
{
    const unet__plan *ref = im->ref;
    const unet__graph *g = ref->graph;
    const int count = g->count;
    im->nodes = calloc((size_t)count, sizeof *im->nodes);
    im->stores = calloc((size_t)count, sizeof *im->stores);
    if (!im->nodes || !im->stores)
        goto nomem;
    fnode *fn = im->nodes;

    /* 1. Kinds, in order (fusion looks back only). */
    for (int i = 0; i < count; i++) {
        const unet__node *nd = &g->nodes[i];
        fn[i].store = -1;
        fn[i].act = UNET__ACT_NONE;
        fn[i].src = -1;
        fn[i].lanes = 16;
        fn[i].w_off = fn[i].u_off = fn[i].b_off = fn[i].s_off = NONE_OFF;
        if (nd->pad > im->border && nd->op == UNET__OP_CONV)
            im->border = nd->pad;
        if (i > 0 && ref->identity[i]) {
            fn[i].kind = K_ALIAS;
            fn[i].src = nd->in[0];
            continue;
        }
        switch (nd->op) {
        case UNET__OP_INPUT: fn[i].kind = K_INPUT; break;
        case UNET__OP_CONV: fn[i].kind = K_CONV; break;
        case UNET__OP_CONV_T: fn[i].kind = K_CONVT; break;
        case UNET__OP_MAXPOOL: fn[i].kind = K_MAXPOOL; break;
        case UNET__OP_AVGPOOL: fn[i].kind = K_AVGPOOL; break;
        case UNET__OP_UP_NEAREST: fn[i].kind = K_NEAREST; break;
        case UNET__OP_UP_BILINEAR: fn[i].kind = K_BILINEAR; break;
        case UNET__OP_CROP: fn[i].kind = K_VIEW; break;      /* decided below */
        case UNET__OP_CONCAT: fn[i].kind = K_CONCAT; break;  /* decided below */
        case UNET__OP_BATCHNORM: fn[i].kind = K_AFFINE; break;
        case UNET__OP_GROUPNORM: fn[i].kind = K_GN; break;
        case UNET__OP_SOFTMAX: fn[i].kind = K_SOFTMAX; break;
        case UNET__OP_DROPOUT:
            fn[i].kind = K_ALIAS;
            fn[i].src = nd->in[0];
            break;
        case UNET__OP_ACT: {
            /* Fuse into the producer when every node on the way is read only once. */
            int p = nd->in[0], ok = 1;
            while (ok && fn[p].kind == K_ALIAS) {
                ok = ref->consumers[p] == 1;
                p = fn[p].src;
            }
            ok = ok && ref->consumers[p] == 1 && fn[p].act == UNET__ACT_NONE &&
                 (fn[p].kind == K_CONV || fn[p].kind == K_CONVT || fn[p].kind == K_AFFINE ||
                  fn[p].kind == K_GN);
            if (ok) {
                fn[p].act = nd->act;
                fn[i].kind = K_ALIAS;
                fn[i].src = nd->in[0];
            } else {
                fn[i].kind = K_AFFINE;
                fn[i].act = nd->act;
            }
            break;
        }
        }
    }
    /* Concatenations and crops stay virtual when only convolutions read them (crops: only
     * unpadded ones, as a view has no zero border); decided from the last node back. */
    for (int i = count - 1; i >= 0; i--) {
        if (fn[i].kind == K_CONCAT && !read_only_by_convs(g, fn, i, 1 << 20))
            fn[i].kind = K_COPY;
        if (fn[i].kind == K_VIEW && !read_only_by_convs(g, fn, i, 0))
            fn[i].kind = K_COPY;
    }
    /* The network input is planar when it has few channels and only convolutions read it,
     * directly (a concatenation's blocks must all have the same lanes). */
    if (g->nodes[0].channels < 16 && g->output != 0) {
        fn[0].lanes = 1;
        for (int j = 1; j < count; j++)
            if ((g->nodes[j].in[0] == 0 || g->nodes[j].in[1] == 0) && fn[j].kind != K_CONV)
                fn[0].lanes = 16;
    }

    /* 2. Static values (segments) and last reads. */
    for (int i = 0; i < count; i++) {
        const unet__node *nd = &g->nodes[i];
        fnode *f = &fn[i];
        if (f->kind == K_ALIAS) {
            f->nseg = fn[f->src].nseg;
            memcpy(f->segs, fn[f->src].segs, sizeof f->segs);
        } else if (f->kind == K_CONCAT) {
            const fnode *a = &fn[nd->in[0]], *b = &fn[nd->in[1]];
            if (a->nseg + b->nseg > MAXSEG) {
                f->kind = K_COPY;
            } else {
                f->nseg = a->nseg + b->nseg;
                memcpy(f->segs, a->segs, (size_t)a->nseg * sizeof(seg));
                memcpy(f->segs + a->nseg, b->segs, (size_t)b->nseg * sizeof(seg));
            }
        } else if (f->kind == K_VIEW) {
            if (fn[nd->in[0]].nseg != 1) {
                f->kind = K_COPY;
            } else {
                f->nseg = 1;
                f->segs[0] = fn[nd->in[0]].segs[0];
            }
        }
        if (is_producer(f->kind)) {
            f->nseg = 1;
            f->segs[0].node = i;
        }
        f->last_read = -1;
        if (is_producer(f->kind) && f->kind != K_INPUT)
            for (int k = 0; k < 2; k++)
                if (nd->in[k] >= 0)
                    for (int s = 0; s < fn[nd->in[k]].nseg; s++)
                        fn[fn[nd->in[k]].segs[s].node].last_read = i;
    }
    for (int s = 0; s < fn[g->output].nseg; s++)
        fn[fn[g->output].segs[s].node].last_read = count; /* read by the output unpack */

    /* 3. Storages: element-wise nodes reuse their input's storage when they read it last. */
    for (int i = 0; i < count; i++) {
        fnode *f = &fn[i];
        if (!is_producer(f->kind))
            continue;
        const unet__node *nd = &g->nodes[i];
        const int a = nd->in[0];
        if ((f->kind == K_AFFINE || f->kind == K_GN || f->kind == K_SOFTMAX) &&
            fn[a].nseg == 1 && fn[a].kind != K_VIEW && fn[fn[a].segs[0].node].last_read == i &&
            fn[fn[a].segs[0].node].lanes == 16) {
            f->store = fn[fn[a].segs[0].node].store;
        } else {
            f->store = im->nstore++;
            im->stores[f->store].node = i;
            im->stores[f->store].first = i;
        }
        if (f->last_read > im->stores[f->store].last)
            im->stores[f->store].last = f->last_read;
    }

    /* 4. Weights. */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < count; i++) {
            fnode *f = &fn[i];
            const unet__node *nd = &g->nodes[i];
            if (f->kind == K_CONV || f->kind == K_CONVT) {
                const fnode *in = &fn[nd->in[0]];
                int segc[MAXSEG], cin = 0;
                f->in_lanes = fn[in->segs[0].node].lanes;
                for (int s = 0; s < in->nseg; s++) {
                    segc[s] = g->nodes[in->segs[s].node].channels;
                    cin += segc[s];
                }
                f->nblk = unet__pack_nblk(in->nseg, segc, f->in_lanes);
                if (f->nblk > im->max_nblk)
                    im->max_nblk = f->nblk;
                const int cout = nd->channels, ncob = cdiv(cout, 16);
                const float *w = ref->weight[i];
                if (f->kind == K_CONV) {
                    f->wino = wino_eligible(nd, cin, f->in_lanes);
                    f->w_off = total;
                    total += unet__pack_conv_len(cout, f->nblk, nd->k, f->in_lanes);
                    if (pass)
                        unet__pack_conv(w, cout, cin, nd->k, in->nseg, segc, f->in_lanes,
                                        im->packed + f->w_off);
                    if (f->wino) {
                        f->u_off = total;
                        total += unet__pack_wino_len(cout, f->nblk);
                        if (pass)
                            unet__pack_wino(w, cout, cin, in->nseg, segc,
                                            im->packed + f->u_off);
                    }
                } else {
                    f->w_off = total;
                    total += unet__pack_convt_len(cout, f->nblk, nd->factor);
                    if (pass)
                        unet__pack_convt(w, cout, cin, nd->factor, in->nseg, segc,
                                         im->packed + f->w_off);
                }
                f->b_off = total;
                total += (size_t)ncob * 16;
                if (pass)
                    unet__pack_bias(ref->bias[i], cout, im->packed + f->b_off);
            } else if (f->kind == K_AFFINE && nd->op == UNET__OP_BATCHNORM) {
                const int c = nd->channels;
                f->s_off = total;
                total += 2 * (size_t)cdiv(c, 16) * 16;
                if (pass) {
                    float *sc = im->packed + f->s_off, *sh = sc + cdiv(c, 16) * 16;
                    const float *gm = ref->weight[i], *be = ref->bias[i];
                    const float *mu = ref->params[nd->param[2]], *var = ref->params[nd->param[3]];
                    for (int ch = 0; ch < cdiv(c, 16) * 16; ch++) {
                        double s = ch < c ? (gm ? gm[ch] : 1.0) / sqrt((double)var[ch] + BN_EPS)
                                          : 0.0;
                        sc[ch] = (float)s;
                        sh[ch] = ch < c ? (float)((be ? be[ch] : 0.0) - mu[ch] * s) : 0.0f;
                    }
                }
            }
            total = (total + 15) / 16 * 16; /* keep every packed array 64-byte aligned */
        }
        if (pass == 0) {
            im->packed = unet__alloc_floats(total ? total : 16);
            if (!im->packed)
                goto nomem;
            total = 0;
        }
    }
    return UNET_OK;
nomem:
    impl_release(im);
    return unet__fail(UNET_E_NOMEM, "out of memory building the fast inference plan");
}

static int ensure_analyzed(struct unet__fast_impl *im)
{
    if (atomic_load_explicit(&im->ready, memory_order_acquire))
        return UNET_OK;
    int rc = UNET_OK;
    pthread_mutex_lock(&im->lock);
    if (!atomic_load_explicit(&im->ready, memory_order_relaxed)) {
        rc = analyze(im);
        if (rc == UNET_OK)
            atomic_store_explicit(&im->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&im->lock);
    return rc;
}

/* ------------------------------------------------------------------ forward pass */

typedef struct value {
    int nseg;
    unet__btensor seg[MAXSEG];
} value;

typedef struct run {
    const struct unet__fast_impl *im;
    const unet__kernels *K;
    int precise;
    int threads;
    int64_t n;
    int64_t *h, *w;      /* per node */
    int64_t *scale;      /* per node: input pixels per pixel (product of pooling factors) */
    value *val;          /* per node */
    int64_t origin_y, origin_x;
    /* scratch */
    char *thread_scratch;
    size_t thread_bytes;
    double *gn_stats;
    float *gn_coef;
    const float *input;
    float *output;
} run;

/* Per-thread scratch: input block pointers and row strides of the row kernel, one gathered
 * 6x6 patch, and the Winograd group buffers (V, then M). */
typedef struct tscratch {
    const float **ptr;
    int64_t *rs;
    float *V, *patch;
} tscratch;

static size_t align64(size_t b) { return (b + 63) / 64 * 64; }

/* Tiles per Winograd group for a layer (a multiple of the kernel's pixel tile). */
static int64_t wino_group(int nblk, int ncob, int64_t tiles, int threads, int pt)
{
    const int64_t per_tile = 36 * (int64_t)(nblk + ncob) * 64;
    int64_t T = WINO_BUDGET / per_tile / pt * pt;
    T = imin64(imax64(T, pt), 8 * (int64_t)pt);
    while (T > pt && cdiv64(tiles, T) < 8 * threads)
        T -= pt;
    return T;
}

/* Chunk of tasks for dynamic scheduling: on a shared machine a thread may lose its core for
 * a while, and static shares would make the others wait at the next barrier. */
static int64_t dyn_chunk(int64_t tasks, int threads)
{
    const int64_t c = tasks / (16 * (int64_t)threads);
    return c < 1 ? 1 : c;
}

/* Floats per Winograd position plane of nb blocks x T tiles (padded, see run_winograd). */
static int64_t wino_plane(int nb, int64_t T)
{
    return (int64_t)nb * T * 16 + 16;
}

/* Pixels per direct-convolution task along a row. */
static int64_t direct_range(int nblk, int k, int lanes, int64_t w, int pt)
{
    const int64_t per_col = (int64_t)k * nblk * lanes * 4;
    int64_t xr = DIRECT_BAND / per_col / pt * pt;
    if (xr < pt)
        xr = pt;
    return xr >= w ? w : xr;
}

static tscratch thread_scratch(const run *r)
{
    tscratch t;
    char *p = r->thread_scratch + r->thread_bytes * (size_t)omp_get_thread_num();
    const int mb = r->im->max_nblk > 0 ? r->im->max_nblk : 1;
    t.ptr = (const float **)p;
    p += align64((size_t)mb * sizeof(float *));
    t.rs = (int64_t *)p;
    p += align64((size_t)mb * sizeof(int64_t));
    t.patch = (float *)p;
    p += align64(36 * 16 * sizeof(float));
    t.V = (float *)p;
    return t;
}

/* Input block pointers of a convolution at (image n, input row y, input column x). */
static int block_ptrs(const value *in, int64_t n, int64_t y, int64_t x, const float **ptr,
                      int64_t *rs)
{
    int nb = 0;
    for (int s = 0; s < in->nseg; s++) {
        const unet__btensor *t = &in->seg[s];
        for (int b = 0; b < t->nblk; b++, nb++) {
            ptr[nb] = unet__bt_at(t, n, b, y, x);
            rs[nb] = t->rstride;
        }
    }
    return nb;
}

static int fused_act(int act)
{
    return act == UNET__ACT_NONE || act == UNET__ACT_RELU || act == UNET__ACT_LEAKY_RELU;
}

/* Activation pass over rows of out for activations the kernels do not fuse. */
static void post_act(const unet__btensor *out, int64_t n, int act)
{
    if (fused_act(act))
        return;
    const int64_t rows = n * out->nblk * out->h;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        unet__blk_affine_act(out, out, NULL, NULL, 0, act, r, r + 1);
}

static void run_direct(const run *r, int i)
{
    const struct unet__fast_impl *im = r->im;
    const unet__node *nd = &im->g->nodes[i];
    const fnode *f = &im->nodes[i];
    const value *in = &r->val[nd->in[0]];
    const unet__btensor *out = &r->val[i].seg[0];
    const int k = nd->k, pad = nd->pad, ncob = cdiv(nd->channels, 16);
    const int64_t oh = r->h[i], ow = r->w[i];
    const int64_t xr = direct_range(f->nblk, k, f->in_lanes, ow, r->K->pix_tile);
    const int64_t nx = cdiv64(ow, xr), tasks = r->n * oh * nx;
    tscratch ts = thread_scratch(r);
    unet__rowconv a;
    a.nblk = f->nblk;
    a.lanes = f->in_lanes;
    a.kh = a.kw = k;
    a.in = ts.ptr;
    a.rs = ts.rs;
    a.w = im->packed + f->w_off;
    a.w_cob = (int64_t)f->nblk * k * k * f->in_lanes * 16;
    a.bias = im->packed + f->b_off;
    a.ncob = ncob;
    a.out_cob = out->bstride;
    a.out_ps = 16;
    a.act = fused_act(f->act) ? f->act : UNET__ACT_NONE;
#pragma omp for schedule(dynamic, dyn_chunk(tasks, r->threads))
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t xi = t % nx, y = (t / nx) % oh, b = t / (nx * oh);
        const int64_t x0 = xi * xr;
        block_ptrs(in, b, y - pad, x0 - pad, ts.ptr, ts.rs);
        a.out = unet__bt_at(out, b, 0, y, x0);
        a.npix = imin64(xr, ow - x0);
        r->K->rowconv(&a);
    }
    post_act(out, r->n, f->act);
}

/* Gather the 6x6 patch at input (y, x) of one block, zero outside the tensor's interior. */
static void gather_patch(const unet__btensor *t, int64_t n, int b, int64_t y, int64_t x,
                         float *patch)
{
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            float *d = patch + (i * 6 + j) * 16;
            if (y + i < 0 || y + i >= t->h || x + j < 0 || x + j >= t->w)
                memset(d, 0, 16 * sizeof(float));
            else
                memcpy(d, unet__bt_at(t, n, b, y + i, x + j), 16 * sizeof(float));
        }
}

static void run_winograd(const run *r, int i, int threads)
{
    const struct unet__fast_impl *im = r->im;
    const unet__node *nd = &im->g->nodes[i];
    const fnode *f = &im->nodes[i];
    const value *in = &r->val[nd->in[0]];
    const unet__btensor *out = &r->val[i].seg[0];
    const int nblk = f->nblk, ncob = cdiv(nd->channels, 16);
    const int64_t H = r->h[i], W = r->w[i];
    /* Block grid anchored at canvas multiples of 4: the first block starts sy rows up. */
    const int64_t sy = fmod4(fdiv(r->origin_y, r->scale[i]));
    const int64_t sx = fmod4(fdiv(r->origin_x, r->scale[i]));
    const int64_t ty_n = cdiv64(H + sy, 4), tx_n = cdiv64(W + sx, 4);
    const int64_t per_img = ty_n * tx_n, tiles = r->n * per_img;
    const int64_t T = wino_group(nblk, ncob, tiles, threads, r->K->pix_tile);
    const int64_t groups = cdiv64(tiles, T);
    tscratch ts = thread_scratch(r);
    /* Planes of the 36 positions, padded by one pixel so that the 36 vectors of a tile do
     * not all fall into the same few cache sets. */
    const int64_t vstride = wino_plane(nblk, T), mstride = wino_plane(ncob, T);
    float *V = ts.V, *M = ts.V + 36 * vstride;
    const float *U = im->packed + f->u_off, *bias = im->packed + f->b_off;
    const int act = fused_act(f->act) ? f->act : UNET__ACT_NONE;

    unet__rowconv a;
    a.nblk = nblk;
    a.lanes = 16;
    a.kh = a.kw = 1;
    a.in = ts.ptr;
    a.rs = ts.rs;
    a.w_cob = (int64_t)nblk * 256;
    a.bias = NULL;
    a.ncob = ncob;
    a.out_cob = T * 16;
    a.out_ps = 16;
    a.act = UNET__ACT_NONE;
    for (int b = 0; b < nblk; b++)
        ts.rs[b] = 0;

#pragma omp for schedule(dynamic, 1)
    for (int64_t gi = 0; gi < groups; gi++) {
        const int64_t t0 = gi * T, nt = imin64(T, tiles - t0);
        /* Input transform, block by block so that only the 6 rows of one block stream in at
         * a time (all blocks at once are too many streams for the prefetchers). */
        int b = 0;
        for (int s = 0; s < in->nseg; s++) {
            const unet__btensor *src = &in->seg[s];
            const int64_t zb = src->border;
            for (int bl = 0; bl < src->nblk; bl++, b++)
                for (int64_t t = 0; t < nt; t++) {
                    const int64_t id = t0 + t, n = id / per_img;
                    const int64_t y0 = (id % per_img) / tx_n * 4 - sy;
                    const int64_t x0 = (id % per_img) % tx_n * 4 - sx;
                    float *dst = V + ((int64_t)b * T + t) * 16;
                    if (y0 - 1 >= -zb && y0 + 4 < H + zb && x0 - 1 >= -zb && x0 + 4 < W + zb) {
                        r->K->wino_in(unet__bt_at(src, n, bl, y0 - 1, x0 - 1), src->rstride,
                                      dst, vstride);
                    } else {
                        gather_patch(src, n, bl, y0 - 1, x0 - 1, ts.patch);
                        r->K->wino_in(ts.patch, 6 * 16, dst, vstride);
                    }
                }
        }
        /* 36 products: M[xi] = V[xi] U[xi] over the group's tiles. */
        a.npix = nt;
        for (int xi = 0; xi < 36; xi++) {
            for (int b = 0; b < nblk; b++)
                ts.ptr[b] = V + xi * vstride + (int64_t)b * T * 16;
            a.w = U + (size_t)xi * ncob * nblk * 256;
            a.out = M + xi * mstride;
            r->K->rowconv(&a);
        }
        /* Output transform, bias and activation into the output tensor, block by block. */
        for (int cob = 0; cob < ncob; cob++)
            for (int64_t t = 0; t < nt; t++) {
                const int64_t id = t0 + t, n = id / per_img;
                const int64_t y0 = (id % per_img) / tx_n * 4 - sy;
                const int64_t x0 = (id % per_img) % tx_n * 4 - sx;
                const int rb = (int)imax64(0, -y0), re = (int)imin64(4, H - y0);
                const int cb = (int)imax64(0, -x0), ce = (int)imin64(4, W - x0);
                r->K->wino_out(M + ((int64_t)cob * T + t) * 16, mstride, bias + cob * 16, act,
                               unet__bt_at(out, n, cob, y0 + rb, x0 + cb), out->rstride, rb, re,
                               cb, ce);
            }
    }
    post_act(out, r->n, f->act);
}

static void run_convt(const run *r, int i)
{
    const struct unet__fast_impl *im = r->im;
    const unet__node *nd = &im->g->nodes[i];
    const fnode *f = &im->nodes[i];
    const value *in = &r->val[nd->in[0]];
    const unet__btensor *out = &r->val[i].seg[0];
    const int fct = nd->factor, ncob = cdiv(nd->channels, 16);
    const int64_t ih = r->h[nd->in[0]], iw = r->w[nd->in[0]], tasks = r->n * ih;
    tscratch ts = thread_scratch(r);
    unet__rowconv a;
    a.nblk = f->nblk;
    a.lanes = 16;
    a.kh = a.kw = 1;
    a.in = ts.ptr;
    a.rs = ts.rs;
    a.w_cob = (int64_t)f->nblk * 256;
    a.bias = im->packed + f->b_off;
    a.ncob = ncob;
    a.out_cob = out->bstride;
    a.out_ps = (int64_t)fct * 16;
    a.npix = iw;
    a.act = fused_act(f->act) ? f->act : UNET__ACT_NONE;
#pragma omp for schedule(dynamic, dyn_chunk(tasks, r->threads))
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t y = t % ih, b = t / ih;
        block_ptrs(in, b, y, 0, ts.ptr, ts.rs);
        for (int dy = 0; dy < fct; dy++)
            for (int dx = 0; dx < fct; dx++) {
                a.w = im->packed + f->w_off + (size_t)(dy * fct + dx) * ncob * f->nblk * 256;
                a.out = unet__bt_at(out, b, 0, y * fct + dy, dx);
                r->K->rowconv(&a);
            }
    }
    post_act(out, r->n, f->act);
}

/* Materialise a value (segments, maybe views) into a tensor of its own, channel by channel. */
static void run_copy(const run *r, int i)
{
    const value *in = &r->val[r->im->g->nodes[i].in[0]];
    const unet__node *nd = &r->im->g->nodes[i];
    value cat;
    if (nd->op == UNET__OP_CONCAT) {
        const value *b = &r->val[nd->in[1]];
        cat.nseg = 0;
        for (int s = 0; s < in->nseg && cat.nseg < MAXSEG; s++)
            cat.seg[cat.nseg++] = in->seg[s];
        for (int s = 0; s < b->nseg && cat.nseg < MAXSEG; s++)
            cat.seg[cat.nseg++] = b->seg[s];
    } else { /* crop: a view of the input's single segment */
        const unet__btensor *t = &in->seg[0];
        cat.nseg = 1;
        cat.seg[0] = *t;
        cat.seg[0].data = unet__bt_at(t, 0, 0, (t->h - r->h[i]) / 2, (t->w - r->w[i]) / 2);
        cat.seg[0].h = r->h[i];
        cat.seg[0].w = r->w[i];
    }
    const unet__btensor *out = &r->val[i].seg[0];
    const int64_t rows = r->n * out->h;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t y = row % out->h, n = row / out->h;
        for (int b = 0; b < out->nblk; b++)
            memset(unet__bt_at(out, n, b, y, 0), 0, (size_t)out->w * 16 * sizeof(float));
        int coff = 0;
        for (int s = 0; s < cat.nseg; s++) {
            const unet__btensor *t = &cat.seg[s];
            for (int ch = 0; ch < t->c; ch++) {
                const float *src = unet__bt_at(t, n, ch / t->lanes, y, 0) + ch % t->lanes;
                float *dst = unet__bt_at(out, n, (coff + ch) / 16, y, 0) + (coff + ch) % 16;
                for (int64_t x = 0; x < out->w; x++)
                    dst[x * 16] = src[x * t->lanes];
            }
            coff += t->c;
        }
    }
}

static void run_node(const run *r, int i, int threads)
{
    const struct unet__fast_impl *im = r->im;
    const fnode *f = &im->nodes[i];
    const unet__node *nd = &im->g->nodes[i];
    if (!is_producer(f->kind))
        return;
    const unet__btensor *out = &r->val[i].seg[0];
    const int64_t n = r->n;
    const int in_place = f->kind != K_INPUT && nd->in[0] >= 0 &&
                         im->nodes[nd->in[0]].nseg == 1 &&
                         im->nodes[im->nodes[nd->in[0]].segs[0].node].store == f->store;
    if (!in_place) {
        const int64_t planes = n * out->nblk;
#pragma omp for schedule(static) nowait
        for (int64_t p = 0; p < planes; p++)
            unet__blk_zero_border(out, p, p + 1);
    }
    const unet__btensor *in = nd->in[0] >= 0 ? &r->val[nd->in[0]].seg[0] : NULL;
    const int64_t rows = n * out->nblk * out->h;
    switch (f->kind) {
    case K_INPUT:
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++)
            unet__blk_pack(r->input, out, row, row + 1);
        break;
    case K_CONV:
        if (f->wino && !r->precise)
            run_winograd(r, i, threads);
        else
            run_direct(r, i);
        break;
    case K_CONVT:
        run_convt(r, i);
        break;
    case K_MAXPOOL:
    case K_AVGPOOL:
    case K_NEAREST:
    case K_BILINEAR:
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++) {
            if (f->kind == K_MAXPOOL)
                unet__blk_maxpool(in, out, nd->factor, row, row + 1);
            else if (f->kind == K_AVGPOOL)
                unet__blk_avgpool(in, out, nd->factor, row, row + 1);
            else if (f->kind == K_NEAREST)
                unet__blk_up_nearest(in, out, nd->factor, row, row + 1);
            else
                unet__blk_up_bilinear(in, out, nd->factor, row, row + 1);
        }
        break;
    case K_AFFINE: {
        const float *sc = f->s_off != NONE_OFF ? im->packed + f->s_off : NULL;
        const float *sh = sc ? sc + cdiv(nd->channels, 16) * 16 : NULL;
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++)
            unet__blk_affine_act(in, out, sc, sh, 0, f->act, row, row + 1);
        break;
    }
    case K_GN: {
        const int64_t tasks = n * nd->groups, width = (int64_t)out->nblk * 16;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            unet__blk_group_stats(in, nd->groups, GN_EPS, r->gn_stats, t, t + 1);
#pragma omp single
        unet__blk_group_coeffs(in, nd->groups, r->gn_stats, im->ref->weight[i],
                               im->ref->bias[i], r->gn_coef, r->gn_coef + n * width, n);
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++)
            unet__blk_affine_act(in, out, r->gn_coef, r->gn_coef + n * width, width, f->act,
                                 row, row + 1);
        break;
    }
    case K_SOFTMAX: {
        const int64_t prow = n * out->h;
        if (!in_place) {
#pragma omp for schedule(static)
            for (int64_t row = 0; row < rows; row++)
                unet__blk_affine_act(in, out, NULL, NULL, 0, UNET__ACT_NONE, row, row + 1);
        }
#pragma omp for schedule(static)
        for (int64_t row = 0; row < prow; row++)
            unet__blk_softmax(out, row, row + 1);
        break;
    }
    case K_COPY:
        run_copy(r, i);
        break;
    default:
        break;
    }
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
    t.bstride = ((t.h + 2 * P) * t.rstride + 15) / 16 * 16;
    t.nstride = t.bstride * t.nblk;
    t.data = NULL;
    *bytes = align64((size_t)(r->n * t.nstride) * sizeof(float));
    return t;
}

/* Scale of every node relative to the input: pooling multiplies, upsampling divides (a node
 * finer than the input, never in a U-Net, counts as scale 1). */
static void node_scales(const unet__graph *g, int64_t *scale)
{
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        int64_t s = nd->in[0] >= 0 ? scale[nd->in[0]] : 1;
        if (nd->op == UNET__OP_MAXPOOL || nd->op == UNET__OP_AVGPOOL)
            s *= nd->factor;
        else if (nd->op == UNET__OP_CONV_T || nd->op == UNET__OP_UP_NEAREST ||
                 nd->op == UNET__OP_UP_BILINEAR)
            s = s % nd->factor == 0 ? s / nd->factor : 1;
        scale[i] = s < 1 ? 1 : s;
    }
}

int unet__fast_winograd_margin(const unet__fast_plan *fp)
{
    if (!fp->impl)
        return 0;
    const unet__graph *g = fp->impl->g;
    int64_t *scale = malloc((size_t)g->count * sizeof *scale), extra = 0;
    if (!scale)
        return 0;
    node_scales(g, scale);
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        if (nd->op == UNET__OP_CONV && wino_eligible(nd, g->nodes[nd->in[0]].channels, 16))
            extra += 3 * scale[i];
    }
    free(scale);
    return extra > (1 << 20) ? 1 << 20 : (int)extra;
}

/* An arena of at least `bytes`: the cached one if it is free and large enough, else a new
 * allocation (huge pages when large). *got receives its size. */
static char *arena_get(struct unet__fast_impl *im, size_t bytes, size_t *got)
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
    const size_t align = bytes < ARENA_HUGE_MIN ? 64 : (size_t)2 << 20;
    const size_t rounded = (bytes + align - 1) / align * align;
    if (rounded < bytes || posix_memalign((void **)&p, align, rounded) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align > 64)
        madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    *got = rounded;
    return p;
}

/* Keep the arena for the next call when it is the largest seen and not too large. */
static void arena_put(struct unet__fast_impl *im, char *p, size_t bytes)
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

typedef struct placed {
    size_t off, bytes;
    int first, last;
} placed;

/* Everything of a forward pass that does not touch the data: sizes, storage placement,
 * scratch sizes. r->h, r->w, r->scale, r->val and pl point into `meta` (layout_meta bytes).
 * *arena_bytes: the tensors; *total: tensors and scratch. */
static size_t layout_meta(const struct unet__fast_impl *im)
{
    const size_t count = (size_t)im->g->count;
    return align64(count * 3 * sizeof(int64_t)) + align64(count * sizeof(value)) +
           align64((size_t)im->nstore * sizeof(placed));
}

static int layout(const struct unet__fast_impl *im, const unet__kernels *K,
                  const unet__exec_opts *opts, int64_t n, int64_t h, int64_t w, int threads,
                  char *meta, run *r, placed **plp, size_t *arena_bytes, size_t *gn_stat_bytes,
                  size_t *total)
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
    r->val = (value *)(meta + align64((size_t)count * 3 * sizeof(int64_t)));
    placed *pl = (placed *)((char *)r->val + align64((size_t)count * sizeof(value)));
    *plp = pl;
    r->origin_y = opts->origin_y;
    r->origin_x = opts->origin_x;
    int64_t oh, ow;
    if (unet__graph_axis_size(g, h, &oh, r->h) != UNET_OK ||
        unet__graph_axis_size(g, w, &ow, r->w) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "input %lldx%lld does not fit the network",
                          (long long)h, (long long)w);
    node_scales(g, r->scale);

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
            const int ncob = cdiv(nd->channels, 16);
            const int64_t tiles = n * cdiv64(r->h[i] + 3, 4) * cdiv64(r->w[i] + 3, 4);
            const int64_t T = wino_group(f->nblk, ncob, tiles, threads, K->pix_tile);
            const size_t b = 36 * (size_t)(wino_plane(f->nblk, T) + wino_plane(ncob, T)) * 4;
            if (b > wino_bytes)
                wino_bytes = b;
        }
        if (f->kind == K_GN) {
            gn_groups = imax64(gn_groups, nd->groups);
            gn_width = imax64(gn_width, (int64_t)cdiv(nd->channels, 16) * 16);
        }
    }
    *gn_stat_bytes = align64((size_t)(n * gn_groups) * 2 * sizeof(double));
    const size_t gn_bytes = *gn_stat_bytes + align64((size_t)(n * gn_width) * 2 * sizeof(float));
    const int mb = im->max_nblk > 0 ? im->max_nblk : 1;
    r->thread_bytes = align64((size_t)mb * sizeof(float *)) + align64((size_t)mb * 8) +
                      align64(36 * 16 * sizeof(float)) + align64(wino_bytes);
    *arena_bytes = arena;
    *total = arena + r->thread_bytes * (size_t)threads + align64(gn_bytes);
    return UNET_OK;
}

/* The kernel set of a call, or NULL for the reference executor; fails on an unsupported ISA
 * and makes sure the plan is analysed. */
static int resolve_kernels(struct unet__fast_impl *im, const unet__exec_opts *opts,
                           const unet__kernels **K)
{
    const int isa = opts->isa >= 0 ? opts->isa : unet__isa_default();
    *K = NULL;
    if (isa == UNET__ISA_REFERENCE && !opts->kernels)
        return UNET_OK;
    int rc = ensure_analyzed(im);
    if (rc != UNET_OK)
        return rc;
    *K = opts->kernels ? opts->kernels : unet__kernels_get(isa);
    if (!*K)
        return unet__fail(UNET_E_UNSUPPORTED, "instruction set %s is not supported here",
                          unet__isa_name(isa));
    return UNET_OK;
}

int unet__exec_fast_workspace(const unet__fast_plan *fp, int64_t n, int64_t h, int64_t w,
                              int threads, const unet__exec_opts *opts, size_t *bytes)
{
    static const unet__exec_opts defaults = UNET__EXEC_OPTS_DEFAULT;
    *bytes = 0;
    if (!opts)
        opts = &defaults;
    struct unet__fast_impl *im = fp->impl;
    if (!im)
        return unet__fail(UNET_E_INTERNAL, "fast executor: no plan");
    const unet__kernels *K;
    int rc = resolve_kernels(im, opts, &K);
    if (rc != UNET_OK || !K)
        return rc;
    char *meta = malloc(layout_meta(im));
    if (!meta)
        return unet__fail(UNET_E_NOMEM, "out of memory planning the forward pass");
    run r;
    placed *pl;
    size_t arena, gn_stat;
    rc = layout(im, K, opts, n, h, w, threads < 1 ? 1 : threads, meta, &r, &pl, &arena,
                &gn_stat, bytes);
    free(meta);
    return rc;
}

int unet__exec_fast(const unet__fast_plan *fp, const float *input, int64_t n, int64_t h,
                    int64_t w, float *output, int threads, const unet__exec_opts *opts)
{
    static const unet__exec_opts defaults = UNET__EXEC_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    struct unet__fast_impl *im = fp->impl;
    if (!im)
        return unet__fail(UNET_E_INTERNAL, "fast executor: no plan");
    if (threads < 1)
        threads = 1;
    const unet__kernels *K;
    int rc = resolve_kernels(im, opts, &K);
    if (rc != UNET_OK)
        return rc;
    if (!K)
        return unet__exec_ref(im->ref, input, n, h, w, output, threads);
    const unet__graph *g = im->g;
    const int count = g->count;
    char *meta = malloc(layout_meta(im));
    if (!meta)
        return unet__fail(UNET_E_NOMEM, "out of memory starting the forward pass");
    run r;
    placed *pl;
    size_t arena, gn_stat_bytes, total;
    rc = layout(im, K, opts, n, h, w, threads, meta, &r, &pl, &arena, &gn_stat_bytes, &total);
    if (rc != UNET_OK) {
        free(meta);
        return rc;
    }
    r.input = input;
    r.output = output;
    size_t base_bytes = 0;
    char *base = arena_get(im, total, &base_bytes);
    if (!base) {
        free(meta);
        return unet__fail(UNET_E_NOMEM, "out of memory for the forward pass (%zu MiB for %lld "
                                        "x %lld x %lld)",
                          total >> 20, (long long)n, (long long)h, (long long)w);
    }
    r.thread_scratch = base + arena;
    r.gn_stats = (double *)(r.thread_scratch + r.thread_bytes * (size_t)threads);
    r.gn_coef = (float *)((char *)r.gn_stats + gn_stat_bytes);

    /* Values: tensors of the storages, then aliases, concatenations and views. */
    for (int i = 0; i < count; i++) {
        const fnode *f = &im->nodes[i];
        const unet__node *nd = &g->nodes[i];
        value *v = &r.val[i];
        if (is_producer(f->kind)) {
            size_t bytes;
            unet__btensor t = store_tensor(im, &r, f->store, &bytes);
            t.data = (float *)(base + pl[f->store].off) + im->border * t.rstride +
                     im->border * t.lanes;
            v->nseg = 1;
            v->seg[0] = t;
        } else if (f->kind == K_ALIAS) {
            *v = r.val[f->src];
        } else if (f->kind == K_CONCAT) {
            const value *a = &r.val[nd->in[0]], *b = &r.val[nd->in[1]];
            v->nseg = a->nseg + b->nseg;
            memcpy(v->seg, a->seg, (size_t)a->nseg * sizeof(unet__btensor));
            memcpy(v->seg + a->nseg, b->seg, (size_t)b->nseg * sizeof(unet__btensor));
        } else { /* K_VIEW */
            unet__btensor t = r.val[nd->in[0]].seg[0];
            t.data = unet__bt_at(&t, 0, 0, (t.h - r.h[i]) / 2, (t.w - r.w[i]) / 2);
            t.h = r.h[i];
            t.w = r.w[i];
            t.border = 0;
            v->nseg = 1;
            v->seg[0] = t;
        }
    }
    const value *outv = &r.val[g->output];
    const int64_t out_c = g->nodes[g->output].channels;
    double *times = opts->node_seconds;
#pragma omp parallel num_threads(threads)
    {
        const unsigned fpenv = unet__fpenv_enter();
        double t0 = times ? omp_get_wtime() : 0;
        for (int i = 0; i < count; i++) {
            run_node(&r, i, threads);
            if (times) {
#pragma omp barrier
#pragma omp master
                {
                    const double t1 = omp_get_wtime();
                    times[i] = t1 - t0;
                    t0 = t1;
                }
            }
        }
        int64_t c0 = 0;
        for (int s = 0; s < outv->nseg; s++) {
            const unet__btensor *t = &outv->seg[s];
            const int64_t rows = n * t->nblk * t->h;
#pragma omp for schedule(static)
            for (int64_t row = 0; row < rows; row++)
                unet__blk_unpack(t, output, out_c, c0, row, row + 1);
            c0 += t->c;
        }
#pragma omp master
        if (times)
            times[count - 1] += omp_get_wtime() - t0;
        unet__fpenv_leave(fpenv);
    }
    arena_put(im, base, base_bytes);
    free(meta);
    return UNET_OK;
}
