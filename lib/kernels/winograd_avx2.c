/* Winograd F(4x4, 3x3) tile transforms, avx2 build (see winograd_tile.h). */
#define WINO_IN_NAME unet__wino_in_avx2
#define WINO_OUT_NAME unet__wino_out_avx2
#define WINO_DY_NAME unet__wino_dy_avx2
#define WINO_DX_NAME unet__wino_dx_avx2
#define WVW 8
#include "kernels/winograd_tile.h"
