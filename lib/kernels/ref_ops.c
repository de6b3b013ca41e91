/*
 * Reference operators on contiguous NCHW tensors (see ref_ops.h for the contract): the body in
 * ref_ops_impl.h, instantiated for float and double.
 *
 * Design notes:
 * - Every loop that sums more than a handful of terms accumulates in double; results are
 *   rounded to the element type once, at the end. Each output element is computed by exactly
 *   one thread in a fixed order, so results do not depend on the thread count.
 * - No heap allocation: per-row scratch lives on the stack in fixed-size chunks
 *   (UNET__REF_CHUNK elements), long rows are processed chunk by chunk.
 * - Parallel loops run over flat int64_t indices of independent output rows or planes, with
 *   the `num_threads` clause (never omp_set_num_threads, which would leak to the caller).
 */
#include "kernels/ref_ops.h"

#include <math.h>
#include <string.h>

#include "kernels/ref_common.h"

#define T float
#define REF(name) unet__ref_##name
#define AXPY unet__ref_axpy_f32
#include "kernels/ref_ops_impl.h"
#undef T
#undef REF
#undef AXPY

#define T double
#define REF(name) unet__ref_##name##_f64
#define AXPY unet__ref_axpy_f64
#include "kernels/ref_ops_impl.h"
#undef T
#undef REF
#undef AXPY
