/* Turns a U-Net config (DESIGN section 5) into an op graph and its named parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/graph.h"

typedef struct builder {
    unet__graph *g;
    int node_cap, param_cap;
    const unet__config *cfg;
} builder;

static int add_param(builder *b, const char *name, int ndim, const int64_t *shape, int init,
                     int fan_in)
{
    unet__graph *g = b->g;
    if (g->nparams == b->param_cap) {
        int cap = b->param_cap ? 2 * b->param_cap : 32;
        unet__param_spec *p = realloc(g->params, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        g->params = p;
        b->param_cap = cap;
    }
    unet__param_spec *p = &g->params[g->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= shape[i];
    }
    p->init = init;
    p->fan_in = fan_in;
    return g->nparams++;
}

/* Append a node; returns its index or -1 when out of memory. */
static int add_node(builder *b, unet__node node)
{
    unet__graph *g = b->g;
    if (g->count == b->node_cap) {
        int cap = b->node_cap ? 2 * b->node_cap : 64;
        unet__node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        g->nodes = n;
        b->node_cap = cap;
    }
    g->nodes[g->count] = node;
    return g->count++;
}

static unet__node make_node(unet__op op, int in0, int channels)
{
    unet__node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.in[0] = in0;
    n.in[1] = -1;
    n.channels = channels;
    for (int i = 0; i < 4; i++)
        n.param[i] = -1;
    return n;
}

/* A conv node with weight [cout, cin, k, k] and bias, named `prefix.weight/.bias`. */
static int add_conv(builder *b, int in, const char *prefix, int cout, int k, int pad)
{
    int cin = b->g->nodes[in].channels;
    char name[UNET__NAME_LEN];
    int64_t wshape[4] = {cout, cin, k, k}, bshape[1] = {cout};
    unet__node n = make_node(UNET__OP_CONV, in, cout);
    n.k = k;
    n.pad = pad;
    snprintf(name, sizeof name, "%.24s.weight", prefix);
    n.param[0] = add_param(b, name, 4, wshape, UNET__INIT_HE, cin * k * k);
    snprintf(name, sizeof name, "%.24s.bias", prefix);
    n.param[1] = add_param(b, name, 1, bshape, UNET__INIT_ZERO, 0);
    if (n.param[0] < 0 || n.param[1] < 0)
        return -1;
    return add_node(b, n);
}

static int add_norm(builder *b, int in, const char *prefix, bool batchnorm)
{
    int c = b->g->nodes[in].channels;
    char name[UNET__NAME_LEN];
    int64_t shape[1] = {c};
    unet__node n = make_node(batchnorm ? UNET__OP_BATCHNORM : UNET__OP_GROUPNORM, in, c);
    n.groups = c % 8 == 0 ? 8 : 1;
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const int init[4] = {UNET__INIT_ONE, UNET__INIT_ZERO, UNET__INIT_ZERO,
                                UNET__INIT_ONE};
    for (int i = 0; i < (batchnorm ? 4 : 2); i++) {
        snprintf(name, sizeof name, "%.24s.%s", prefix, suffix[i]);
        n.param[i] = add_param(b, name, 1, shape, init[i], 0);
        if (n.param[i] < 0)
            return -1;
    }
    return add_node(b, n);
}

/* Apply the block string left to right; every conv outputs `features` channels. */
static int add_block(builder *b, int cur, const char *prefix, int features)
{
    const unet__config *cfg = b->cfg;
    int nconv = 0, nbn = 0, ngn = 0;
    char name[UNET__NAME_LEN];
    for (const char *op = cfg->block; *op && cur >= 0; op++) {
        int c = b->g->nodes[cur].channels;
        switch (*op) {
        case 'c':
            snprintf(name, sizeof name, "%.24s.conv%d", prefix, nconv++);
            cur = add_conv(b, cur, name, features, cfg->kernel_size,
                           cfg->same_padding ? cfg->kernel_size / 2 : 0);
            break;
        case 'b':
            snprintf(name, sizeof name, "%.24s.bn%d", prefix, nbn++);
            cur = add_norm(b, cur, name, true);
            break;
        case 'g':
            snprintf(name, sizeof name, "%.24s.gn%d", prefix, ngn++);
            cur = add_norm(b, cur, name, false);
            break;
        case 'd':
            cur = add_node(b, make_node(UNET__OP_DROPOUT, cur, c));
            break;
        default: {
            unet__node n = make_node(UNET__OP_ACT, cur, c);
            n.act = *op == 'r' ? UNET__ACT_RELU : *op == 'l' ? UNET__ACT_LEAKY_RELU
                                                             : UNET__ACT_ELU;
            cur = add_node(b, n);
        }
        }
    }
    return cur;
}

