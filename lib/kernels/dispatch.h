/*
 * The fast kernels of each instruction set, and the choice between them.
 *
 * Each ISA has its own source files (conv_<isa>.c: direct convolution row kernel;
 * winograd_<isa>.c: Winograd F(4x4,3x3) tile transforms), compiled with that ISA's flags only.
 * cpu.c detects the CPU once (__builtin_cpu_supports) and reads the environment variable
 * UNET_ISA once: "scalar", "avx2", "avx512" force a path (a path the CPU lacks falls back to the
 * best one it has), "reference" makes the fast executor hand every forward pass to the
 * reference executor; anything else is ignored.
 */
#ifndef UNET_KERNELS_DISPATCH_H
#define UNET_KERNELS_DISPATCH_H

#include <stdint.h>

typedef enum unet__isa {
    UNET__ISA_REFERENCE = 0, /* the reference executor (NCHW, plain loops): the oracle */
    UNET__ISA_SCALAR = 1,    /* portable C */
    UNET__ISA_AVX2 = 2,      /* AVX2 + FMA */
    UNET__ISA_AVX512 = 3,    /* AVX-512F */
    UNET__ISA_COUNT = 4
} unet__isa;

/*
 * One row of a convolution-like operation on blocked data, for `ncob` output blocks of 16
 * channels and `npix` consecutive output pixels:
 *   out[cob][j][co] = act(bias[cob*16+co] +
 *       sum_{b < nblk, ky < kh, kx < kw, l < lanes} in[b][ky*rs[b] + (j+kx)*lanes + l] *
 *                                                 w[cob*w_cob + (((b*kh+ky)*kw+kx)*lanes+l)*16+co])
 * stored at out + cob*out_cob + j*out_ps. in[b] points at the input pixel under tap (0, 0) of
 * output pixel 0 in input block b. Serves direct convolution (any k, lanes 16 or 1), 1x1
 * convolution, transposed convolution (out_ps = f*16) and the Winograd GEMM (pixels = tiles).
 * Every output pixel accumulates in the same order whatever npix or its position in the row,
 * so results do not depend on tiling.
 */
typedef struct unet__rowconv {
    int nblk, lanes, kh, kw;
    const float *const *in;
    const int64_t *rs;
    const float *w;    /* 64-byte aligned */
    int64_t w_cob;
    const float *bias; /* ncob * 16 floats, or NULL */
    int ncob;
    float *out;        /* 64-byte aligned pixels */
    int64_t out_cob, out_ps;
    int64_t npix;
    int act;           /* unet__act: NONE, RELU, LEAKY_RELU fused; others must not be given */
} unet__rowconv;

typedef void (*unet__rowconv_fn)(const unet__rowconv *a);

/* Winograd F(4x4, 3x3) on one 16-channel block:
 * input transform of the 6 x 6 pixel patch at src (pixel stride 16, row stride rs) into 36
 * vectors of 16 at dst + i * dst_stride, i = 6 * row + column of B^T d B; */
typedef void (*unet__wino_in_fn)(const float *src, int64_t rs, float *dst, int64_t dst_stride);
/* output transform of 36 vectors at src + i * src_stride: A^T m A + bias (NULL: none),
 * activation (NONE, RELU or LEAKY_RELU), stored for rows [r0, r1) and columns [c0, c1) of the
 * 4 x 4 block; dst points at block pixel (r0, c0) (pixel stride 16, row stride rs). */
typedef void (*unet__wino_out_fn)(const float *src, int64_t src_stride, const float *bias,
                                  int act, float *dst, int64_t rs, int r0, int r1, int c0,
                                  int c1);

/* The training pass's adjoint transforms (kernels/train_winograd.c), on one 16-channel block:
 * the 4 x 4 output-gradient patch at src (pixel stride 16, row stride rs) into 36 vectors
 * A g A^T at dst + i * dst_stride; */
typedef void (*unet__wino_dy_fn)(const float *src, int64_t rs, float *dst, int64_t dst_stride);
/* and 36 vectors at src + i * src_stride into the 6 x 6 patch B m B^T, added to dst (pixel
 * stride 16, row stride rs). */
typedef void (*unet__wino_dx_fn)(const float *src, int64_t src_stride, float *dst, int64_t rs);

typedef struct unet__kernels {
    const char *name;
    unet__rowconv_fn rowconv;
    unet__wino_in_fn wino_in;
    unet__wino_out_fn wino_out;
    unet__wino_dy_fn wino_dy;
    unet__wino_dx_fn wino_dx;
    int pix_tile; /* output pixels per register tile (12 AVX-512, 6 AVX2, 4 scalar) */
} unet__kernels;

void unet__rowconv_scalar(const unet__rowconv *a);
void unet__rowconv_avx2(const unet__rowconv *a);
void unet__rowconv_avx512(const unet__rowconv *a);
/* conv_avx512.c compiled for AVX2 with emulated 512-bit vectors: test builds only. */
void unet__rowconv_avx512emu(const unet__rowconv *a);
void unet__wino_in_scalar(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dy_scalar(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dx_scalar(const float *src, int64_t src_stride, float *dst, int64_t rs);
void unet__wino_out_scalar(const float *src, int64_t src_stride, const float *bias, int act,
                           float *dst, int64_t rs, int r0, int r1, int c0, int c1);
void unet__wino_in_avx2(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dy_avx2(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dx_avx2(const float *src, int64_t src_stride, float *dst, int64_t rs);
void unet__wino_out_avx2(const float *src, int64_t src_stride, const float *bias, int act,
                         float *dst, int64_t rs, int r0, int r1, int c0, int c1);
void unet__wino_in_avx512(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dy_avx512(const float *src, int64_t rs, float *dst, int64_t dst_stride);
void unet__wino_dx_avx512(const float *src, int64_t src_stride, float *dst, int64_t rs);
void unet__wino_out_avx512(const float *src, int64_t src_stride, const float *bias, int act,
                           float *dst, int64_t rs, int r0, int r1, int c0, int c1);

/* Whether this CPU (and OS) can run `isa` (REFERENCE and SCALAR: always). */
int unet__isa_supported(int isa);
/* The path in force: UNET_ISA if set and supported, else the best supported (detected once). */
int unet__isa_default(void);
/* The name of an ISA ("reference", "scalar", "avx2", "avx512"). */
const char *unet__isa_name(int isa);
/* The kernels of a supported fast ISA (SCALAR, AVX2, AVX512); NULL otherwise. */
const unet__kernels *unet__kernels_get(int isa);

/* Set flush-to-zero and denormals-are-zero on the calling thread; returns the previous
 * state for unet__fpenv_leave (no-op off x86). */
unsigned unet__fpenv_enter(void);
void unet__fpenv_leave(unsigned saved);

#endif
