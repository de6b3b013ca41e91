/*
 * Internals shared by the fast executor's three files (see exec_fast.h):
 *   fast_plan.c   plan analysis, once per plan: node kinds, fusion, zero-copy values, storage
 *                 lifetimes, weight packing;
 *   fast_arena.c  per call: tensor sizes, first-fit placement of storages and scratch in one
 *                 arena, the arena's memory (cached per plan);
 *   exec_fast.c   the run: one parallel loop of the pool (core/pool.h) per node.
 */
#ifndef UNET_GRAPH_FAST_IMPL_H
#define UNET_GRAPH_FAST_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/exec_fast.h"
#include "kernels/blocked.h"

/* Segments (channel-ordered storages) a zero-copy concatenation may list. */
#define FAST_MAXSEG 8
/* Offset of a packed array a node does not have. */
#define FAST_NONE_OFF ((size_t)-1)

/* Alignment of every packed array, tensor plane and scratch buffer: one cache line. */
#define FAST_ALIGN 64
#define FAST_ALIGN_FLOATS (FAST_ALIGN / (int)sizeof(float))
/* A packed weight block: UNET__BLK output x UNET__BLK input channels. */
#define FAST_WBLOCK (UNET__BLK * UNET__BLK)

/* Winograd F(4x4, 3x3): 4x4 output blocks from 6x6 input patches, 36 transformed positions. */
#define WINO_OUT 4
#define WINO_IN 6
#define WINO_POS (WINO_IN * WINO_IN)
/* Channels a convolution needs on both sides before Winograd pays: one full block. At 16 in and
 * out (the full-resolution layers of the base-16 built-in model) it still does about 2x less
 * work than the direct kernel; the 1 -> N first layer stays direct (its input is not blocked). */
#define WINO_MIN_CHANNELS 16
/* Input pixels per layer that a Winograd block couples beyond a direct 3x3 (6x6 patch read for
 * a 4x4 block, against 3x3 per pixel). */
#define WINO_COUPLING (WINO_IN - 3)

/* Per-thread Winograd working set (transformed inputs and products of one tile group). */
#define WINO_BUDGET (1536 * 1024)
/* A Winograd group holds at most this many kernel pixel tiles ... */
#define WINO_GROUP_MAX_TILES 8
/* ... and is made smaller until every thread has at least this many groups. */
#define WINO_GROUPS_PER_THREAD 8
/* Input bytes a direct convolution task may sweep (its row band), to stay in L2. */
#define DIRECT_BAND (384 * 1024)
/* Dynamic scheduling hands out chunks of about tasks / (threads x this). */
#define DYN_CHUNKS_PER_THREAD 16
/* Arenas up to this size stay allocated with the plan for the next call (one per plan);
 * larger ones are returned to the system after each call. */
#define ARENA_CACHE_MAX ((size_t)1 << 30)
/* Arenas from this size on are 2 MiB aligned and asked for transparent huge pages (first
 * touch of 4 KiB pages costs as much as a convolution layer). */
#define ARENA_HUGE_MIN ((size_t)4 << 20)
#define ARENA_HUGE_ALIGN ((size_t)2 << 20)

enum unet__fast_kind {
    K_ALIAS,   /* the value of node `src` (dropout, folded batchnorm, fused activation) */
    K_CONCAT,  /* the blocks of in[0] then in[1], no copy */
    K_VIEW,    /* centre crop as a view */
    K_INPUT,   /* the packed network input */
    K_CONV,
    K_CONVT,
    K_MAXPOOL,
    K_AVGPOOL,
    K_NEAREST,
    K_BILINEAR,
    K_AFFINE,  /* act(x * scale + shift): standalone activation or unfolded batchnorm */
    K_GN,
    K_SOFTMAX,
    K_COPY     /* a concatenation or crop materialised into its own tensor */
};

typedef struct seg {
    int node; /* the producing node whose storage holds the data */
} seg;

