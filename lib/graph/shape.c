/* Shape analysis: per-axis sizes, block multiple, receptive-field margin, accepted sizes. */
#include <stdlib.h>

#include "core/status.h"
#include "graph/graph.h"

/* Sizes beyond this along one axis are refused (2^31 pixels). */
#define MAX_AXIS ((int64_t)1 << 31)

static int node_axis_size(const unet__graph *g, const unet__node *n, const int64_t *sizes,
                          int64_t input, int64_t *out)
{
    int64_t s = n->in[0] >= 0 ? sizes[n->in[0]] : input;
    switch (n->op) {
    case UNET__OP_INPUT:
        s = input;
        break;
    case UNET__OP_CONV:
        s = s + 2 * n->pad - n->k + 1;
        break;
    case UNET__OP_CONV_T:
    case UNET__OP_UP_NEAREST:
    case UNET__OP_UP_BILINEAR:
        s *= n->factor;
        break;
    case UNET__OP_MAXPOOL:
    case UNET__OP_AVGPOOL:
        if (s % n->factor != 0)
            return UNET_E_SHAPE;
        s /= n->factor;
        break;
    case UNET__OP_CROP:
        if (s < sizes[n->in[1]])
            return UNET_E_SHAPE;
        s = sizes[n->in[1]];
        break;
    case UNET__OP_CONCAT:
        if (s != sizes[n->in[1]])
            return UNET_E_SHAPE;
        break;
    default:
        break;
    }
    (void)g;
    if (s < 1 || s > MAX_AXIS)
        return UNET_E_SHAPE;
    *out = s;
    return UNET_OK;
}

int unet__graph_axis_size(const unet__graph *g, int64_t size, int64_t *out, int64_t *sizes)
{
    if (size < 1 || size > MAX_AXIS)
        return UNET_E_SHAPE;
    int64_t stack[256];
    int64_t *s = sizes;
    if (!s)
        s = g->count <= 256 ? stack : malloc((size_t)g->count * sizeof *s);
    if (!s)
        return UNET_E_NOMEM;
    int rc = UNET_OK;
    for (int i = 0; i < g->count && rc == UNET_OK; i++)
        rc = node_axis_size(g, &g->nodes[i], s, size, &s[i]);
    if (rc == UNET_OK)
        *out = s[g->output];
    if (s != sizes && s != stack)
        free(s);
    return rc;
}

void unet__graph_node_scales(const unet__graph *g, int64_t *scale)
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

int unet__graph_block_multiple(const unet__graph *g)
{
    int64_t *scale = malloc((size_t)g->count * sizeof *scale);
    if (!scale)
        return 1;
    unet__graph_node_scales(g, scale);
    int64_t best = 1;
    for (int i = 0; i < g->count; i++)
        if (scale[i] > best)
            best = scale[i];
    free(scale);
    return (int)best;
}

/*
 * Receptive-field margin for a network that keeps its size (same padding). Each node tracks
 * its scale s (input pixels per node pixel) and margin r: node pixel i depends on input pixels
 * [s i - r, s i + s - 1 + r]. A k x k conv adds (k/2) s; pooling multiplies s and adds
 * nothing; nearest/transposed upsampling to s' = s/f adds s - s'; bilinear (half-pixel) reads
 * the two nearest source pixels, adding ceil(s' (1.5 f - 0.5)). The result is an upper bound.
 */
static int same_padding_halo(const unet__graph *g)
{
    int64_t *scale = malloc((size_t)g->count * 2 * sizeof *scale);
    if (!scale)
        return -1;
    int64_t *margin = scale + g->count;
    for (int i = 0; i < g->count; i++) {
        const unet__node *n = &g->nodes[i];
        int64_t s = n->in[0] >= 0 ? scale[n->in[0]] : 1;
        int64_t r = n->in[0] >= 0 ? margin[n->in[0]] : 0;
        int64_t fine = s / (n->factor > 0 ? n->factor : 1);
        if (fine < 1)
            fine = 1;
        switch (n->op) {
        case UNET__OP_CONV:
            r += (int64_t)(n->k / 2) * s;
            break;
        case UNET__OP_MAXPOOL:
        case UNET__OP_AVGPOOL:
            s *= n->factor;
            break;
        case UNET__OP_CONV_T:
        case UNET__OP_UP_NEAREST:
            r += s - fine;
            s = fine;
            break;
        case UNET__OP_UP_BILINEAR:
            r += (fine * (3 * n->factor - 1) + 1) / 2;
            s = fine;
            break;
        case UNET__OP_CONCAT:
            if (margin[n->in[1]] > r)
                r = margin[n->in[1]];
            break;
        default:
            break;
        }
        scale[i] = s;
        margin[i] = r;
    }
    int64_t halo = margin[g->output];
    free(scale);
    return halo > (1 << 30) ? (1 << 30) : (int)halo;
}

int unet__graph_halo(const unet__graph *g, int same_padding)
{
    if (same_padding)
        return same_padding_halo(g);
    int64_t in = unet__graph_size_at_or_above(g, 1), out;
    if (in <= 0 || unet__graph_axis_size(g, in, &out, NULL) != UNET_OK)
        return -1;
    return (int)((in - out) / 2);
}

/* Accepted sizes repeat with the block multiple above some minimum, so a search window of a
 * few block multiples past the largest possible shrink always finds one when it exists. */
int64_t unet__graph_size_at_or_above(const unet__graph *g, int64_t size)
{
    int64_t limit = size + 4 * (int64_t)unet__graph_block_multiple(g) + (1 << 16), out;
    if (size < 1)
        size = 1;
    for (int64_t s = size; s <= limit && s <= MAX_AXIS; s++)
        if (unet__graph_axis_size(g, s, &out, NULL) == UNET_OK)
            return s;
    return 0;
}

int64_t unet__graph_size_at_or_below(const unet__graph *g, int64_t size)
{
    int64_t out;
    if (size > MAX_AXIS)
        size = MAX_AXIS;
    for (int64_t s = size; s >= 1; s--)
        if (unet__graph_axis_size(g, s, &out, NULL) == UNET_OK)
            return s;
    return 0;
}
