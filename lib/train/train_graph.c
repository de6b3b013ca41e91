/* The training executor (see train_graph.h), instantiated for float and double. */
#include "train/train_graph.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

/* Float convolutions through Winograd or im2col + GEMM (train_gemm.h; Winograd unless the
 * options say precise); double ones are the plain reference loops. */
#define T float
#define S f32
#define CONV_FWD(...) unet__tc_conv_fwd(__VA_ARGS__, !o->precise, &tg->scratch, threads)
#define CONVT_FWD(...) unet__tc_convt_fwd(__VA_ARGS__, &tg->scratch, threads)
#define CONV_BWD(...) unet__tc_conv_bwd(__VA_ARGS__, !o->precise, &tg->scratch, threads)
#define CONVT_BWD_DATA(...) unet__tc_convt_bwd_data(__VA_ARGS__, &tg->scratch, threads)
#define CONVT_BWD_PARAM(...) unet__tc_convt_bwd_param(__VA_ARGS__, &tg->scratch, threads)
#include "train/train_graph_impl.h"
#undef T
#undef S
#undef CONV_FWD
#undef CONVT_FWD
#undef CONV_BWD
#undef CONVT_BWD_DATA
#undef CONVT_BWD_PARAM

/* Both gradients of a double convolution (dx, dw, db: NULL when not wanted). */
static int rt_conv_bwd_f64(const double *x, const double *dy, int64_t n, int64_t cin, int64_t h,
                           int64_t w, const double *weight, int64_t cout, int k, int pad,
                           double *dx, double *dw, double *db, int threads)
{
    if (dw || db)
        unet__rt_conv_bwd_param_f64(x, dy, n, cin, h, w, cout, k, pad, dw, db, threads);
    if (dx)
        unet__rt_conv_bwd_data_f64(dy, n, cin, h, w, weight, cout, k, pad, dx, threads);
    return UNET_OK;
}

#define T double
#define S f64
#define CONV_FWD(...) (unet__rt_conv_fwd_f64(__VA_ARGS__, threads), UNET_OK)
#define CONVT_FWD(...) (unet__rt_convt_fwd_f64(__VA_ARGS__, threads), UNET_OK)
#define CONV_BWD(...) rt_conv_bwd_f64(__VA_ARGS__, threads)
#define CONVT_BWD_DATA(...) (unet__rt_convt_bwd_data_f64(__VA_ARGS__, threads), UNET_OK)
#define CONVT_BWD_PARAM(...) (unet__rt_convt_bwd_param_f64(__VA_ARGS__, threads), UNET_OK)
#include "train/train_graph_impl.h"
#undef T
#undef S
