/* libFuzzer target for the TIFF reader (lib/io/tiff.c): open the input from memory and read
 * every page in pieces of at most 2^16 elements (at most 2^22 per input, so a file claiming a
 * huge image stays fast), twice: the second pass with a one-chunk cache, backwards, must give
 * the same pixels. A failure without a message, or two passes that disagree, traps.
 * With UNET_FUZZ_SEED_DIR set, start-up first writes small valid TIFFs of every layout there
 * (tiff_seeds.c); corpus/fuzz_tiff holds what longer runs learned. See README.md. */
#include "core/status.h"
#include "io/tiff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tiff_seeds.h"

#define PIECE_ELEMENTS ((int64_t)1 << 16)
#define INPUT_ELEMENTS ((int64_t)1 << 22)
#define MAX_PIECES 1024

typedef struct piece {
    int64_t page, y, x, h, w;
} piece;

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* Reads the pieces in order or backwards; returns the status and an order-independent hash. */
static int read_pieces(unet__tiff_reader *r, const piece *list, int n, int backwards,
                       size_t element_bytes, uint8_t *buf, uint64_t *hash)
{
    const int64_t channels = unet__tiff_reader_info(r)->channels;
    *hash = 0;
    for (int i = 0; i < n; i++) {
        const piece *p = &list[backwards ? n - 1 - i : i];
        int rc = unet__tiff_read_region(r, p->page, p->y, p->x, p->h, p->w, buf);
        if (rc != UNET_OK) {
            require(unet_last_error()[0] != '\0');
            return rc;
        }
        *hash += fnv(buf, (size_t)(channels * p->h * p->w) * element_bytes);
    }
    return UNET_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("UNET_FUZZ_SEED_DIR");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0777); /* libFuzzer reads corpus folders after this returns */
    write_tiff_seeds(dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static piece list[MAX_PIECES];
    unet__tiff_reader *r = NULL;
    if (unet__tiff_open_memory(data, size, "fuzz", &r) != UNET_OK) {
        require(r == NULL && unet_last_error()[0] != '\0');
        return 0;
    }
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    const int64_t C = in->channels;
    const size_t element_bytes = in->dtype == UNET_U8                        ? 1
                                 : in->dtype == UNET_U16 || in->dtype == UNET_I16 ? 2
                                 : in->dtype == UNET_F64                     ? 8
                                                                             : 4;
    int64_t cols = PIECE_ELEMENTS / C > 0 ? PIECE_ELEMENTS / C : 1;
    if (cols > in->width)
        cols = in->width;
    int64_t rows = PIECE_ELEMENTS / (cols * C) > 0 ? PIECE_ELEMENTS / (cols * C) : 1;
    int n = 0;
    int64_t budget = INPUT_ELEMENTS;
    for (int64_t p = 0; p < in->pages && n < MAX_PIECES && budget > 0; p++)
        for (int64_t y = 0; y < in->height && n < MAX_PIECES && budget > 0; y += rows)
            for (int64_t x = 0; x < in->width && n < MAX_PIECES && budget > 0; x += cols) {
                piece q = {p, y, x, in->height - y < rows ? in->height - y : rows,
                           in->width - x < cols ? in->width - x : cols};
                list[n++] = q;
                budget -= C * q.h * q.w;
            }
    uint8_t *buf = malloc((size_t)(C * rows * cols) * element_bytes);
    if (buf) {
        uint64_t h1, h2;
        int rc1 = read_pieces(r, list, n, 0, element_bytes, buf, &h1);
        unet__tiff_set_cache_bytes(r, 1);
        int rc2 = read_pieces(r, list, n, 1, element_bytes, buf, &h2);
        require((rc1 == UNET_OK) == (rc2 == UNET_OK));
        require(rc1 != UNET_OK || h1 == h2);
        /* Chunks decoded on two threads (plain deflate) read as libtiff reads them. */
        uint64_t h3;
        unet__tiff_set_cache_bytes(r, (size_t)16 << 20);
        unet__tiff_set_threads(r, 2);
        int rc3 = read_pieces(r, list, n, 0, element_bytes, buf, &h3);
        require((rc1 == UNET_OK) == (rc3 == UNET_OK));
        require(rc1 != UNET_OK || h1 == h3);
        free(buf);
    }
    unet__tiff_close(r);
    return 0;
}
