/*
 * The fast executor's run (see exec_fast.h, fast_impl.h): each node is one parallel loop of
 * the library's pool (core/pool.h), two for group norm, with work split over (image, row,
 * column range), (image, block, row) or groups of Winograd tiles. A node's loop also zeroes its
 * output's border and applies the activations the kernels do not fuse, so a layer costs one
 * join, not three.
 */
#include "graph/exec_fast.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pool.h"
#include "core/status.h"
#include "graph/fast_impl.h"

/* Floor division and modulo by WINO_OUT for possibly negative canvas origins. */
static int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int64_t wino_phase(int64_t a) { return ((a % WINO_OUT) + WINO_OUT) % WINO_OUT; }

/* Chunk of tasks for dynamic scheduling: on a shared machine a thread may lose its core for
 * a while, and fixed shares would make the others wait at the end of the loop. */
static int64_t dyn_chunk(int64_t tasks, int threads)
{
    return unet__pool_chunk(tasks, threads, DYN_CHUNKS_PER_THREAD, 1);
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

static tscratch thread_scratch(const run *r, int tid)
{
    tscratch t;
    char *p = r->thread_scratch + r->thread_bytes * (size_t)tid;
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

/* An activation the kernels do not fuse (ELU, sigmoid), applied by the task that just stored
 * rows [y0, y1) x columns [x0, x1) of image n (every block): the arithmetic of a pass of its
 * own, without the join before it. */
static void act_span(const unet__btensor *out, int64_t n, int64_t y0, int64_t y1, int64_t x0,
                     int64_t x1, int act)
{
    if (fused_act(act))
        return;
    unet__btensor v = *out;
    v.data = unet__bt_at(out, n, 0, y0, x0);
    v.h = y1 - y0;
    v.w = x1 - x0;
    v.border = 0;
    unet__blk_affine_act(&v, &v, NULL, NULL, 0, act, 0, (int64_t)v.nblk * v.h);
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

/* One parallel loop of a node. Its first `nzero` tasks zero the border of the output's planes
 * (plane = image x block; the work never writes the border, so both share the loop), the next
 * `tasks` are the node's work, which `work` does for tasks [t0, t1) on participant `tid`. */
typedef struct step {
    const run *r;
    const unet__node *nd;
    const fnode *f;
    const value *in; /* the input value, NULL for the network input */
    const unet__btensor *out;
    int node;
    int in_place;
    int64_t nzero, tasks, chunk;
    void (*work)(const struct step *s, int64_t t0, int64_t t1, int tid);
    int64_t xr, nx;                   /* direct convolution: pixels per task, tasks per row */
    int64_t sy, sx, tx_n, per_img, tiles, T, vstride, mstride; /* Winograd (run_winograd) */
    value cat;                        /* copy: the value materialised */
    int64_t c0;                       /* output unpack: first channel of the segment */
    int unpack;                       /* direct convolution: also unpack the network output */
} step;

static void step_body(void *ctx, int64_t b, int64_t e, int tid)
{
    const step *s = ctx;
    if (b < s->nzero) {
        const int64_t ze = imin64(e, s->nzero);
        unet__blk_zero_border(s->out, b, ze);
        b = ze;
    }
    if (b < e) {
        const unsigned fpenv = unet__fpenv_enter();
        s->work(s, b - s->nzero, e - s->nzero, tid);
        unet__fpenv_leave(fpenv);
    }
}

static void run_step(step *s)
{
    if (!s->chunk)
        s->chunk = dyn_chunk(s->nzero + s->tasks, s->r->threads);
    unet__pool_for(s->r->threads, s->nzero + s->tasks, s->chunk, step_body, s);
}

/* ---- convolutions ---- */

/* Task: (image, output row, column range). */
static void direct_tasks(const step *s, int64_t t0, int64_t t1, int tid)
{
    const run *r = s->r;
    const unet__node *nd = s->nd;
    const fnode *f = s->f;
    const int64_t oh = r->h[s->node], ow = r->w[s->node];
    tscratch ts = thread_scratch(r, tid);
    unet__rowconv a = rowconv_args(&ts, f->nblk, f->in_lanes, nd->k, cdiv(nd->channels, UNET__BLK),
                                   s->out->bstride, UNET__BLK, r->im->packed + f->b_off, f->act);
    a.w = r->im->packed + f->w_off;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t xi = t % s->nx, y = (t / s->nx) % oh, b = t / (s->nx * oh);
        const int64_t x0 = xi * s->xr;
        block_ptrs(s->in, b, y - nd->pad, x0 - nd->pad, ts.ptr, ts.rs);
        a.out = unet__bt_at(s->out, b, 0, y, x0);
        a.npix = imin64(s->xr, ow - x0);
        r->K->rowconv(&a);
        act_span(s->out, b, y, y + 1, x0, x0 + a.npix, f->act);
        for (int blk = 0; s->unpack && blk < s->out->nblk; blk++) {
            const int64_t row = (b * s->out->nblk + blk) * oh + y;
            unet__blk_unpack_cols(s->out, r->output, s->out->c, 0, row, row + 1, x0,
                                  x0 + a.npix);
        }
    }
}

static void plan_direct(step *s)
{
    const run *r = s->r;
    const int64_t oh = r->h[s->node], ow = r->w[s->node];
    s->xr = direct_range(s->f->nblk, s->nd->k, s->f->in_lanes, ow, r->K->pix_tile);
    s->nx = cdiv64(ow, s->xr);
    s->tasks = r->n * oh * s->nx;
    s->chunk = dyn_chunk(s->tasks, r->threads);
    s->work = direct_tasks;
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

/* Task: one group of T Winograd tiles, through input transform, products and output
 * transform. */
static void winograd_tasks(const step *s, int64_t g0, int64_t g1, int tid)
{
    const run *r = s->r;
    const fnode *f = s->f;
    const value *in = s->in;
    const unet__btensor *out = s->out;
    const int nblk = f->nblk, ncob = cdiv(s->nd->channels, UNET__BLK);
    const int64_t H = r->h[s->node], W = r->w[s->node];
    const int64_t sy = s->sy, sx = s->sx, tx_n = s->tx_n, per_img = s->per_img, T = s->T;
    const int64_t vstride = s->vstride, mstride = s->mstride;
    tscratch ts = thread_scratch(r, tid);
    float *V = ts.V, *M = ts.V + WINO_POS * vstride;
    const float *U = r->im->packed + f->u_off, *bias = r->im->packed + f->b_off;
    const int act = fused_act(f->act) ? f->act : UNET__ACT_NONE;

    /* The products: 1x1 "convolutions" of the transformed tiles, bias and activation later. */
    unet__rowconv a = rowconv_args(&ts, nblk, UNET__BLK, 1, ncob, T * UNET__BLK, UNET__BLK, NULL,
                                   UNET__ACT_NONE);
    for (int b = 0; b < nblk; b++)
        ts.rs[b] = 0;

    for (int64_t gi = g0; gi < g1; gi++) {
        const int64_t t0 = gi * T, nt = imin64(T, s->tiles - t0);
        /* Input transform, block by block so that only the WINO_IN rows of one block stream
         * in at a time (all blocks at once are too many streams for the prefetchers). */
        int b = 0;
        for (int sg = 0; sg < in->nseg; sg++) {
            const unet__btensor *src = &in->seg[sg];
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
            for (int bb = 0; bb < nblk; bb++)
                ts.ptr[bb] = V + xi * vstride + (int64_t)bb * T * UNET__BLK;
            a.w = U + (size_t)xi * ncob * nblk * FAST_WBLOCK;
            a.out = M + xi * mstride;
            r->K->rowconv(&a);
        }
        /* Output transform, bias and activation into the output tensor, block by block; then,
         * in one more pass, the activation the transform cannot fuse, tile by tile. */
        const int passes = fused_act(f->act) ? ncob : ncob + 1;
        for (int cob = 0; cob < passes; cob++)
            for (int64_t t = 0; t < nt; t++) {
                const int64_t id = t0 + t, n = id / per_img;
                const int64_t y0 = (id % per_img) / tx_n * WINO_OUT - sy;
                const int64_t x0 = (id % per_img) % tx_n * WINO_OUT - sx;
                const int rb = (int)imax64(0, -y0), re = (int)imin64(WINO_OUT, H - y0);
                const int cb = (int)imax64(0, -x0), ce = (int)imin64(WINO_OUT, W - x0);
                if (cob < ncob)
                    r->K->wino_out(M + ((int64_t)cob * T + t) * UNET__BLK, mstride,
                                   bias + cob * UNET__BLK, act,
                                   unet__bt_at(out, n, cob, y0 + rb, x0 + cb), out->rstride,
                                   rb, re, cb, ce);
                else
                    act_span(out, n, y0 + rb, y0 + re, x0 + cb, x0 + ce, f->act);
            }
    }
}

/* Block grid anchored at canvas multiples of WINO_OUT: the first block starts sy rows up. */
static void plan_winograd(step *s)
{
    const run *r = s->r;
    const int i = s->node, nblk = s->f->nblk, ncob = cdiv(s->nd->channels, UNET__BLK);
    s->sy = wino_phase(fdiv(r->origin_y, r->scale[i]));
    s->sx = wino_phase(fdiv(r->origin_x, r->scale[i]));
    const int64_t ty_n = cdiv64(r->h[i] + s->sy, WINO_OUT);
    s->tx_n = cdiv64(r->w[i] + s->sx, WINO_OUT);
    s->per_img = ty_n * s->tx_n;
    s->tiles = r->n * s->per_img;
    s->T = unet__fast_wino_group(nblk, ncob, s->tiles, r->threads, r->K->pix_tile);
    /* Planes of the WINO_POS positions, padded by one pixel so that the vectors of a tile do
     * not all fall into the same few cache sets. */
    s->vstride = unet__fast_wino_plane(nblk, s->T);
    s->mstride = unet__fast_wino_plane(ncob, s->T);
    s->tasks = cdiv64(s->tiles, s->T);
    s->chunk = 1;
    s->work = winograd_tasks;
}

/* Task: (image, input row); each of the fct x fct output phases is a 1x1 convolution of it. */
static void convt_tasks(const step *s, int64_t t0, int64_t t1, int tid)
{
    const run *r = s->r;
    const fnode *f = s->f;
    const int fct = s->nd->factor, ncob = cdiv(s->nd->channels, UNET__BLK);
    const int64_t ih = r->h[s->nd->in[0]], iw = r->w[s->nd->in[0]];
    tscratch ts = thread_scratch(r, tid);
    unet__rowconv a = rowconv_args(&ts, f->nblk, UNET__BLK, 1, ncob, s->out->bstride,
                                   (int64_t)fct * UNET__BLK, r->im->packed + f->b_off, f->act);
    a.npix = iw;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t y = t % ih, b = t / ih;
        block_ptrs(s->in, b, y, 0, ts.ptr, ts.rs);
        for (int dy = 0; dy < fct; dy++)
            for (int dx = 0; dx < fct; dx++) {
                a.w = r->im->packed + f->w_off +
                      (size_t)(dy * fct + dx) * ncob * f->nblk * FAST_WBLOCK;
                a.out = unet__bt_at(s->out, b, 0, y * fct + dy, dx);
                r->K->rowconv(&a);
            }
        act_span(s->out, b, y * fct, (y + 1) * fct, 0, iw * fct, f->act);
    }
}

/* ---- row-wise nodes: task = output row (image, block, row) unless said otherwise ---- */

static void pack_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    unet__blk_pack(s->r->input, s->out, t0, t1);
}

static void resample_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const unet__btensor *in = &s->in->seg[0];
    const int fct = s->nd->factor;
    switch (s->f->kind) {
    case K_MAXPOOL:
        unet__blk_maxpool(in, s->out, fct, t0, t1);
        break;
    case K_AVGPOOL:
        unet__blk_avgpool(in, s->out, fct, t0, t1);
        break;
    case K_NEAREST:
        unet__blk_up_nearest(in, s->out, fct, t0, t1);
        break;
    default:
        unet__blk_up_bilinear(in, s->out, fct, t0, t1);
        break;
    }
}

