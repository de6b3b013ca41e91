/* Deflate (zlib format, the level libtiff uses for Adobe Deflate) of several TIFF strips
 * at once on the pool's threads (deflate_batch.c), so a writer's compression is not one
 * thread's work while the others wait. Needs libdeflate (UNET_HAVE_LIBDEFLATE). */
#ifndef UNET_IO_DEFLATE_BATCH_H
#define UNET_IO_DEFLATE_BATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct unet__deflate_batch unet__deflate_batch;

/* Room for `slots` strips of up to slot_bytes each, compressed on up to `threads` threads
 * (0: the CPUs this process may use). */
int unet__deflate_batch_create(int threads, int slots, size_t slot_bytes,
                               unet__deflate_batch **out);
void unet__deflate_batch_free(unet__deflate_batch *b);
/* Compress strips 0..n-1 (n <= slots): strip i is bytes[i] bytes at in + i * stride. */
int unet__deflate_batch_run(unet__deflate_batch *b, const uint8_t *in, size_t stride,
                            const size_t *bytes, int n);
/* Strip i's compressed bytes, valid until the next run. */
const uint8_t *unet__deflate_batch_out(const unet__deflate_batch *b, int i, size_t *bytes);

#endif
