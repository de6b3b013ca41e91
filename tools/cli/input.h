/* What `unet segment` and `unet predict` read: TIFF (through the library) and PNG (libpng),
 * and the options that say how an image's channels and pages are read (--channel, --axes).
 * The channels themselves are the library's business (its one channel rule). */
#ifndef UNET_CLI_INPUT_H
#define UNET_CLI_INPUT_H

#include <stdint.h>

#include "unet.h"

/* Whether the file starts with the PNG signature (0 when it cannot be read: the TIFF reader
 * then says why). */
int cli_is_png(const char *path);
/* Whether a folder entry is an image the commands read (.tif, .tiff, .png; not hidden). */
int cli_is_image_name(const char *name);
/* The name's length without an image extension (.tif, .tiff, .png). */
size_t cli_image_stem(const char *name);

/* An image in memory as the library takes it: (C, H, W) of `dtype`, released with
 * cli_image_free. */
typedef struct cli_image {
    void *data;
    unet_dtype_t dtype;
    int64_t shape[3];
    int from_library; /* data from unet_tiff_read (unet_buffer_free) */
} cli_image;

/* A PNG file: 8- or 16-bit, grey or colour; palettes expanded, alpha dropped (the channel rule
 * ignores it anyway), so C is 1 or 3. Images of more than max_pixels pixels (H x W; 0:
 * UNET_MAX_PIXELS_WHOLE) are refused before their pixels are read. 0, or -1 with a message on
 * stderr naming `command`. */
int cli_read_png(const char *command, const char *path, int64_t max_pixels, cli_image *im);
/* A PNG file, or the first page of a TIFF file (as float32, unet_tiff_read_limited), with the
 * same limit. 0, or -1 with a message. */
int cli_read_image(const char *command, const char *path, int64_t max_pixels, cli_image *im);
void cli_image_free(cli_image *im);

/* --axes: the letters of a TIFF's axes, page axis first: YX or YXC (one page; C the samples),
 * ZYX / TYX (pages are planes, the default), CYX (pages are channels), optionally followed by
 * C for samples after a Z or T. *pages receives the option value ("planes" or "channels"),
 * *paged 1 when the letters name a page axis. 0, or -1 when the letters are not one of these. */
int cli_parse_axes(const char *axes, const char **pages, int *paged);

#endif
