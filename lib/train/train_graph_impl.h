/*
 * Body of the training executor for one element type, included by train_graph.c with T and S
 * defined. See train_graph.h.
 */
#define TG_CAT2(a, b) a##_##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, S)
#define TG TG_CAT(unet__tg, S)

void FN(unet__tg_clear)(TG *tg)
{
    if (tg->out)
        for (int i = 0; i < tg->g->count; i++) {
            unet__free_aligned(tg->out[i]);
            unet__free_aligned(tg->grad[i]);
            free(tg->mean[i]);
            free(tg->rstd[i]);
        }
    free(tg->h);
    free(tg->w);
    free(tg->out);
    free(tg->grad);
    free(tg->mean);
    free(tg->rstd);
    free(tg->batch_stats);
    free(tg->need);
    unet__scratch_free(&tg->scratch);
    memset(tg, 0, sizeof *tg);
}

int FN(unet__tg_init)(TG *tg, const unet__graph *g)
{
    memset(tg, 0, sizeof *tg);
    tg->g = g;
    size_t n = (size_t)g->count;
    tg->h = calloc(n, sizeof *tg->h);
    tg->w = calloc(n, sizeof *tg->w);
    tg->out = calloc(n, sizeof *tg->out);
    tg->grad = calloc(n, sizeof *tg->grad);
    tg->mean = calloc(n, sizeof *tg->mean);
    tg->rstd = calloc(n, sizeof *tg->rstd);
    tg->batch_stats = calloc(n, sizeof *tg->batch_stats);
    tg->need = calloc(n, sizeof *tg->need);
    if (!tg->h || !tg->w || !tg->out || !tg->grad || !tg->mean || !tg->rstd ||
        !tg->batch_stats || !tg->need) {
        FN(unet__tg_clear)(tg);
        return unet__fail(UNET_E_NOMEM, "out of memory for the training executor");
    }
    return UNET_OK;
}

static int64_t FN(node_count)(const TG *tg, int i)
{
    return tg->n * tg->g->nodes[i].channels * tg->h[i] * tg->w[i];
}

/* Size every buffer for a batch shape; kept across calls with the same shape. */
static int FN(reshape)(TG *tg, int64_t n, int64_t h, int64_t w)
{
    const unet__graph *g = tg->g;
    if (tg->n == n && tg->in_h == h && tg->in_w == w)
        return UNET_OK;
    for (int i = 0; i < g->count; i++) {
        unet__free_aligned(tg->out[i]);
        unet__free_aligned(tg->grad[i]);
        free(tg->mean[i]);
        free(tg->rstd[i]);
        tg->out[i] = tg->grad[i] = tg->mean[i] = tg->rstd[i] = NULL;
    }
    tg->n = 0;
    int64_t oh, ow;
    if (unet__graph_axis_size(g, h, &oh, tg->h) != UNET_OK ||
        unet__graph_axis_size(g, w, &ow, tg->w) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "a %lld x %lld patch does not fit the network",
                          (long long)h, (long long)w);
    tg->n = n;
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        size_t cnt = (size_t)FN(node_count)(tg, i);
        tg->out[i] = unet__alloc_aligned(cnt * sizeof(T));
        tg->grad[i] = unet__alloc_aligned(cnt * sizeof(T));
        if (!tg->out[i] || !tg->grad[i])
            goto nomem;
        size_t stats = nd->op == UNET__OP_BATCHNORM   ? (size_t)nd->channels
                       : nd->op == UNET__OP_GROUPNORM ? (size_t)(n * nd->groups)
                                                      : 0;
        if (stats) {
            tg->mean[i] = malloc(stats * sizeof(T));
            tg->rstd[i] = malloc(stats * sizeof(T));
            if (!tg->mean[i] || !tg->rstd[i])
                goto nomem;
        }
    }
    tg->in_h = h;
    tg->in_w = w;
    return UNET_OK;
nomem:
    tg->n = 0;
    return unet__fail(UNET_E_NOMEM, "out of memory for training activations (batch %lld, "
                                    "%lld x %lld)", (long long)n, (long long)h, (long long)w);
}

static bool FN(is_frozen)(const unet__tg_opts *o, int param)
{
    return param >= 0 && o->frozen && o->frozen[param];
}

