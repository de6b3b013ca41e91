/*
 * The fast executor: runs an inference plan on channel-blocked tensors (kernels/blocked.h)
 * with the kernels of one instruction set (kernels/dispatch.h).
 *
 * The fast plan is built once from the reference plan (graph/exec_ref.h: batchnorm already
 * folded) and packs every weight for the kernels: direct convolution, transposed convolution
 * and, for 3x3 same-padded convolutions with >= 32 input and output channels, Winograd
 * F(4x4, 3x3). It decides which nodes need no work of their own: an activation after a
 * convolution, transposed convolution or norm is fused into its store, a concatenation read
 * only by convolutions is a list of blocks (zero copy), a centre crop read that way is a view,
 * dropout and folded batchnorm pass through; element-wise ops run in place on a tensor no one
 * else reads later.
 *
 * A forward pass plans one arena from the tensors' lifetimes (first-fit by size), allocates it
 * once (tensors, per-thread scratch and bookkeeping together), packs the NCHW input, runs every
 * node as one parallel loop of the library's pool (core/pool.h; FTZ/DAZ set around every chunk
 * and restored) and unpacks the output. Work is handed out in chunks over (image, row, column
 * range), (image, block, row) or groups of Winograd tiles; each output element is computed by
 * one thread in a fixed order, so results do not depend on the thread count or on which thread
 * ran which chunk.
 *
 * Not accelerated, but done on blocked data by portable loops (kernels/blocked_ops.c):
 * group norm, softmax, unfolded batchnorm, standalone activations, ELU/sigmoid after a
 * convolution (a second pass), the copy that materialises a concatenation read by something
 * other than a convolution.
 */
#ifndef UNET_GRAPH_EXEC_FAST_H
#define UNET_GRAPH_EXEC_FAST_H

#include <stdint.h>

#include "graph/exec_ref.h"
#include "kernels/dispatch.h"

typedef struct unet__fast_plan {
    struct unet__fast_impl *impl; /* NULL until built */
} unet__fast_plan;

typedef struct unet__exec_opts {
    /* Nonzero: direct convolution everywhere (no Winograd; the "precise" option). */
    int precise;
    /* UNET__ISA_* to use, or -1 for unet__isa_default() (UNET_ISA or detection). An ISA the
     * CPU lacks is refused with UNET_E_UNSUPPORTED. REFERENCE runs unet__exec_ref. */
    int isa;
    /* Canvas coordinates of input pixel (0, 0). Winograd's 4x4 output blocks are anchored to
     * canvas multiples of 4 at every level (a level of scale s starts at origin / s), so a
     * tile whose origin is a multiple of 4 x the block multiple computes, inside its valid
     * region, exactly the numbers of the whole canvas. */
    int64_t origin_y, origin_x;
    /* Tests only: a kernel set to use instead of the ISA's (NULL: none). */
    const unet__kernels *kernels;
    /* Benchmarks only: when not NULL, receives the seconds spent in each node (graph->count
     * entries; index count - 1 also includes the output unpack). */
    double *node_seconds;
} unet__exec_opts;

#define UNET__EXEC_OPTS_DEFAULT {0, -1, 0, 0, NULL, NULL}

/* Prepare the fast plan of `ref` (borrowed: rebuild whenever ref is rebuilt). Cheap: the
 * analysis and weight packing happen once, thread-safely, on the first forward pass. */
int unet__fast_plan_build(const unet__plan *ref, unet__fast_plan *fp);
void unet__fast_plan_clear(unet__fast_plan *fp);

/* Forward pass of input [n][in_channels][h][w] into output [n][out_channels][oh][ow], as
 * unet__exec_ref (sizes checked by the caller); opts NULL means defaults. threads >= 1. */
int unet__exec_fast(const unet__fast_plan *fp, const float *input, int64_t n, int64_t h,
                    int64_t w, float *output, int threads, const unet__exec_opts *opts);

/* Input pixels, beyond the receptive-field margin, that Winograd layers couple through float
 * rounding (each 4x4 block's outputs read its whole 6x6 patch: 3 pixels more than a direct
 * 3x3 convolution, at the layer's scale). A tile with this much more context than the
 * receptive-field margin reproduces the whole canvas bit for bit; with less, to rounding. 0
 * when the network has no Winograd layer. */
int unet__fast_winograd_margin(const unet__fast_plan *fp);

/* Bytes of memory a forward pass of this shape allocates (its arena: tensors and scratch),
 * 0 for the reference path. */
int unet__exec_fast_workspace(const unet__fast_plan *fp, int64_t n, int64_t h, int64_t w,
                              int threads, const unet__exec_opts *opts, size_t *bytes);

/* Keep an arena for a forward pass of this shape ready, so a run's passes reuse one block of
 * memory instead of each growing into fresh pages (the kernel zeroing them on first touch cost
 * about a tenth of a 2048^2 segmentation whose windows grow from tile to tile). */
int unet__exec_fast_reserve(const unet__fast_plan *fp, int64_t n, int64_t h, int64_t w,
                            int threads, const unet__exec_opts *opts);

#endif