static void affine_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const struct unet__fast_impl *im = s->r->im;
    const float *sc = s->f->s_off != FAST_NONE_OFF ? im->packed + s->f->s_off : NULL;
    const float *sh = sc ? sc + blk_floats(s->nd->channels) : NULL;
    unet__blk_affine_act(&s->in->seg[0], s->out, sc, sh, 0, s->f->act, t0, t1);
}

/* Group norm: statistics (task = image x group), coefficients on the caller, then rows. */
static void gn_stats_tasks(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    unet__blk_group_stats(&s->in->seg[0], s->nd->groups, UNET__NORM_EPS, s->r->gn_stats, t0,
                          t1);
}

static void gn_apply_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const int64_t width = (int64_t)s->out->nblk * UNET__BLK;
    const float *coef = s->r->gn_coef;
    unet__blk_affine_act(&s->in->seg[0], s->out, coef, coef + s->r->n * width, width,
                         s->f->act, t0, t1);
}

static void run_gn(step *s)
{
    const run *r = s->r;
    const unet__btensor *in = &s->in->seg[0];
    const int64_t width = (int64_t)s->out->nblk * UNET__BLK;
    s->tasks = r->n * s->nd->groups;
    s->work = gn_stats_tasks;
    run_step(s);
    const unsigned fpenv = unet__fpenv_enter();
    unet__blk_group_coeffs(in, s->nd->groups, r->gn_stats, r->im->ref->weight[s->node],
                           r->im->ref->bias[s->node], r->gn_coef, r->gn_coef + r->n * width,
                           r->n);
    unet__fpenv_leave(fpenv);
    s->nzero = 0;
    s->tasks = r->n * s->out->nblk * s->out->h;
    s->chunk = 0;
    s->work = gn_apply_rows;
    run_step(s);
}