int FN(unet__tg_forward)(TG *tg, T *const *params, const T *input, int64_t n, int64_t h,
                         int64_t w, const unet__tg_opts *o, int threads)
{
    const unet__graph *g = tg->g;
    int rc = FN(reshape)(tg, n, h, w);
    if (rc != UNET_OK)
        return rc;
    memcpy(tg->out[0], input, (size_t)FN(node_count)(tg, 0) * sizeof(T));
    for (int i = 1; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        const int a = nd->in[0], b = nd->in[1];
        const int64_t c = nd->channels, oh = tg->h[i], ow = tg->w[i];
        const int64_t ca = g->nodes[a].channels, ha = tg->h[a], wa = tg->w[a];
        const T *x = tg->out[a];
        T *y = tg->out[i];
        const T *wt = nd->param[0] >= 0 ? params[nd->param[0]] : NULL;
        const T *bs = nd->param[1] >= 0 ? params[nd->param[1]] : NULL;
        const int64_t count = FN(node_count)(tg, i);
        switch (nd->op) {
        case UNET__OP_CONV:
            rc = CONV_FWD(x, n, ca, ha, wa, wt, bs, c, nd->k, nd->pad, y);
            break;
        case UNET__OP_CONV_T:
            rc = CONVT_FWD(x, n, ca, ha, wa, wt, bs, c, nd->factor, y);
            break;
        case UNET__OP_MAXPOOL:
            FN(unet__rt_maxpool_fwd)(x, n, c, ha, wa, nd->factor, y, threads);
            break;
        case UNET__OP_AVGPOOL:
            FN(unet__rt_avgpool_fwd)(x, n, c, ha, wa, nd->factor, y, threads);
            break;
        case UNET__OP_UP_NEAREST:
            FN(unet__rt_up_nearest_fwd)(x, n, c, ha, wa, nd->factor, y, threads);
            break;
        case UNET__OP_UP_BILINEAR:
            FN(unet__rt_up_bilinear_fwd)(x, n, c, ha, wa, nd->factor, y, threads);
            break;
        case UNET__OP_CROP:
            FN(unet__rt_copy_window)(x, n, c, ha, wa, (ha - oh) / 2, (wa - ow) / 2, oh, ow, y, c,
                                     0, threads);
            break;
        case UNET__OP_CONCAT:
            FN(unet__rt_copy_window)(x, n, ca, oh, ow, 0, 0, oh, ow, y, c, 0, threads);
            FN(unet__rt_copy_window)(tg->out[b], n, c - ca, oh, ow, 0, 0, oh, ow, y, c, ca,
                                     threads);
            break;
        case UNET__OP_ACT:
            memcpy(y, x, (size_t)count * sizeof(T));
            FN(unet__rt_act_fwd)(y, count, nd->act, threads);
            break;
        case UNET__OP_SOFTMAX:
            memcpy(y, x, (size_t)count * sizeof(T));
            FN(unet__rt_softmax_fwd)(y, n, c, oh * ow, threads);
            break;
        case UNET__OP_BATCHNORM: {
            memcpy(y, x, (size_t)count * sizeof(T));
            T *rm = params[nd->param[2]], *rv = params[nd->param[3]];
            tg->batch_stats[i] = o->train && !FN(is_frozen)(o, nd->param[0]);
            if (tg->batch_stats[i])
                FN(unet__rt_bn_train_fwd)(y, n, c, oh * ow, wt, bs, tg->mean[i], tg->rstd[i],
                                          o->update_running ? rm : NULL,
                                          o->update_running ? rv : NULL, threads);
            else
                FN(unet__rt_bn_eval_fwd)(y, n, c, oh * ow, wt, bs, rm, rv, threads);
            break;
        }
        case UNET__OP_GROUPNORM:
            memcpy(y, x, (size_t)count * sizeof(T));
            FN(unet__rt_gn_fwd)(y, n, c, oh * ow, nd->groups, wt, bs, tg->mean[i], tg->rstd[i],
                                threads);
            break;
        case UNET__OP_DROPOUT:
            memcpy(y, x, (size_t)count * sizeof(T));
            if (o->train && o->dropout_p > 0)
                FN(unet__rt_dropout_fwd)(y, count, o->dropout_p,
                                         o->dropout_key ^ unet__hash64((uint64_t)i + 1),
                                         threads);
            break;
        default:
            return unet__fail(UNET_E_INTERNAL, "training executor: unexpected op %d", nd->op);
        }
        if (rc != UNET_OK)
            return rc;
    }
    return UNET_OK;
}

