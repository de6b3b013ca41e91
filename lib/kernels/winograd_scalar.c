/* Winograd F(4x4, 3x3) tile transforms, scalar build (see winograd_tile.h). */
#define WINO_IN_NAME unet__wino_in_scalar
#define WINO_OUT_NAME unet__wino_out_scalar
#define WINO_DY_NAME unet__wino_dy_scalar
#define WINO_DX_NAME unet__wino_dx_scalar
#define WVW 4
#include "kernels/winograd_tile.h"
