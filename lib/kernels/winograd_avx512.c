/* Winograd F(4x4, 3x3) tile transforms, avx512 build (see winograd_tile.h). */
#define WINO_IN_NAME unet__wino_in_avx512
#define WINO_OUT_NAME unet__wino_out_avx512
#define WINO_DY_NAME unet__wino_dy_avx512
#define WINO_DX_NAME unet__wino_dx_avx512
#define WVW 16
#include "kernels/winograd_tile.h"
