/* The TIFF seeds (see tiff_seeds.h): element types, strips and tiles, compressions and
 * predictors, byte orders, classic and BigTIFF, chunky and planar channels, several pages. */
#include "tiff_seeds.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <tiffio.h>

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

void write_tiff_seeds(const char *dir)
{
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
    /* One grey page each: what segmentation takes. */
    write_seed(dir, "u16_grey_deflate.tif", "w", 16, 1, 1, 0, 0, COMPRESSION_ADOBE_DEFLATE, 2, 1,
               32, 32);
    write_seed(dir, "u8_grey_tiles_zstd.tif", "w", 8, 1, 1, 0, 1, COMPRESSION_ZSTD, 1, 1, 32,
               24);
}
