/* Several strips deflated at once (deflate_batch.h): one libdeflate compressor per thread, one
 * output buffer per strip, strips handed out by the pool. */
#include <libdeflate.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "core/threads.h"
#include "io/deflate_batch.h"

#define LEVEL 7 /* what libtiff 4.5 gives libdeflate for its default quality: files stay byte for byte */

struct unet__deflate_batch {
    int threads, slots;
    size_t slot_bytes, out_cap;
    struct libdeflate_compressor **enc; /* per thread */
    uint8_t *out;                       /* slots x out_cap */
    size_t *out_bytes;                  /* per slot; 0: did not fit (never, by the bound) */
    /* the run in progress */
    const uint8_t *in;
    size_t stride;
    const size_t *in_bytes;
};

void unet__deflate_batch_free(unet__deflate_batch *b)
{
    if (!b)
        return;
    for (int t = 0; b->enc && t < b->threads; t++)
        if (b->enc[t])
            libdeflate_free_compressor(b->enc[t]);
    free(b->enc);
    free(b->out);
    free(b->out_bytes);
    free(b);
}

int unet__deflate_batch_create(int threads, int slots, size_t slot_bytes,
                               unet__deflate_batch **out)
{
    *out = NULL;
    unet__deflate_batch *b = calloc(1, sizeof *b);
    if (!b)
        return unet__fail(UNET_E_NOMEM, "no memory to compress strips");
    b->threads = unet__resolve_threads(threads);
    b->slots = slots < 1 ? 1 : slots;
    b->slot_bytes = slot_bytes;
    b->enc = calloc((size_t)b->threads, sizeof *b->enc);
    b->out_bytes = calloc((size_t)b->slots, sizeof *b->out_bytes);
    bool ok = b->enc && b->out_bytes;
    for (int t = 0; ok && t < b->threads; t++)
        ok = (b->enc[t] = libdeflate_alloc_compressor(LEVEL)) != NULL;
    if (ok) {
        size_t total;
        b->out_cap = libdeflate_zlib_compress_bound(b->enc[0], slot_bytes);
        ok = unet__mul_size(b->out_cap, (size_t)b->slots, &total) &&
             (b->out = malloc(total)) != NULL;
    }
    if (!ok) {
        unet__deflate_batch_free(b);
        return unet__fail(UNET_E_NOMEM, "no memory to compress %d strips of %zu bytes", slots,
                          slot_bytes);
    }
    *out = b;
    return UNET_OK;
}

static void compress_strips(void *ctx, int64_t begin, int64_t end, int tid)
{
    unet__deflate_batch *b = ctx;
    for (int64_t i = begin; i < end; i++)
        b->out_bytes[i] = libdeflate_zlib_compress(b->enc[tid], b->in + (size_t)i * b->stride,
                                                   b->in_bytes[i],
                                                   b->out + (size_t)i * b->out_cap,
                                                   b->out_cap);
}

int unet__deflate_batch_run(unet__deflate_batch *b, const uint8_t *in, size_t stride,
                            const size_t *bytes, int n)
{
    if (n < 0 || n > b->slots)
        return unet__fail(UNET_E_INTERNAL, "%d strips for a batch of %d", n, b->slots);
    for (int i = 0; i < n; i++)
        if (bytes[i] > b->slot_bytes)
            return unet__fail(UNET_E_INTERNAL, "a strip of %zu bytes for slots of %zu",
                              bytes[i], b->slot_bytes);
    b->in = in;
    b->stride = stride;
    b->in_bytes = bytes;
    unet__pool_for(b->threads, n, 1, compress_strips, b);
    for (int i = 0; i < n; i++)
        if (b->out_bytes[i] == 0) /* the bound makes this impossible */
            return unet__fail(UNET_E_INTERNAL, "strip %d did not fit its compression bound", i);
    return UNET_OK;
}

const uint8_t *unet__deflate_batch_out(const unet__deflate_batch *b, int i, size_t *bytes)
{
    *bytes = b->out_bytes[i];
    return b->out + (size_t)i * b->out_cap;
}