/* Softmax, task = pixel row (image, row): its blocks copied over unless in place, then the
 * softmax across them. */
static void softmax_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const unet__btensor *out = s->out;
    for (int64_t t = t0; t < t1; t++) {
        if (!s->in_place) {
            const int64_t n = t / out->h, y = t % out->h;
            for (int b = 0; b < out->nblk; b++) {
                const int64_t row = (n * out->nblk + b) * out->h + y;
                unet__blk_affine_act(&s->in->seg[0], out, NULL, NULL, 0, UNET__ACT_NONE, row,
                                     row + 1);
            }
        }
        unet__blk_softmax(out, t, t + 1);
    }
}

/* Materialise a value (segments, maybe views) into a tensor of its own, channel by channel;
 * task = (image, row). */
static void copy_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const unet__btensor *out = s->out;
    for (int64_t row = t0; row < t1; row++) {
        const int64_t y = row % out->h, n = row / out->h;
        for (int b = 0; b < out->nblk; b++)
            memset(unet__bt_at(out, n, b, y, 0), 0, (size_t)out->w * UNET__BLK * sizeof(float));
        int coff = 0;
        for (int sg = 0; sg < s->cat.nseg; sg++) {
            const unet__btensor *t = &s->cat.seg[sg];
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

static void plan_copy(step *s)
{
    const run *r = s->r;
    const int i = s->node;
    const value *in = s->in;
    const unet__node *nd = s->nd;
    value *cat = &s->cat;
    if (nd->op == UNET__OP_CONCAT) {
        const value *b = &r->val[nd->in[1]];
        cat->nseg = 0;
        for (int sg = 0; sg < in->nseg && cat->nseg < FAST_MAXSEG; sg++)
            cat->seg[cat->nseg++] = in->seg[sg];
        for (int sg = 0; sg < b->nseg && cat->nseg < FAST_MAXSEG; sg++)
            cat->seg[cat->nseg++] = b->seg[sg];
    } else { /* crop: a view of the input's single segment */
        const unet__btensor *t = &in->seg[0];
        cat->nseg = 1;
        cat->seg[0] = *t;
        cat->seg[0].data = unet__bt_at(t, 0, 0, (t->h - r->h[i]) / 2, (t->w - r->w[i]) / 2);
        cat->seg[0].h = r->h[i];
        cat->seg[0].w = r->w[i];
    }
    s->tasks = r->n * s->out->h;
    s->work = copy_rows;
}

/* The network output, NCHW, from one segment of the output value. */
static void unpack_rows(const step *s, int64_t t0, int64_t t1, int tid)
{
    (void)tid;
    const run *r = s->r;
    unet__blk_unpack(s->out, r->output, r->im->g->nodes[r->im->g->output].channels, s->c0, t0,
                     t1);
}

/* Node i's loop; `unpack`: node i is the last, a direct convolution whose tensor is the
 * network output, and its tasks unpack what they computed (no loop of its own for that). */
static void run_node(const run *r, int i, int unpack)
{
    const struct unet__fast_impl *im = r->im;
    const fnode *f = &im->nodes[i];
    const unet__node *nd = &im->g->nodes[i];
    if (!unet__fast_is_producer(f->kind))
        return;
    step s;
    memset(&s, 0, sizeof s);
    s.r = r;
    s.nd = nd;
    s.f = f;
    s.node = i;
    s.out = &r->val[i].seg[0];
    s.in = nd->in[0] >= 0 ? &r->val[nd->in[0]] : NULL;
    s.in_place = f->kind != K_INPUT && nd->in[0] >= 0 && im->nodes[nd->in[0]].nseg == 1 &&
                 im->nodes[im->nodes[nd->in[0]].segs[0].node].store == f->store;
    s.nzero = s.in_place ? 0 : r->n * s.out->nblk;
    s.tasks = r->n * s.out->nblk * s.out->h;
    switch (f->kind) {
    case K_INPUT:
        s.work = pack_rows;
        break;
    case K_CONV:
        if (f->wino && !r->precise) {
            plan_winograd(&s);
        } else {
            plan_direct(&s);
            s.unpack = unpack;
        }
        break;
    case K_CONVT:
        s.tasks = r->n * r->h[nd->in[0]];
        s.chunk = dyn_chunk(s.tasks, r->threads);
        s.work = convt_tasks;
        break;
    case K_MAXPOOL:
    case K_AVGPOOL:
    case K_NEAREST:
    case K_BILINEAR:
        s.work = resample_rows;
        break;
    case K_AFFINE:
        s.work = affine_rows;
        break;
    case K_GN:
        run_gn(&s);
        return;
    case K_SOFTMAX:
        s.tasks = r->n * s.out->h;
        s.work = softmax_rows;
        break;
    case K_COPY:
        plan_copy(&s);
        break;
    default:
        s.tasks = 0;
        break;
    }
    run_step(&s);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
    *K = NULL; /* set on every path, the no-plan return too (-O3 flags the callers' reads) */
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

int unet__exec_fast_reserve(const unet__fast_plan *fp, int64_t n, int64_t h, int64_t w,
                            int threads, const unet__exec_opts *opts)
{
    size_t bytes = 0, got = 0;
    int rc = unet__exec_fast_workspace(fp, n, h, w, threads, opts, &bytes);
    if (rc != UNET_OK || bytes == 0)
        return rc;
    char *arena = unet__fast_arena_get(fp->impl, bytes, &got);
    if (!arena)
        return unet__fail(UNET_E_NOMEM, "out of memory for the forward pass (%zu MiB for %lld "
                                        "x %lld x %lld)",
                          bytes >> 20, (long long)n, (long long)h, (long long)w);
    unet__fast_arena_put(fp->impl, arena, got);
    return UNET_OK;
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
    /* The output unpacked by the last node's own tasks when it is a direct convolution (the
     * usual 1x1 output layer) whose tensor is the output as it is. */
    int last = count - 1;
    while (last > 0 && !unet__fast_is_producer(im->nodes[last].kind))
        last--;
    const unet__btensor *lt = &r.val[last].seg[0];
    const int fuse_unpack = im->nodes[last].kind == K_CONV &&
                            !(im->nodes[last].wino && !r.precise) && outv->nseg == 1 &&
                            outv->seg[0].data == lt->data && outv->seg[0].h == lt->h &&
                            outv->seg[0].w == lt->w && outv->seg[0].c == lt->c;
    double *times = opts->node_seconds;
    double t0 = times ? seconds() : 0;
    for (int i = 0; i < count; i++) {
        run_node(&r, i, fuse_unpack && i == last);
        if (times) {
            const double t1 = seconds();
            times[i] = t1 - t0;
            t0 = t1;
        }
    }
    int64_t c0 = 0;
    for (int sg = 0; sg < outv->nseg && !fuse_unpack; sg++) {
        step s;
        memset(&s, 0, sizeof s);
        s.r = &r;
        s.out = &outv->seg[sg];
        s.tasks = n * s.out->nblk * s.out->h;
        s.c0 = c0;
        s.work = unpack_rows;
        run_step(&s);
        c0 += s.out->c;
    }
    if (times)
        times[count - 1] += seconds() - t0;
    unet__fast_arena_put(im, base, base_bytes);
    free(meta);
    return UNET_OK;
}
