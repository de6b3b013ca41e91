#include "graph/exec_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

void unet__plan_clear(unet__plan *plan)
{
    free(plan->weight);
    free(plan->bias);
    free(plan->identity);
    free(plan->consumers);
    free(plan->folded);
    memset(plan, 0, sizeof *plan);
}

/* Fold y = bn(conv(x)) into conv: scale each output channel's weights and shift its bias. */
static void fold_batchnorm(const unet__graph *g, float *const *params, const unet__node *conv,
                           const unet__node *bn, float *w_out, float *b_out)
{
    const unet__param_spec *ws = &g->params[conv->param[0]];
    int64_t cout = ws->shape[0], per_out = ws->numel / cout;
    const float *w = params[conv->param[0]], *b = params[conv->param[1]];
    const float *gamma = params[bn->param[0]], *beta = params[bn->param[1]];
    const float *mean = params[bn->param[2]], *var = params[bn->param[3]];
    for (int64_t co = 0; co < cout; co++) {
        double scale = gamma[co] / sqrt((double)var[co] + UNET__NORM_EPS);
        for (int64_t i = 0; i < per_out; i++)
            w_out[co * per_out + i] = (float)(w[co * per_out + i] * scale);
        b_out[co] = (float)((b[co] - mean[co]) * scale + beta[co]);
    }
}

int unet__plan_build(const unet__graph *g, float *const *params, unet__plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->graph = g;
    plan->params = params;
    size_t n = (size_t)g->count;
    plan->weight = calloc(n, sizeof *plan->weight);
    plan->bias = calloc(n, sizeof *plan->bias);
    plan->identity = calloc(n, sizeof *plan->identity);
    plan->consumers = calloc(n, sizeof *plan->consumers);
    if (!plan->weight || !plan->bias || !plan->identity || !plan->consumers)
        goto nomem;
    for (int i = 0; i < g->count; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0)
                plan->consumers[g->nodes[i].in[k]]++;
    plan->consumers[g->output]++;

    /* A batchnorm folds into the conv before it when it is that conv's only reader. */
    size_t folded_len = 0;
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        if (nd->op == UNET__OP_BATCHNORM && g->nodes[nd->in[0]].op == UNET__OP_CONV &&
            plan->consumers[nd->in[0]] == 1)
            folded_len += (size_t)g->params[g->nodes[nd->in[0]].param[0]].numel +
                          (size_t)nd->channels;
    }
    if (folded_len && !(plan->folded = malloc(folded_len * sizeof(float))))
        goto nomem;
    float *next = plan->folded;
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        if (nd->param[0] >= 0)
            plan->weight[i] = params[nd->param[0]];
        if (nd->param[1] >= 0)
            plan->bias[i] = params[nd->param[1]];
        if (nd->op == UNET__OP_DROPOUT)
            plan->identity[i] = true;
        if (nd->op == UNET__OP_BATCHNORM && g->nodes[nd->in[0]].op == UNET__OP_CONV &&
            plan->consumers[nd->in[0]] == 1) {
            const unet__node *conv = &g->nodes[nd->in[0]];
            float *w = next, *b = next + g->params[conv->param[0]].numel;
            next = b + nd->channels;
            fold_batchnorm(g, params, conv, nd, w, b);
            plan->weight[nd->in[0]] = w;
            plan->bias[nd->in[0]] = b;
            plan->identity[i] = true;
        }
    }
    return UNET_OK;
nomem:
    unet__plan_clear(plan);
    return unet__fail(UNET_E_NOMEM, "out of memory building the inference plan");
}

/* Run-time bookkeeping: every node's output lives in a storage slot (its own, or the one of
 * the node it passed through or modified in place); a slot is freed after its last read. */
typedef struct run_state {
    float **data;     /* per node: its output */
    int *slot;        /* per node: the slot holding it */
    int *pending;     /* per slot: reads still to come */
    bool *owned;      /* per slot: allocated here (not the caller's input) */
    int64_t *h, *w;   /* per node: spatial size */
} run_state;

static void release_read(run_state *st, int node)
{
    int s = st->slot[node];
    if (--st->pending[s] == 0 && st->owned[s]) {
        unet__free_aligned(st->data[s]);
        st->owned[s] = false;
    }
}

static float *new_slot(run_state *st, int node, int64_t count, int consumers)
{
    float *p = unet__alloc_floats((size_t)count);
    if (!p)
        return NULL;
    st->data[node] = p;
    st->slot[node] = node;
    st->pending[node] = consumers;
    st->owned[node] = true;
    return p;
}

/* For element-wise ops: reuse the input's memory when no one else will read it. */
static float *inplace_or_copy(run_state *st, int node, int in, int64_t count, int consumers)
{
    int s = st->slot[in];
    if (st->pending[s] == 1 && st->owned[s]) {
        st->data[node] = st->data[in];
        st->slot[node] = s;
        st->pending[s] = consumers;
        return st->data[node];
    }
    float *p = new_slot(st, node, count, consumers);
    if (p) {
        memcpy(p, st->data[in], (size_t)count * sizeof(float));
        release_read(st, in);
    }
    return p;
}