typedef struct fnode {
    int kind;
    int src;       /* K_ALIAS */
    int act;       /* activation applied on store (K_CONV, K_CONVT, K_AFFINE, K_GN) */
    int store;     /* storage of the output (producing kinds), else -1 */
    int lanes;     /* lanes of the output storage */
    int nseg;      /* the value: segments in channel order */
    seg segs[FAST_MAXSEG];
    int last_read; /* last node reading a value that contains this node's storage */
    int nblk;      /* K_CONV / K_CONVT: input blocks over all segments */
    int in_lanes;
    int wino;      /* Winograd weights packed */
    size_t w_off, u_off, b_off, s_off; /* packed: direct weights, Winograd U, bias, scale */
} fnode;

typedef struct fstore {
    int node;        /* producer that defines the geometry */
    int first, last; /* lifetime in node indices (inclusive) */
} fstore;

struct unet__fast_impl {
    pthread_mutex_t lock;  /* guards the one-time analysis and packing, and the cache */
    atomic_int ready;
    char *cache;           /* an arena kept from an earlier call, or NULL */
    size_t cache_bytes;
    const unet__plan *ref;
    const unet__graph *g;
    fnode *nodes;
    fstore *stores;
    int nstore;
    int border;   /* zero border of every stored tensor: the largest conv padding */
    int max_nblk; /* largest input block count of a conv (pointer scratch) */
    float *packed;
};

/* The value of a node during a run: its segments as tensors. */
typedef struct value {
    int nseg;
    unet__btensor seg[FAST_MAXSEG];
} value;

typedef struct run {
    const struct unet__fast_impl *im;
    const unet__kernels *K;
    int precise;
    int threads;
    int64_t n;
    int64_t *h, *w;      /* per node */
    int64_t *scale;      /* per node: input pixels per pixel (product of pooling factors) */
    value *val;          /* per node */
    int64_t origin_y, origin_x;
    /* scratch */
    char *thread_scratch;
    size_t thread_bytes;
    double *gn_stats;
    float *gn_coef;
    const float *input;
    float *output;
} run;

/* Where a storage sits in the arena, and when it lives. */
typedef struct placed {
    size_t off, bytes;
    int first, last;
} placed;

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int64_t cdiv64(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline size_t align_up(size_t b) { return (b + FAST_ALIGN - 1) / FAST_ALIGN * FAST_ALIGN; }
/* Floats of c channels padded to whole blocks. */
static inline int blk_floats(int c) { return cdiv(c, UNET__BLK) * UNET__BLK; }

/* Kinds that own a storage (the others are views of other nodes' storages). */
static inline int unet__fast_is_producer(int kind)
{
    return kind != K_ALIAS && kind != K_CONCAT && kind != K_VIEW;
}

/* fast_plan.c */
/* Analyse and pack once (thread-safe); later calls return at once. */
int unet__fast_ensure_analyzed(struct unet__fast_impl *im);

/* fast_arena.c */
/* Tiles per Winograd group for a layer (a multiple of the kernel's pixel tile pt). */
int64_t unet__fast_wino_group(int nblk, int ncob, int64_t tiles, int threads, int pt);
/* Floats per Winograd position plane of nb blocks x T tiles (padded, see run_winograd). */
int64_t unet__fast_wino_plane(int nb, int64_t T);
/* Bytes of the per-call bookkeeping that unet__fast_layout places in `meta`. */
size_t unet__fast_layout_meta(const struct unet__fast_impl *im);
/* Everything of a forward pass that does not touch the data: sizes, storage placement,
 * scratch sizes. r->h, r->w, r->scale, r->val and *plp point into `meta`
 * (unet__fast_layout_meta bytes). *arena_bytes: the tensors; *total: tensors and scratch. */
int unet__fast_layout(const struct unet__fast_impl *im, const unet__kernels *K,
                      const unet__exec_opts *opts, int64_t n, int64_t h, int64_t w, int threads,
                      char *meta, run *r, placed **plp, size_t *arena_bytes,
                      size_t *gn_stat_bytes, size_t *total);
/* Point every node's value into the arena at `base` (after unet__fast_layout). */
void unet__fast_bind_values(const struct unet__fast_impl *im, run *r, const placed *pl,
                            char *base);
/* An arena of at least `bytes` (*got: its size), or NULL; give it back with arena_put. */
char *unet__fast_arena_get(struct unet__fast_impl *im, size_t bytes, size_t *got);
void unet__fast_arena_put(struct unet__fast_impl *im, char *p, size_t bytes);

#endif
