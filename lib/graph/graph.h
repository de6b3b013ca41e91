/*
 * The op graph: a U-Net (or, later, an imported network) as a list of nodes in execution
 * order, each reading the outputs of earlier nodes. Parameters are named tensors held by the
 * model; nodes refer to them by index.
 */
#ifndef UNET_GRAPH_GRAPH_H
#define UNET_GRAPH_GRAPH_H

#include <stdint.h>

#include "graph/config.h"
#include "kernels/ref_ops.h"

#define UNET__MAX_TENSOR_DIMS 4
#define UNET__NAME_LEN 48

typedef enum unet__op {
    UNET__OP_INPUT,
    UNET__OP_CONV,        /* k x k, stride 1, zero padding `pad` */
    UNET__OP_CONV_T,      /* factor x factor, stride factor */
    UNET__OP_MAXPOOL,
    UNET__OP_AVGPOOL,
    UNET__OP_UP_NEAREST,
    UNET__OP_UP_BILINEAR,
    UNET__OP_CROP,        /* centre crop of in[0] to the spatial size of in[1] */
    UNET__OP_CONCAT,      /* channels of in[0] then in[1]; equal spatial sizes */
    UNET__OP_ACT,         /* element-wise activation `act` */
    UNET__OP_SOFTMAX,     /* over channels */
    UNET__OP_BATCHNORM,
    UNET__OP_GROUPNORM,
    UNET__OP_DROPOUT      /* identity at inference */
} unet__op;

typedef struct unet__node {
    unet__op op;
    int in[2];       /* producer node indices, -1 when unused */
    int channels;    /* output channels */
    int k, pad;      /* CONV */
    int factor;      /* CONV_T, pools, upsampling */
    unet__act act;   /* ACT */
    int groups;      /* GROUPNORM */
    int param[4];    /* tensor indices: weight, bias (CONV, CONV_T, norms), mean, var (BN) */
} unet__node;

/* The name and shape of one parameter tensor (PyTorch layouts). */
typedef struct unet__param_spec {
    char name[UNET__NAME_LEN];
    int ndim;
    int64_t shape[UNET__MAX_TENSOR_DIMS];
    int64_t numel;
    enum { UNET__INIT_HE, UNET__INIT_ZERO, UNET__INIT_ONE } init;
    int fan_in;      /* for He initialisation */
} unet__param_spec;

typedef struct unet__graph {
    unet__node *nodes;
    int count;
    unet__param_spec *params;
    int nparams;
    int output;      /* index of the output node */
} unet__graph;

/* Build the graph and parameter list of a U-Net config. */
int unet__build_unet(const unet__config *cfg, unet__graph *g);
void unet__graph_clear(unet__graph *g);
int unet__graph_find_param(const unet__graph *g, const char *name);

/* ---- shape analysis (graph/shape.c); the same ops act on every spatial axis alike ---- */

/* Output size along one axis for input size `size`, or UNET_E_SHAPE (no message) when some
 * node cannot take it. sizes (optional, g->count entries) receives every node's size. */
int unet__graph_axis_size(const unet__graph *g, int64_t size, int64_t *out, int64_t *sizes);
/* Product of the pooling factors on the deepest path. */
int unet__graph_block_multiple(const unet__graph *g);
/* Scale of every node relative to the input (g->count entries): pooling multiplies,
 * upsampling divides; a node finer than the input, or not a whole multiple of it (never in a
 * U-Net), counts as scale 1. */
void unet__graph_node_scales(const unet__graph *g, int64_t *scale);
/* Receptive-field margin in input pixels (an upper bound of how far an output pixel sees);
 * for networks that shrink (valid padding), the shrink per side. */
int unet__graph_halo(const unet__graph *g, int same_padding);
/* The smallest accepted size >= size (0 and a message if none within range), and the
 * largest accepted size <= size (0 if none). */
int64_t unet__graph_size_at_or_above(const unet__graph *g, int64_t size);
int64_t unet__graph_size_at_or_below(const unet__graph *g, int64_t size);

#endif
