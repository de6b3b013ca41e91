/*
 * The fast executor's plan analysis (see fast_impl.h), done once per plan on the first forward
 * pass: node kinds and fusion, zero-copy values, storages and their lifetimes, packed weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "core/threads.h"
#include "graph/fast_impl.h"
#include "kernels/pack.h"

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
    return nd->k == 3 && nd->pad == 1 && in_lanes == UNET__BLK && cin >= WINO_MIN_CHANNELS &&
           nd->channels >= WINO_MIN_CHANNELS;
}

/* The analysis and packing, done once, on the first forward pass (so that setting tensors
 * one by one, which rebuilds the plans each time, stays cheap). */
/* Pack the weights of nodes [begin, end) into the places analyze() gave them. */
static void pack_nodes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    struct unet__fast_impl *im = ctx;
    const unet__plan *ref = im->ref;
    const unet__graph *g = ref->graph;
    const fnode *fn = im->nodes;
    for (int64_t i = begin; i < end; i++) {
        const fnode *f = &fn[i];
        const unet__node *nd = &g->nodes[i];
        if (f->kind == K_CONV || f->kind == K_CONVT) {
            const fnode *in = &fn[nd->in[0]];
            int segc[FAST_MAXSEG], cin = 0;
            for (int s = 0; s < in->nseg; s++) {
                segc[s] = g->nodes[in->segs[s].node].channels;
                cin += segc[s];
            }
            const int cout = nd->channels;
            const float *w = ref->weight[i];
            if (f->kind == K_CONV) {
                unet__pack_conv(w, cout, cin, nd->k, in->nseg, segc, f->in_lanes,
                                im->packed + f->w_off);
                if (f->wino)
                    unet__pack_wino(w, cout, cin, in->nseg, segc, im->packed + f->u_off);
            } else {
                unet__pack_convt(w, cout, cin, nd->factor, in->nseg, segc,
                                 im->packed + f->w_off);
            }
            unet__pack_bias(ref->bias[i], cout, im->packed + f->b_off);
        } else if (f->kind == K_AFFINE && nd->op == UNET__OP_BATCHNORM) {
            const int c = nd->channels;
            float *sc = im->packed + f->s_off, *sh = sc + blk_floats(c);
            const float *gm = ref->weight[i], *be = ref->bias[i];
            const float *mu = ref->params[nd->param[2]], *var = ref->params[nd->param[3]];
            for (int ch = 0; ch < blk_floats(c); ch++) {
                const double sv =
                    ch < c ? (gm ? gm[ch] : 1.0) / sqrt((double)var[ch] + UNET__NORM_EPS) : 0.0;
                sc[ch] = (float)sv;
                sh[ch] = ch < c ? (float)((be ? be[ch] : 0.0) - mu[ch] * sv) : 0.0f;
            }
        }
    }
}

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
        fn[i].lanes = UNET__BLK;
        fn[i].w_off = fn[i].u_off = fn[i].b_off = fn[i].s_off = FAST_NONE_OFF;
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
    if (g->nodes[0].channels < UNET__BLK && g->output != 0) {
        fn[0].lanes = 1;
        for (int j = 1; j < count; j++)
            if ((g->nodes[j].in[0] == 0 || g->nodes[j].in[1] == 0) && fn[j].kind != K_CONV)
                fn[0].lanes = UNET__BLK;
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
            if (a->nseg + b->nseg > FAST_MAXSEG) {
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
        if (unet__fast_is_producer(f->kind)) {
            f->nseg = 1;
            f->segs[0].node = i;
        }
        f->last_read = -1;
        if (unet__fast_is_producer(f->kind) && f->kind != K_INPUT)
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
        if (!unet__fast_is_producer(f->kind))
            continue;
        const unet__node *nd = &g->nodes[i];
        const int a = nd->in[0];
        if ((f->kind == K_AFFINE || f->kind == K_GN || f->kind == K_SOFTMAX) &&
            fn[a].nseg == 1 && fn[a].kind != K_VIEW && fn[fn[a].segs[0].node].last_read == i &&
            fn[fn[a].segs[0].node].lanes == UNET__BLK) {
            f->store = fn[fn[a].segs[0].node].store;
        } else {
            f->store = im->nstore++;
            im->stores[f->store].node = i;
            im->stores[f->store].first = i;
        }
        if (f->last_read > im->stores[f->store].last)
            im->stores[f->store].last = f->last_read;
    }

    /* 4. Weights: where each node's packed arrays go, then the packing on the pool's threads
     * (the Winograd transforms of every 3x3 kernel would otherwise hold up a first call). */
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        fnode *f = &fn[i];
        const unet__node *nd = &g->nodes[i];
        if (f->kind == K_CONV || f->kind == K_CONVT) {
            const fnode *in = &fn[nd->in[0]];
            int segc[FAST_MAXSEG], cin = 0;
            f->in_lanes = fn[in->segs[0].node].lanes;
            for (int s = 0; s < in->nseg; s++) {
                segc[s] = g->nodes[in->segs[s].node].channels;
                cin += segc[s];
            }
            f->nblk = unet__pack_nblk(in->nseg, segc, f->in_lanes);
            if (f->nblk > im->max_nblk)
                im->max_nblk = f->nblk;
            const int cout = nd->channels;
            f->w_off = total;
            if (f->kind == K_CONV) {
                f->wino = wino_eligible(nd, cin, f->in_lanes);
                total += unet__pack_conv_len(cout, f->nblk, nd->k, f->in_lanes);
                if (f->wino) {
                    f->u_off = total;
                    total += unet__pack_wino_len(cout, f->nblk);
                }
            } else {
                total += unet__pack_convt_len(cout, f->nblk, nd->factor);
            }
            f->b_off = total;
            total += (size_t)blk_floats(cout);
        } else if (f->kind == K_AFFINE && nd->op == UNET__OP_BATCHNORM) {
            f->s_off = total;
            total += 2 * (size_t)blk_floats(nd->channels);
        }
        /* keep every packed array aligned */
        total = (total + FAST_ALIGN_FLOATS - 1) / FAST_ALIGN_FLOATS * FAST_ALIGN_FLOATS;
    }
    im->packed = unet__alloc_floats(total ? total : FAST_ALIGN_FLOATS);
    if (!im->packed)
        goto nomem;
    unet__pool_for(unet__resolve_threads(0), count, 1, pack_nodes, im);
    return UNET_OK;
nomem:
    impl_release(im);
    return unet__fail(UNET_E_NOMEM, "out of memory building the fast inference plan");
}

int unet__fast_ensure_analyzed(struct unet__fast_impl *im)
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

int unet__fast_winograd_margin(const unet__fast_plan *fp)
{
    if (!fp->impl)
        return 0;
    const unet__graph *g = fp->impl->g;
    int64_t *scale = malloc((size_t)g->count * sizeof *scale), extra = 0;
    if (!scale)
        return 0;
    unet__graph_node_scales(g, scale);
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        if (nd->op == UNET__OP_CONV && wino_eligible(nd, g->nodes[nd->in[0]].channels, UNET__BLK))
            extra += WINO_COUPLING * scale[i];
    }
    free(scale);
    return extra > (1 << 20) ? 1 << 20 : (int)extra;
}