static int run_node(const unet__plan *plan, run_state *st, int i, int64_t n, int threads)
{
    const unet__graph *g = plan->graph;
    const unet__node *nd = &g->nodes[i];
    int a = nd->in[0], b = nd->in[1];
    int64_t h = st->h[i], w = st->w[i], c = nd->channels;
    int64_t count = n * c * h * w;
    int cons = plan->consumers[i];
    int64_t ca = a >= 0 ? g->nodes[a].channels : 0;
    float *out;

    if (plan->identity[i]) { /* pass the input through */
        int s = st->slot[a];
        st->data[i] = st->data[a];
        st->slot[i] = s;
        st->pending[s] += cons - 1;
        return UNET_OK;
    }
    switch (nd->op) {
    case UNET__OP_ACT:
    case UNET__OP_BATCHNORM:
    case UNET__OP_GROUPNORM:
    case UNET__OP_SOFTMAX:
        if (!(out = inplace_or_copy(st, i, a, count, cons)))
            return UNET_E_NOMEM;
        if (nd->op == UNET__OP_ACT)
            unet__ref_activation(out, (size_t)count, nd->act);
        else if (nd->op == UNET__OP_SOFTMAX)
            unet__ref_softmax_channels(out, n, c, h * w, threads);
        else if (nd->op == UNET__OP_BATCHNORM)
            unet__ref_batchnorm(out, n, c, h * w, plan->weight[i], plan->bias[i],
                                plan->params[nd->param[2]], plan->params[nd->param[3]],
                                UNET__NORM_EPS, threads);
        else
            unet__ref_groupnorm(out, n, c, h * w, nd->groups, plan->weight[i], plan->bias[i],
                                UNET__NORM_EPS, threads);
        return UNET_OK;
    default:
        break;
    }

    if (!(out = new_slot(st, i, count, cons)))
        return UNET_E_NOMEM;
    const float *x = st->data[a];
    int64_t ha = st->h[a], wa = st->w[a];
    switch (nd->op) {
    case UNET__OP_CONV:
        unet__ref_conv2d(x, n, ca, ha, wa, plan->weight[i], plan->bias[i], c, nd->k, nd->pad, out,
                         threads);
        break;
    case UNET__OP_CONV_T:
        unet__ref_conv_transpose2d(x, n, ca, ha, wa, plan->weight[i], plan->bias[i], c,
                                   nd->factor, out, threads);
        break;
    case UNET__OP_MAXPOOL:
        unet__ref_maxpool2d(x, n, c, ha, wa, nd->factor, out, threads);
        break;
    case UNET__OP_AVGPOOL:
        unet__ref_avgpool2d(x, n, c, ha, wa, nd->factor, out, threads);
        break;
    case UNET__OP_UP_NEAREST:
        unet__ref_upsample_nearest2d(x, n, c, ha, wa, nd->factor, out, threads);
        break;
    case UNET__OP_UP_BILINEAR:
        unet__ref_upsample_bilinear2d(x, n, c, ha, wa, nd->factor, out, threads);
        break;
    case UNET__OP_CROP:
        unet__ref_copy_window(x, n, c, ha, wa, (ha - h) / 2, (wa - w) / 2, h, w, out, c, 0,
                              threads);
        break;
    case UNET__OP_CONCAT:
        unet__ref_copy_window(x, n, ca, h, w, 0, 0, h, w, out, c, 0, threads);
        unet__ref_copy_window(st->data[b], n, c - ca, h, w, 0, 0, h, w, out, c, ca, threads);
        break;
    default:
        return unet__fail(UNET_E_INTERNAL, "reference executor: unexpected op %d", nd->op);
    }
    release_read(st, a);
    if (b >= 0)
        release_read(st, b);
    return UNET_OK;
}

int unet__exec_ref(const unet__plan *plan, const float *input, int64_t n, int64_t h, int64_t w,
                   float *output, int threads)
{
    const unet__graph *g = plan->graph;
    size_t nn = (size_t)g->count;
    run_state st;
    st.data = calloc(nn, sizeof *st.data);
    st.slot = calloc(nn, sizeof *st.slot);
    st.pending = calloc(nn, sizeof *st.pending);
    st.owned = calloc(nn, sizeof *st.owned);
    st.h = calloc(nn, sizeof *st.h);
    st.w = calloc(nn, sizeof *st.w);
    int rc = UNET_OK;
    int64_t oh, ow;
    if (!st.data || !st.slot || !st.pending || !st.owned || !st.h || !st.w) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory starting the forward pass");
        goto done;
    }
    if (unet__graph_axis_size(g, h, &oh, st.h) != UNET_OK ||
        unet__graph_axis_size(g, w, &ow, st.w) != UNET_OK) {
        rc = unet__fail(UNET_E_SHAPE, "input %lldx%lld does not fit the network", (long long)h,
                        (long long)w);
        goto done;
    }
    /* The caller's input is node 0's slot; it is never written or freed. */
    st.data[0] = (float *)input;
    st.slot[0] = 0;
    st.pending[0] = plan->consumers[0];
    for (int i = 1; i < g->count && rc == UNET_OK; i++) {
        rc = run_node(plan, &st, i, n, threads);
        if (rc == UNET_E_NOMEM)
            unet__fail(rc, "out of memory in the forward pass (node %d, %lld x %lld x %lld x "
                           "%lld floats)",
                       i, (long long)n, (long long)g->nodes[i].channels, (long long)st.h[i],
                       (long long)st.w[i]);
    }
    if (rc == UNET_OK) {
        int o = g->output;
        memcpy(output, st.data[o],
               (size_t)(n * g->nodes[o].channels * st.h[o] * st.w[o]) * sizeof(float));
    }
    /* Free whatever is left (everything, on success, is the output slot; on failure, more). */
    for (size_t i = 0; i < nn; i++)
        if (st.owned && st.owned[i])
            unet__free_aligned(st.data[i]);
done:
    free(st.data);
    free(st.slot);
    free(st.pending);
    free(st.owned);
    free(st.h);
    free(st.w);
    return rc;
}
