/* Reference training kernels (see ref_backward.h): the template body instantiated for float
 * and double; the forward ops are ref_ops.c's operators of each type. */
#include "kernels/ref_backward.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ref_common.h"

uint64_t unet__hash64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline int rt_keep(uint64_t key, int64_t i, double p)
{
    uint64_t h = unet__hash64(key + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
    return (double)(h >> 11) * 0x1.0p-53 >= p;
}

/* The geometry of a convolution's weight gradient (ref_backward_impl.h): input planes h x w,
 * output planes oh x ow, `taps` weights per (co, ci) pair, stored [cout][cin][taps] for a plain
 * convolution (k, pad) and [cin][cout][taps] (cin_major) for a transposed one (f). */
typedef struct rt_wgrad {
    int64_t n, cin, cout, h, w, oh, ow, taps;
    int k, pad, f;
    bool cin_major;
} rt_wgrad;
/* Taps per weight: k <= 15 and f <= 8 (config bounds). */
#define RT_MAX_TAPS (16 * 16)

#define T float
#define S f32
#define REF(name) unet__ref_##name
#define AXPY unet__ref_axpy_f32
#include "kernels/ref_backward_impl.h"
#undef T
#undef S
#undef REF
#undef AXPY

#define T double
#define S f64
#define REF(name) unet__ref_##name##_f64
#define AXPY unet__ref_axpy_f64
#include "kernels/ref_backward_impl.h"
#undef T
#undef S
#undef REF
#undef AXPY
