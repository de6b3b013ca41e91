/*
 * The reference executor: runs a graph node by node with the reference kernels on NCHW
 * float32. A plan holds what inference needs beyond the graph: per-node weight pointers, with
 * each batchnorm that directly follows a convolution folded into that convolution's weights.
 */
#ifndef UNET_GRAPH_EXEC_REF_H
#define UNET_GRAPH_EXEC_REF_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"

typedef struct unet__plan {
    const unet__graph *graph;
    float *const *params;  /* the model's parameter data, by graph param index */
    const float **weight;  /* per node: effective weight, or NULL */
    const float **bias;    /* per node: effective bias, or NULL */
    bool *identity;        /* per node: passes its input through (folded BN, dropout) */
    int *consumers;        /* per node: number of reads of its output (output node: 1) */
    float *folded;         /* storage of folded weights and biases */
} unet__plan;

/* params[i] holds the data of graph->params[i]. The plan borrows graph and params: rebuild it
 * whenever either changes. */
int unet__plan_build(const unet__graph *graph, float *const *params, unet__plan *plan);
void unet__plan_clear(unet__plan *plan);

/* Forward pass of input [n][in_channels][h][w] into output [n][out_channels][oh][ow] (sizes
 * from unet__graph_axis_size, checked by the caller). */
int unet__exec_ref(const unet__plan *plan, const float *input, int64_t n, int64_t h, int64_t w,
                   float *output, int threads);

#endif