/* Upsample the output of level l+1 to level l: the transposed conv, or nearest/bilinear
 * followed (with upsample_conv) by a 1x1 conv to f(l). */
static int add_upsample(builder *b, int cur, int level)
{
    const unet__config *cfg = b->cfg;
    int cin = b->g->nodes[cur].channels, cout = unet__config_features(cfg, level);
    char prefix[UNET__NAME_LEN];
    snprintf(prefix, sizeof prefix, "up%d", level);
    if (cfg->upsample == UNET__UP_TRANSPOSED) {
        char name[UNET__NAME_LEN];
        int64_t wshape[4] = {cin, cout, cfg->factor, cfg->factor}, bshape[1] = {cout};
        unet__node n = make_node(UNET__OP_CONV_T, cur, cout);
        n.factor = cfg->factor;
        snprintf(name, sizeof name, "%.24s.weight", prefix);
        n.param[0] = add_param(b, name, 4, wshape, UNET__INIT_HE, cin);
        snprintf(name, sizeof name, "%.24s.bias", prefix);
        n.param[1] = add_param(b, name, 1, bshape, UNET__INIT_ZERO, 0);
        if (n.param[0] < 0 || n.param[1] < 0)
            return -1;
        return add_node(b, n);
    }
    unet__node n = make_node(
        cfg->upsample == UNET__UP_NEAREST ? UNET__OP_UP_NEAREST : UNET__OP_UP_BILINEAR, cur, cin);
    n.factor = cfg->factor;
    cur = add_node(b, n);
    if (cur >= 0 && cfg->upsample_conv)
        cur = add_conv(b, cur, prefix, cout, 1, 0);
    return cur;
}

int unet__build_unet(const unet__config *cfg, unet__graph *g)
{
    memset(g, 0, sizeof *g);
    builder b = {g, 0, 0, cfg};
    int skips[UNET__MAX_DEPTH];
    char prefix[UNET__NAME_LEN];

    int cur = add_node(&b, make_node(UNET__OP_INPUT, -1, cfg->in_channels));
    for (int l = 0; l < cfg->depth && cur >= 0; l++) {
        if (l > 0) {
            unet__node pool = make_node(cfg->downsample == UNET__DOWN_MAXPOOL ? UNET__OP_MAXPOOL
                                                                              : UNET__OP_AVGPOOL,
                                        cur, g->nodes[cur].channels);
            pool.factor = cfg->factor;
            cur = add_node(&b, pool);
            if (cur < 0)
                break;
        }
        snprintf(prefix, sizeof prefix, "down%d", l);
        cur = add_block(&b, cur, prefix, unet__config_features(cfg, l));
        skips[l] = cur;
    }
    for (int l = cfg->depth - 2; l >= 0 && cur >= 0; l--) {
        int up = add_upsample(&b, cur, l);
        if (up < 0) {
            cur = -1;
            break;
        }
        int skip = skips[l];
        if (!cfg->same_padding) {
            unet__node crop = make_node(UNET__OP_CROP, skip, g->nodes[skip].channels);
            crop.in[1] = up;
            skip = add_node(&b, crop);
            if (skip < 0) {
                cur = -1;
                break;
            }
        }
        unet__node cat = make_node(UNET__OP_CONCAT, skip,
                                   g->nodes[skip].channels + g->nodes[up].channels);
        cat.in[1] = up;
        cur = add_node(&b, cat);
        snprintf(prefix, sizeof prefix, "up%d", l);
        if (cur >= 0)
            cur = add_block(&b, cur, prefix, unet__config_features(cfg, l));
    }
    if (cur >= 0)
        cur = add_conv(&b, cur, "out", cfg->out_channels, 1, 0);
    if (cur >= 0 && cfg->final_activation == UNET__FINAL_SIGMOID) {
        unet__node n = make_node(UNET__OP_ACT, cur, cfg->out_channels);
        n.act = UNET__ACT_SIGMOID;
        cur = add_node(&b, n);
    } else if (cur >= 0 && cfg->final_activation == UNET__FINAL_SOFTMAX) {
        cur = add_node(&b, make_node(UNET__OP_SOFTMAX, cur, cfg->out_channels));
    }
    if (cur < 0) {
        unet__graph_clear(g);
        return unet__fail(UNET_E_NOMEM, "out of memory building the U-Net graph");
    }
    g->output = cur;
    return UNET_OK;
}

void unet__graph_clear(unet__graph *g)
{
    free(g->nodes);
    free(g->params);
    memset(g, 0, sizeof *g);
}

int unet__graph_find_param(const unet__graph *g, const char *name)
{
    for (int i = 0; i < g->nparams; i++)
        if (strcmp(g->params[i].name, name) == 0)
            return i;
    return -1;
}
