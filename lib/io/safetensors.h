/*
 * The safetensors container: an 8-byte little-endian header length N, N bytes of JSON header
 * mapping tensor names to {dtype, shape, data_offsets}, optional "__metadata__" (string ->
 * string), then the data section. This layer knows nothing of U-Nets: it validates the container
 * completely (never trusting a size before checking it against the buffer) and serialises one.
 * Byte order: the machine is assumed little-endian (x86-64, aarch64).
 */
#ifndef UNET_IO_SAFETENSORS_H
#define UNET_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define UNET__ST_MAX_DIMS 8
/* Header lengths above this are refused (the format's own readers use 100 MB). */
#define UNET__ST_MAX_HEADER (100u * 1024u * 1024u)

typedef enum unet__st_dtype {
    UNET__ST_F32 = 0,
    UNET__ST_F16,
    UNET__ST_BF16,
    UNET__ST_F64,
    UNET__ST_I64,
    UNET__ST_I32,
    UNET__ST_U8,
    UNET__ST_BOOL
} unet__st_dtype;

typedef struct unet__st_tensor {
    char *name;              /* owned */
    unet__st_dtype dtype;
    int ndim;                /* 0..UNET__ST_MAX_DIMS */
    int64_t shape[UNET__ST_MAX_DIMS];
    int64_t numel;           /* product of shape (1 for ndim 0), checked for overflow */
    uint64_t begin, end;     /* byte offsets within the data section, end - begin == bytes */
} unet__st_tensor;

typedef struct unet__st_file {
    unet__st_tensor *tensors; /* owned; in header order */
    size_t count;
    char *metadata_libunet;   /* owned copy of __metadata__["libunet"], NULL if absent */
    const uint8_t *data;      /* points into the parsed buffer (not owned) */
    uint64_t data_size;
} unet__st_file;

/* Parse and fully validate `buf`. On failure returns UNET_E_FORMAT (or UNET_E_NOMEM) with a
 * message via unet__fail, and leaves *out empty. Checks: length >= 8; header length <= buffer
 * - 8 and <= UNET__ST_MAX_HEADER; the header is a JSON object (duplicates rejected); every
 * entry but __metadata__ has a known dtype string ("F32", "F16", "BF16", "F64", "I64", "I32",
 * "U8", "BOOL"), a shape array of <= 8 non-negative integers whose product does not overflow,
 * data_offsets [begin, end] with begin <= end <= data size and end - begin == numel * item
 * size; sorted by offset the tensors tile the data section exactly (no overlap, no gap, no
 * trailing bytes); __metadata__ is an object of strings. */
int unet__st_parse(const uint8_t *buf, size_t len, unet__st_file *out);
void unet__st_file_clear(unet__st_file *f);

/* Index of the tensor named `name`, or -1. */
int unet__st_find(const unet__st_file *f, const char *name);

/* Convert a floating tensor (F32, F16, BF16, F64) to float32 into `out` (numel floats). Returns
 * UNET_E_FORMAT for non-floating dtypes. */
int unet__st_to_f32(const unet__st_file *f, const unet__st_tensor *t, float *out);

/* One float32 tensor to write. */
typedef struct unet__st_out {
    const char *name;
    int ndim;
    const int64_t *shape;
    const float *data; /* product(shape) floats */
} unet__st_out;

/* CRC-32 (zlib) of the data section that unet__st_serialize would write for these tensors:
 * their float32 bytes concatenated in order. */
uint32_t unet__st_data_crc32(const unet__st_out *tensors, size_t count);

/* Serialise tensors (data in the given order, contiguous) and, when `metadata_libunet` is not
 * NULL, __metadata__ {"libunet": metadata_libunet} into a new malloc'd buffer. The header JSON
 * is padded with spaces to a multiple of 8 bytes. */
int unet__st_serialize(const unet__st_out *tensors, size_t count, const char *metadata_libunet,
                       uint8_t **out, size_t *out_len);

#endif