int FN(unet__tg_backward)(TG *tg, T *const *params, int from, const T *dfrom, T **pgrad,
                          T *dinput, const unet__tg_opts *o, int threads)
{
    const unet__graph *g = tg->g;
    if (tg->n == 0 || from < 1 || from >= g->count)
        return unet__fail(UNET_E_INTERNAL, "training executor: backward without forward");
    const int64_t n = tg->n;
    /* A node's gradient is needed when it, or a node it reads, has a trained parameter (or
     * it is the input and the input gradient is wanted). */
    for (int i = 0; i < g->count; i++) {
        const unet__node *nd = &g->nodes[i];
        bool need = i == 0 ? dinput != NULL : false;
        for (int k = 0; k < 4; k++)
            need |= nd->param[k] >= 0 && k < 2 && pgrad && pgrad[nd->param[k]] != NULL;
        for (int k = 0; k < 2; k++)
            need |= nd->in[k] >= 0 && tg->need[nd->in[k]];
        tg->need[i] = need;
    }
    if (pgrad)
        for (int p = 0; p < g->nparams; p++)
            if (pgrad[p])
                memset(pgrad[p], 0, (size_t)g->params[p].numel * sizeof(T));
    for (int i = 0; i <= from; i++)
        if (tg->need[i])
            memset(tg->grad[i], 0, (size_t)FN(node_count)(tg, i) * sizeof(T));
    if (tg->need[from])
        memcpy(tg->grad[from], dfrom, (size_t)FN(node_count)(tg, from) * sizeof(T));

    int rc = UNET_OK;
    for (int i = from; i >= 1 && rc == UNET_OK; i--) {
        if (!tg->need[i])
            continue;
        const unet__node *nd = &g->nodes[i];
        const int a = nd->in[0], b = nd->in[1];
        const int64_t c = nd->channels, oh = tg->h[i], ow = tg->w[i];
        const int64_t ca = g->nodes[a].channels, ha = tg->h[a], wa = tg->w[a];
        const T *x = tg->out[a], *y = tg->out[i], *dy = tg->grad[i];
        T *dx = tg->need[a] ? tg->grad[a] : NULL;
        const T *wt = nd->param[0] >= 0 ? params[nd->param[0]] : NULL;
        T *dw = nd->param[0] >= 0 && pgrad ? pgrad[nd->param[0]] : NULL;
        T *db = nd->param[1] >= 0 && pgrad ? pgrad[nd->param[1]] : NULL;
        const int64_t count = FN(node_count)(tg, i);
        switch (nd->op) {
        case UNET__OP_CONV:
            rc = CONV_BWD(x, dy, n, ca, ha, wa, wt, c, nd->k, nd->pad, dx, dw, db);
            break;
        case UNET__OP_CONV_T:
            if (dw || db)
                rc = CONVT_BWD_PARAM(x, dy, n, ca, ha, wa, c, nd->factor, dw, db);
            if (dx && rc == UNET_OK)
                rc = CONVT_BWD_DATA(dy, n, ca, ha, wa, wt, c, nd->factor, dx);
            break;
        case UNET__OP_MAXPOOL:
            if (dx)
                FN(unet__rt_maxpool_bwd)(x, dy, n, c, ha, wa, nd->factor, dx, threads);
            break;
        case UNET__OP_AVGPOOL:
            if (dx)
                FN(unet__rt_avgpool_bwd)(dy, n, c, ha, wa, nd->factor, dx, threads);
            break;
        case UNET__OP_UP_NEAREST:
            if (dx)
                FN(unet__rt_up_nearest_bwd)(dy, n, c, ha, wa, nd->factor, dx, threads);
            break;
        case UNET__OP_UP_BILINEAR:
            if (dx)
                FN(unet__rt_up_bilinear_bwd)(dy, n, c, ha, wa, nd->factor, dx, threads);
            break;
        case UNET__OP_CROP:
            if (dx)
                FN(unet__rt_add_window)(dy, n, c, 0, c, oh, ow, dx, ha, wa, (ha - oh) / 2,
                                        (wa - ow) / 2, threads);
            break;
        case UNET__OP_CONCAT:
            if (dx)
                FN(unet__rt_add_window)(dy, n, c, 0, ca, oh, ow, dx, oh, ow, 0, 0, threads);
            if (tg->need[b])
                FN(unet__rt_add_window)(dy, n, c, ca, c - ca, oh, ow, tg->grad[b], oh, ow, 0,
                                        0, threads);
            break;
        case UNET__OP_ACT:
            if (dx)
                FN(unet__rt_act_bwd)(y, dy, count, nd->act, dx, threads);
            break;
        case UNET__OP_SOFTMAX:
            if (dx)
                FN(unet__rt_softmax_bwd)(y, dy, n, c, oh * ow, dx, threads);
            break;
        case UNET__OP_BATCHNORM:
            if (tg->batch_stats[i])
                FN(unet__rt_bn_train_bwd)(x, dy, n, c, oh * ow, wt, tg->mean[i], tg->rstd[i], dx,
                                          dw, db, threads);
            else
                FN(unet__rt_bn_eval_bwd)(x, dy, n, c, oh * ow, wt, params[nd->param[2]],
                                         params[nd->param[3]], dx, dw, db, threads);
            break;
        case UNET__OP_GROUPNORM:
            FN(unet__rt_gn_bwd)(x, dy, n, c, oh * ow, nd->groups, wt, tg->mean[i], tg->rstd[i],
                                dx, dw, db, threads);
            break;
        case UNET__OP_DROPOUT:
            if (dx && o->train && o->dropout_p > 0)
                FN(unet__rt_dropout_bwd)(dy, count, o->dropout_p,
                                         o->dropout_key ^ unet__hash64((uint64_t)i + 1), dx,
                                         threads);
            else if (dx)
                FN(unet__rt_add_window)(dy, 1, 1, 0, 1, 1, count, dx, 1, count, 0, 0, threads);
            break;
        default:
            return unet__fail(UNET_E_INTERNAL, "training executor: unexpected op %d", nd->op);
        }
    }
    if (rc == UNET_OK && dinput)
        memcpy(dinput, tg->grad[0], (size_t)FN(node_count)(tg, 0) * sizeof(T));
    return rc;
}

const T *FN(unet__tg_output)(const TG *tg, int node, int64_t *count)
{
    if (count)
        *count = tg->n ? FN(node_count)(tg, node) : 0;
    return tg->n ? tg->out[node] : NULL;
}

#undef TG_CAT2
#undef TG_CAT
#undef FN
#undef TG
