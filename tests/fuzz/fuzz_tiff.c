/* libFuzzer target for the TIFF reader (lib/io/tiff.c): open the input from memory and read
 * every page in pieces of at most 2^16 elements (at most 2^22 per input, so a file claiming a
 * huge image stays fast), twice: the second pass with a one-chunk cache, backwards, must give
 * the same pixels. A failure without a message, or two passes that disagree, traps.
 * With UNET_FUZZ_SEED_DIR set, start-up first writes small valid TIFFs of every layout there
 * (so no binary seeds live in the repository). See README.md. */
#include "core/status.h"
#include "io/tiff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

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

/* One small seed: `pages` pages of w x h, a patterned payload; libtiff does the encoding. */
static void write_seed(const char *dir, const char *name, const char *mode, int bits, int format,
                       int channels, int separate, int tiled, int compression, int predictor,
                       int pages, int w, int h)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    TIFF *t = TIFFOpen(path, mode);
    if (!t)
        return;
    for (int p = 0; p < pages; p++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, channels);
        TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                     channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
        if (channels == 2) {
            uint16_t extra = EXTRASAMPLE_UNSPECIFIED;
            TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
        }
        TIFFSetField(t, TIFFTAG_PLANARCONFIG,
                     separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
        if (predictor > 1)
            TIFFSetField(t, TIFFTAG_PREDICTOR, predictor);
        if (tiled) {
            TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
            TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
        } else {
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 5);
        }
        uint32_t n = tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
        tmsize_t size = tiled ? TIFFTileSize(t) : TIFFStripSize(t);
        uint32_t strips_per_plane = (uint32_t)(h + 4) / 5;
        uint8_t *buf = malloc((size_t)size);
        if (!buf)
            break;
        for (uint32_t k = 0; k < n; k++) {
            for (tmsize_t i = 0; i < size; i++)
                buf[i] = format == SAMPLEFORMAT_IEEEFP ? (uint8_t)(i % 4 == 3 ? 0x3f : i)
                                                       : (uint8_t)((i * 7 + k * 13 + p) % 251);
            if (tiled) {
                TIFFWriteEncodedTile(t, k, buf, size);
            } else { /* the bottom strip of each plane is shorter */
                int rows = h - (int)(k % strips_per_plane) * 5;
                rows = rows < 5 ? rows : 5;
                TIFFWriteEncodedStrip(t, k, buf, TIFFVStripSize(t, (uint32_t)rows));
            }
        }
        free(buf);
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("UNET_FUZZ_SEED_DIR");
    if (!dir || !*dir)
        return 0;
    mkdir(dir, 0777); /* libFuzzer reads corpus folders after this returns */
    write_seed(dir, "u8_strips.tif", "w", 8, 1, 1, 0, 0, COMPRESSION_NONE, 1, 1, 13, 11);
    write_seed(dir, "u16_tiles_lzw.tif", "w", 16, 1, 2, 0, 1, COMPRESSION_LZW, 2, 2, 21, 19);
    write_seed(dir, "i16_packbits_be.tif", "wb", 16, 2, 1, 0, 0, COMPRESSION_PACKBITS, 1, 3,
               9, 12);
    write_seed(dir, "u32_planar_big.tif", "w8", 32, 1, 3, 1, 1, COMPRESSION_ADOBE_DEFLATE, 1,
               1, 17, 18);
    write_seed(dir, "i32_deflate.tif", "w", 32, 2, 1, 0, 0, COMPRESSION_ADOBE_DEFLATE, 2, 2, 8,
               7);
    write_seed(dir, "f32_tiles_fp.tif", "w", 32, 3, 1, 0, 1, COMPRESSION_ADOBE_DEFLATE, 3, 1,
               20, 20);
    write_seed(dir, "f64_lzw_planar.tif", "w8", 64, 3, 2, 1, 0, COMPRESSION_LZW, 1, 2, 6, 9);
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
        free(buf);
    }
    unet__tiff_close(r);
    return 0;
}
