/*
 * Argument checks several exported calls share, worded once. An image crosses the ABI as
 * ndim + shape: (H,W), (C,H,W) or, where a call takes planes, (P,C,H,W); every size is 1 to
 * 2^31. Each check returns UNET_OK or a status with a message naming the offending value.
 */
#ifndef UNET_API_CHECK_H
#define UNET_API_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "unet.h"

/* ndim is 2 to max_ndim (3: (H,W) or (C,H,W); 4: also (P,C,H,W)); messages say "<noun>
 * <verb> 5 dimensions" ("input has", "probabilities have"). */
int unet__check_ndim(const char *noun, const char *verb, int ndim, int max_ndim);
/* Every one of the n sizes is 1 to 2^31 ("<noun> dimension i has size ..."). */
int unet__check_sizes(const char *noun, int n, const int64_t *sizes);
/* An image argument: its element type, then unet__check_ndim (noun "has") and
 * unet__check_sizes; dims receives (P, C, H, W), 1 for the axes the shape does not have. */
int unet__check_image(const char *noun, unet_dtype_t dtype, int ndim, const int64_t *shape,
                      int max_ndim, int64_t dims[4]);
/* A prediction's TIFF output: output_dtype UNET_F32, UNET_U8 or UNET_U16, flags known. */
int unet__check_tiff_output(unet_dtype_t output_dtype, unsigned flags);
/* A file-to-file call: the output is not the input, by device and inode. */
int unet__check_tiff_files(const char *input_path, const char *output_path);
/* A caller's buffer of `count` elements holds exactly the product of dims[0..n) (sizes the
 * caller has checked, so the product fits): "<what> has 5 elements; 2 x 3 needs 6". */
int unet__check_count(const char *what, size_t count, const int64_t *dims, int n);

#endif
