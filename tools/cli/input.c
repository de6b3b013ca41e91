/* Images `unet segment` and `unet predict` read (input.h): PNG through libpng's classic API
 * (the simplified API gamma-converts 16-bit data, and measurements need the stored values). */
#include "input.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A regular file opened for reading without blocking on a FIFO or device (as the library
 * opens its inputs); NULL with errno set (EINVAL: not a regular file). */
static FILE *open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return NULL;
    int e = fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EINVAL;
    if (e) {
        close(fd);
        errno = e;
        return NULL;
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp)
        close(fd);
    return fp;
}

int cli_is_png(const char *path)
{
    unsigned char sig[8];
    FILE *fp = open_regular(path);
    if (!fp)
        return 0;
    size_t got = fread(sig, 1, sizeof sig, fp);
    fclose(fp);
    return got == sizeof sig && png_sig_cmp(sig, 0, sizeof sig) == 0;
}

size_t cli_image_stem(const char *name)
{
    static const char *const ext[] = {".tif", ".tiff", ".png"};
    size_t n = strlen(name);
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
        size_t e = strlen(ext[k]);
        if (n > e && strcasecmp(name + n - e, ext[k]) == 0)
            return n - e;
    }
    return n;
}

int cli_is_image_name(const char *name)
{
    return name[0] != '.' && cli_image_stem(name) != strlen(name);
}

typedef struct png_failure {
    char message[200];
} png_failure;

static void on_png_error(png_structp png, png_const_charp message)
{
    png_failure *f = png_get_error_ptr(png);
    snprintf(f->message, sizeof f->message, "not a PNG image this program reads: %s", message);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png, (void)message; /* warnings (unknown chunks, sRGB profiles) change no pixel */
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

int cli_read_png(const char *command, const char *path, int64_t max_pixels, cli_image *im)
{
    memset(im, 0, sizeof *im);
    FILE *fp = open_regular(path);
    if (!fp) {
        fprintf(stderr, "unet: %s: cannot read '%s': %s\n", command, path,
                errno == EINVAL ? "not a regular file" : strerror(errno));
        return -1;
    }
    png_failure failure = {"out of memory reading a PNG"};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error,
                                             on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile pixels = NULL; /* interleaved, as libpng gives rows */
    png_bytep *volatile rows = NULL;
    void *volatile planar = NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "unet: %s: '%s': %s\n", command, path, failure.message);
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        free(planar);
        fclose(fp);
        return -1;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    png_set_expand(png); /* palette -> RGB, grey below 8 bits -> 8, transparency -> alpha */
    png_set_strip_alpha(png);
    if (png_get_bit_depth(png, info) == 16 && host_is_little_endian())
        png_set_swap(png); /* PNG stores 16-bit samples big-endian */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const size_t h = png_get_image_height(png, info), w = png_get_image_width(png, info);
    const uint64_t limit = max_pixels > 0 ? (uint64_t)max_pixels : UNET_MAX_PIXELS_WHOLE;
    if ((uint64_t)h * (uint64_t)w > limit) {
        snprintf(failure.message, sizeof failure.message,
                 "%zu x %zu pixels are more than max_pixels %llu (--max-pixels)", h, w,
                 (unsigned long long)limit);
        png_longjmp(png, 1);
    }
    const int channels = png_get_channels(png, info), bytes = png_get_bit_depth(png, info) / 8;
    const size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != w * (size_t)(channels * bytes) || h > SIZE_MAX / row_bytes)
        png_error(png, "unexpected row layout");
    pixels = malloc(h * row_bytes);
    rows = malloc(h * sizeof *rows);
    planar = malloc(h * row_bytes);
    if (!pixels || !rows || !planar) {
        snprintf(failure.message, sizeof failure.message, "out of memory for %zu x %zu pixels",
                 h, w);
        png_longjmp(png, 1);
    }
    for (size_t y = 0; y < h; y++)
        rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    /* Interleaved (H, W, C) to the library's (C, H, W). */
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) {
                size_t from = y * row_bytes + (x * (size_t)channels + (size_t)c) * (size_t)bytes;
                size_t to = ((size_t)c * h + y) * w + x;
                memcpy((unsigned char *)planar + to * (size_t)bytes, pixels + from,
                       (size_t)bytes);
            }
    png_destroy_read_struct(&png, &info, NULL);
    free(pixels);
    free(rows);
    fclose(fp);
    im->data = planar;
    im->dtype = bytes == 2 ? UNET_U16 : UNET_U8;
    im->shape[0] = channels;
    im->shape[1] = (int64_t)h;
    im->shape[2] = (int64_t)w;
    return 0;
}

int cli_read_image(const char *command, const char *path, int64_t max_pixels, cli_image *im)
{
    if (cli_is_png(path))
        return cli_read_png(command, path, max_pixels, im);
    memset(im, 0, sizeof *im);
    float *data = NULL;
    int rc = unet_tiff_read_limited(path, max_pixels, &data, im->shape);
    if (rc != UNET_OK) {
        fprintf(stderr, "unet: %s: %s: %s\n", command, path, cli_lib_message(rc));
        return -1;
    }
    im->data = data;
    im->dtype = UNET_F32;
    im->from_library = 1;
    return 0;
}

void cli_image_free(cli_image *im)
{
    if (im->from_library)
        unet_buffer_free(im->data);
    else
        free(im->data);
    im->data = NULL;
}

int cli_parse_axes(const char *axes, const char **pages, int *paged)
{
    static const struct {
        const char *axes, *pages;
        int paged;
    } known[] = {{"YX", "planes", 0},   {"YXC", "planes", 0},  {"ZYX", "planes", 1},
                 {"TYX", "planes", 1},  {"ZYXC", "planes", 1}, {"TYXC", "planes", 1},
                 {"CYX", "channels", 1}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcasecmp(axes, known[k].axes) == 0) {
            *pages = known[k].pages;
            *paged = known[k].paged;
            return 0;
        }
    return -1;
}
