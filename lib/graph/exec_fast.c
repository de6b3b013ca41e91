/*
 * The fast executor's run (see exec_fast.h, fast_impl.h): every node inside one OpenMP
 * parallel region, work split over (image, row, column range), (image, block, row) or groups
 * of Winograd tiles.
 */
#include "graph/exec_fast.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/fast_impl.h"

/* Floor division and modulo by WINO_OUT for possibly negative canvas origins. */
static int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t wino_phase(int64_t a) { return ((a % WINO_OUT) + WINO_OUT) % WINO_OUT; }

/* Chunk of tasks for dynamic scheduling: on a shared machine a thread may lose its core for
 * a while, and static shares would make the others wait at the next barrier. */
static int64_t dyn_chunk(int64_t tasks, int threads)
{
    const int64_t c = tasks / (DYN_CHUNKS_PER_THREAD * (int64_t)threads);
    return c < 1 ? 1 : c;
}

/* Per-thread scratch: input block pointers and row strides of the row kernel, one gathered
 * 6x6 patch, and the Winograd group buffers (V, then M). */
typedef struct tscratch {
    const float **ptr;
    int64_t *rs;
    float *V, *patch;
} tscratch;

/* Pixels per direct-convolution task along a row. */
static int64_t direct_range(int nblk, int k, int lanes, int64_t w, int pt)
{
    const int64_t per_col = (int64_t)k * nblk * lanes * (int64_t)sizeof(float);
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
    p += align_up((size_t)mb * sizeof(float *));
    t.rs = (int64_t *)p;
    p += align_up((size_t)mb * sizeof(int64_t));
    t.patch = (float *)p;
    p += align_up(WINO_POS * UNET__BLK * sizeof(float));
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

/* Row-kernel arguments shared by all calls of one convolution: k x k taps over nblk input
 * blocks of `lanes` into ncob output blocks (out_cob floats apart, out_ps floats per output
 * pixel), the activation fused when the kernels can. Weights, output and pixel count are set
 * per call. */
static unet__rowconv rowconv_args(const tscratch *ts, int nblk, int lanes, int k, int ncob,
                                  int64_t out_cob, int64_t out_ps, const float *bias, int act)
{
    unet__rowconv a;
    memset(&a, 0, sizeof a);
    a.nblk = nblk;
    a.lanes = lanes;
    a.kh = a.kw = k;
    a.in = ts->ptr;
    a.rs = ts->rs;
    a.w_cob = (int64_t)nblk * k * k * lanes * UNET__BLK;
    a.bias = bias;
    a.ncob = ncob;
    a.out_cob = out_cob;
    a.out_ps = out_ps;
    a.act = fused_act(act) ? act : UNET__ACT_NONE;
    return a;
}

/* The convolutions below get their node (nd, f), its input value and output tensor. */
static void run_direct(const run *r, const unet__node *nd, const fnode *f, const value *in,
                       const unet__btensor *out, int i)
{
    const int k = nd->k, pad = nd->pad, ncob = cdiv(nd->channels, UNET__BLK);
    const int64_t oh = r->h[i], ow = r->w[i];
    const int64_t xr = direct_range(f->nblk, k, f->in_lanes, ow, r->K->pix_tile);
    const int64_t nx = cdiv64(ow, xr), tasks = r->n * oh * nx;
    tscratch ts = thread_scratch(r);
    unet__rowconv a = rowconv_args(&ts, f->nblk, f->in_lanes, k, ncob, out->bstride, UNET__BLK,
                                   r->im->packed + f->b_off, f->act);
    a.w = r->im->packed + f->w_off;
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

/* Gather the input patch at (y, x) of one block, zero outside the tensor's interior. */
static void gather_patch(const unet__btensor *t, int64_t n, int b, int64_t y, int64_t x,
                         float *patch)
{
    for (int i = 0; i < WINO_IN; i++)
        for (int j = 0; j < WINO_IN; j++) {
            float *d = patch + (i * WINO_IN + j) * UNET__BLK;
            if (y + i < 0 || y + i >= t->h || x + j < 0 || x + j >= t->w)
                memset(d, 0, UNET__BLK * sizeof(float));
            else
                memcpy(d, unet__bt_at(t, n, b, y + i, x + j), UNET__BLK * sizeof(float));
        }
}

static void run_winograd(const run *r, const unet__node *nd, const fnode *f, const value *in,
                         const unet__btensor *out, int i, int threads)
{
    const int nblk = f->nblk, ncob = cdiv(nd->channels, UNET__BLK);
    const int64_t H = r->h[i], W = r->w[i];
    /* Block grid anchored at canvas multiples of WINO_OUT: the first block starts sy rows up. */
    const int64_t sy = wino_phase(fdiv(r->origin_y, r->scale[i]));
    const int64_t sx = wino_phase(fdiv(r->origin_x, r->scale[i]));
    const int64_t ty_n = cdiv64(H + sy, WINO_OUT), tx_n = cdiv64(W + sx, WINO_OUT);
    const int64_t per_img = ty_n * tx_n, tiles = r->n * per_img;
    const int64_t T = unet__fast_wino_group(nblk, ncob, tiles, threads, r->K->pix_tile);
    const int64_t groups = cdiv64(tiles, T);
    tscratch ts = thread_scratch(r);
    /* Planes of the WINO_POS positions, padded by one pixel so that the vectors of a tile do
     * not all fall into the same few cache sets. */
    const int64_t vstride = unet__fast_wino_plane(nblk, T);
    const int64_t mstride = unet__fast_wino_plane(ncob, T);
    float *V = ts.V, *M = ts.V + WINO_POS * vstride;
    const float *U = r->im->packed + f->u_off, *bias = r->im->packed + f->b_off;
    const int act = fused_act(f->act) ? f->act : UNET__ACT_NONE;

    /* The products: 1x1 "convolutions" of the transformed tiles, bias and activation later. */
    unet__rowconv a = rowconv_args(&ts, nblk, UNET__BLK, 1, ncob, T * UNET__BLK, UNET__BLK, NULL,
                                   UNET__ACT_NONE);
    for (int b = 0; b < nblk; b++)
        ts.rs[b] = 0;

#pragma omp for schedule(dynamic, 1)
    for (int64_t gi = 0; gi < groups; gi++) {
        const int64_t t0 = gi * T, nt = imin64(T, tiles - t0);
        /* Input transform, block by block so that only the WINO_IN rows of one block stream
         * in at a time (all blocks at once are too many streams for the prefetchers). */
        int b = 0;
        for (int s = 0; s < in->nseg; s++) {
            const unet__btensor *src = &in->seg[s];
            const int64_t zb = src->border;
            for (int bl = 0; bl < src->nblk; bl++, b++)
                for (int64_t t = 0; t < nt; t++) {
                    const int64_t id = t0 + t, n = id / per_img;
                    const int64_t y0 = (id % per_img) / tx_n * WINO_OUT - sy;
                    const int64_t x0 = (id % per_img) % tx_n * WINO_OUT - sx;
                    float *dst = V + ((int64_t)b * T + t) * UNET__BLK;
                    if (y0 - 1 >= -zb && y0 + WINO_OUT < H + zb && x0 - 1 >= -zb &&
                        x0 + WINO_OUT < W + zb) {
                        r->K->wino_in(unet__bt_at(src, n, bl, y0 - 1, x0 - 1), src->rstride,
                                      dst, vstride);
                    } else {
                        gather_patch(src, n, bl, y0 - 1, x0 - 1, ts.patch);
                        r->K->wino_in(ts.patch, WINO_IN * UNET__BLK, dst, vstride);
                    }
                }
        }
        /* WINO_POS products: M[xi] = V[xi] U[xi] over the group's tiles. */
        a.npix = nt;
        for (int xi = 0; xi < WINO_POS; xi++) {
            for (int b = 0; b < nblk; b++)
                ts.ptr[b] = V + xi * vstride + (int64_t)b * T * UNET__BLK;
            a.w = U + (size_t)xi * ncob * nblk * FAST_WBLOCK;
            a.out = M + xi * mstride;
            r->K->rowconv(&a);
        }
        /* Output transform, bias and activation into the output tensor, block by block. */
        for (int cob = 0; cob < ncob; cob++)
            for (int64_t t = 0; t < nt; t++) {
                const int64_t id = t0 + t, n = id / per_img;
                const int64_t y0 = (id % per_img) / tx_n * WINO_OUT - sy;
                const int64_t x0 = (id % per_img) % tx_n * WINO_OUT - sx;
                const int rb = (int)imax64(0, -y0), re = (int)imin64(WINO_OUT, H - y0);
                const int cb = (int)imax64(0, -x0), ce = (int)imin64(WINO_OUT, W - x0);
                r->K->wino_out(M + ((int64_t)cob * T + t) * UNET__BLK, mstride,
                               bias + cob * UNET__BLK, act,
                               unet__bt_at(out, n, cob, y0 + rb, x0 + cb), out->rstride, rb, re,
                               cb, ce);
            }
    }
    post_act(out, r->n, f->act);
}

static void run_convt(const run *r, const unet__node *nd, const fnode *f, const value *in,
                      const unet__btensor *out)
{
    const int fct = nd->factor, ncob = cdiv(nd->channels, UNET__BLK);
    const int64_t ih = r->h[nd->in[0]], iw = r->w[nd->in[0]], tasks = r->n * ih;
    tscratch ts = thread_scratch(r);
    /* Each of the fct x fct output phases is a 1x1 convolution of the input rows. */
    unet__rowconv a = rowconv_args(&ts, f->nblk, UNET__BLK, 1, ncob, out->bstride,
                                   (int64_t)fct * UNET__BLK, r->im->packed + f->b_off, f->act);
    a.npix = iw;
#pragma omp for schedule(dynamic, dyn_chunk(tasks, r->threads))
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t y = t % ih, b = t / ih;
        block_ptrs(in, b, y, 0, ts.ptr, ts.rs);
        for (int dy = 0; dy < fct; dy++)
            for (int dx = 0; dx < fct; dx++) {
                a.w = r->im->packed + f->w_off +
                      (size_t)(dy * fct + dx) * ncob * f->nblk * FAST_WBLOCK;
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
        for (int s = 0; s < in->nseg && cat.nseg < FAST_MAXSEG; s++)
            cat.seg[cat.nseg++] = in->seg[s];
        for (int s = 0; s < b->nseg && cat.nseg < FAST_MAXSEG; s++)
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
            memset(unet__bt_at(out, n, b, y, 0), 0, (size_t)out->w * UNET__BLK * sizeof(float));
        int coff = 0;
        for (int s = 0; s < cat.nseg; s++) {
            const unet__btensor *t = &cat.seg[s];
            for (int ch = 0; ch < t->c; ch++) {
                const float *src = unet__bt_at(t, n, ch / t->lanes, y, 0) + ch % t->lanes;
                float *dst = unet__bt_at(out, n, (coff + ch) / UNET__BLK, y, 0) +
                             (coff + ch) % UNET__BLK;
                for (int64_t x = 0; x < out->w; x++)
                    dst[x * UNET__BLK] = src[x * t->lanes];
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
    if (!unet__fast_is_producer(f->kind))
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
            run_winograd(r, nd, f, &r->val[nd->in[0]], out, i, threads);
        else
            run_direct(r, nd, f, &r->val[nd->in[0]], out, i);
        break;
    case K_CONVT:
        run_convt(r, nd, f, &r->val[nd->in[0]], out);
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
        const float *sc = f->s_off != FAST_NONE_OFF ? im->packed + f->s_off : NULL;
        const float *sh = sc ? sc + blk_floats(nd->channels) : NULL;
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++)
            unet__blk_affine_act(in, out, sc, sh, 0, f->act, row, row + 1);
        break;
    }
    case K_GN: {
        const int64_t tasks = n * nd->groups, width = (int64_t)out->nblk * UNET__BLK;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            unet__blk_group_stats(in, nd->groups, UNET__NORM_EPS, r->gn_stats, t, t + 1);
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

/* The kernel set of a call, or NULL for the reference executor; fails on an unsupported ISA
 * and makes sure the plan is analysed. */
static int resolve_kernels(struct unet__fast_impl *im, const unet__exec_opts *opts,
                           const unet__kernels **K)
{
    const int isa = opts->isa >= 0 ? opts->isa : unet__isa_default();
    *K = NULL;
    if (isa == UNET__ISA_REFERENCE && !opts->kernels)
        return UNET_OK;
    int rc = unet__fast_ensure_analyzed(im);
    if (rc != UNET_OK)
        return rc;
    *K = opts->kernels ? opts->kernels : unet__kernels_get(isa);
    if (!*K)
        return unet__fail(UNET_E_UNSUPPORTED, "instruction set %s is not supported here",
                          unet__isa_name(isa));
    return UNET_OK;
}

/* The start of both entry points: default options, the plan's internals, the kernel set. */
static int enter(const unet__fast_plan *fp, const unet__exec_opts **opts,
                 struct unet__fast_impl **im, const unet__kernels **K)
{
    static const unet__exec_opts defaults = UNET__EXEC_OPTS_DEFAULT;
    if (!*opts)
        *opts = &defaults;
    *im = fp->impl;
    if (!*im)
        return unet__fail(UNET_E_INTERNAL, "fast executor: no plan");
    return resolve_kernels(*im, *opts, K);
}

int unet__exec_fast_workspace(const unet__fast_plan *fp, int64_t n, int64_t h, int64_t w,
                              int threads, const unet__exec_opts *opts, size_t *bytes)
{
    *bytes = 0;
    struct unet__fast_impl *im;
    const unet__kernels *K;
    int rc = enter(fp, &opts, &im, &K);
    if (rc != UNET_OK || !K)
        return rc;
    char *meta = malloc(unet__fast_layout_meta(im));
    if (!meta)
        return unet__fail(UNET_E_NOMEM, "out of memory planning the forward pass");
    run r;
    placed *pl;
    size_t arena, gn_stat;
    rc = unet__fast_layout(im, K, opts, n, h, w, threads < 1 ? 1 : threads, meta, &r, &pl,
                           &arena, &gn_stat, bytes);
    free(meta);
    return rc;
}

int unet__exec_fast(const unet__fast_plan *fp, const float *input, int64_t n, int64_t h,
                    int64_t w, float *output, int threads, const unet__exec_opts *opts)
{
    if (threads < 1)
        threads = 1;
    struct unet__fast_impl *im;
    const unet__kernels *K;
    int rc = enter(fp, &opts, &im, &K);
    if (rc != UNET_OK)
        return rc;
    if (!K)
        return unet__exec_ref(im->ref, input, n, h, w, output, threads);
    const unet__graph *g = im->g;
    const int count = g->count;
    char *meta = malloc(unet__fast_layout_meta(im));
    if (!meta)
        return unet__fail(UNET_E_NOMEM, "out of memory starting the forward pass");
    run r;
    placed *pl;
    size_t arena, gn_stat_bytes, total;
    rc = unet__fast_layout(im, K, opts, n, h, w, threads, meta, &r, &pl, &arena, &gn_stat_bytes,
                           &total);
    if (rc != UNET_OK) {
        free(meta);
        return rc;
    }
    r.input = input;
    r.output = output;
    size_t base_bytes = 0;
    char *base = unet__fast_arena_get(im, total, &base_bytes);
    if (!base) {
        free(meta);
        return unet__fail(UNET_E_NOMEM, "out of memory for the forward pass (%zu MiB for %lld "
                                        "x %lld x %lld)",
                          total >> 20, (long long)n, (long long)h, (long long)w);
    }
    r.thread_scratch = base + arena;
    r.gn_stats = (double *)(r.thread_scratch + r.thread_bytes * (size_t)threads);
    r.gn_coef = (float *)((char *)r.gn_stats + gn_stat_bytes);

    unet__fast_bind_values(im, &r, pl, base);
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
    unet__fast_arena_put(im, base, base_bytes);
    free(meta);
    return UNET_OK;
}
