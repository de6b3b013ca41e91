/* Object outlines over the image as an RGB PNG (libpng). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

#include "outfile.h"
#include "segment_out.h"
#include "signals.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles of up to a million evenly strided samples: enough for display contrast. */
static void display_range(const float *im, int64_t n, float *lo, float *hi)
{
    int64_t step = n > 1000000 ? n / 1000000 : 1, m = (n + step - 1) / step;
    float *s = malloc((size_t)m * sizeof *s);
    if (!s) {
        *lo = 0;
        *hi = 1;
        return;
    }
    for (int64_t i = 0; i < m; i++)
        s[i] = im[i * step];
    qsort(s, (size_t)m, sizeof *s, cmp_float);
    *lo = s[(int64_t)(0.01 * (double)(m - 1))];
    *hi = s[(int64_t)(0.998 * (double)(m - 1))];
    free(s);
}

/* A pixel is on an outline when a 4-neighbour inside the image has another label. */
static int on_outline(const uint32_t *l, int64_t h, int64_t w, int64_t y, int64_t x)
{
    uint32_t v = l[y * w + x];
    if (!v)
        return 0;
    return (y > 0 && l[(y - 1) * w + x] != v) || (y + 1 < h && l[(y + 1) * w + x] != v) ||
           (x > 0 && l[y * w + x - 1] != v) || (x + 1 < w && l[y * w + x + 1] != v);
}

/* libpng's errors become our message (its default prints its own line); warnings are dropped. */
static void png_failed(png_structp png, png_const_charp msg)
{
    snprintf(png_get_error_ptr(png), 160, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void png_warned(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg;
}

int write_overlay_png(const char *path, const float *image, const uint32_t *labels, int64_t h,
                      int64_t w)
{
    if (h > 0x7fffffff || w > 0x7fffffff / 3) {
        fprintf(stderr, "unet: segment: %lld x %lld is too large for a PNG overlay\n",
                (long long)h, (long long)w);
        return -1;
    }
    float lo, hi;
    display_range(image, h * w, &lo, &hi);
    float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    cli_outfile f;
    if (cli_outfile_open(&f, "segment", "overlay", path) != 0)
        return -1;
    char why[160] = "out of memory";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, why, png_failed,
                                              png_warned);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep volatile row = malloc((size_t)w * 3);
    if (!png || !info || !row || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "unet: segment: cannot write the overlay '%s': %s\n", path, why);
        png_destroy_write_struct(&png, &info);
        free(row);
        cli_outfile_abort(&f);
        return -1;
    }
    png_init_io(png, f.fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t y = 0; y < h && !cli_signal_caught(); y++) {
        for (int64_t x = 0; x < w; x++) {
            png_bytep p = row + 3 * x;
            if (on_outline(labels, h, w, y, x)) {
                p[0] = 255;
                p[1] = 220;
                p[2] = 0;
                continue;
            }
            float v = (image[y * w + x] - lo) * scale;
            png_byte g = (png_byte)(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5f);
            p[0] = p[1] = p[2] = g;
        }
        png_write_row(png, row);
    }
    if (!cli_signal_caught())
        png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return cli_outfile_commit(&f, "segment", "overlay"); /* aborts after a stop signal */
}
