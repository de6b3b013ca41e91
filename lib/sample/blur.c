/* Blurs for the sample generators (see blur.h). Columns are done in strips of STRIP columns
 * (and the box blur's rows in transposed strips of STRIP rows) so every inner loop runs along
 * memory, over independent lanes, and the extra buffers stay small even at 8192^2. */
#include "sample/blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STRIP = 64 };

static int mirror(int i, int n)
{
    while (i < 0 || i >= n) {
        if (i < 0)
            i = -i - 1;
        if (i >= n)
            i = 2 * n - i - 1;
    }
    return i;
}

/* ---- exact Gaussian ---- */

/* One line (n values, stride 1) convolved with the 2 rad + 1 taps k; ext and acc hold
 * n + 2 rad and n floats. Tap order and float accumulation are those of a plain per-pixel
 * loop, so the result does not depend on how the loops are arranged. */
static void convolve_line(float *line, int n, const float *k, int rad, float *ext, float *acc)
{
    for (int j = 0; j < n + 2 * rad; j++)
        ext[j] = line[mirror(j - rad, n)];
    for (int x = 0; x < n; x++)
        acc[x] = 0;
    for (int i = 0; i <= 2 * rad; i++) {
        const float ki = k[i], *src = ext + i;
        for (int x = 0; x < n; x++)
            acc[x] += ki * src[x];
    }
    memcpy(line, acc, (size_t)n * sizeof *line);
}

int unet__sample_blur(float *img, int w, int h, double sigma)
{
    int rad = (int)ceil(3 * sigma), n = w > h ? w : h;
    float *k = malloc((size_t)(2 * rad + 1) * sizeof *k);
    float *ext = malloc((size_t)(n + 2 * rad) * STRIP * sizeof *ext);
    float *acc = malloc((size_t)n * sizeof *acc);
    if (!k || !ext || !acc) {
        free(k);
        free(ext);
        free(acc);
        return -1;
    }
    double sum = 0;
    for (int i = -rad; i <= rad; i++)
        sum += k[i + rad] = (float)exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * rad; i++)
        k[i] = (float)(k[i] / sum);
    for (int y = 0; y < h; y++)
        convolve_line(img + (size_t)y * w, w, k, rad, ext, acc);
    for (int x0 = 0; x0 < w; x0 += STRIP) { /* columns, STRIP at a time */
        int sw = w - x0 < STRIP ? w - x0 : STRIP;
        for (int j = 0; j < h + 2 * rad; j++)
            memcpy(ext + (size_t)j * STRIP, img + (size_t)mirror(j - rad, h) * w + x0,
                   (size_t)sw * sizeof *ext);
        for (int y = 0; y < h; y++) {
            float col[STRIP] = {0};
            for (int i = 0; i <= 2 * rad; i++) {
                const float ki = k[i], *src = ext + (size_t)(y + i) * STRIP;
                for (int c = 0; c < sw; c++)
                    col[c] += ki * src[c];
            }
            memcpy(img + (size_t)y * w + x0, col, (size_t)sw * sizeof *col);
        }
    }
    free(k);
    free(ext);
    free(acc);
    return 0;
}

/* ---- three boxes ---- */

/* Radii of three boxes whose summed variance is sigma^2 (widths 2r+1 differ by at most 2). */
static void box_radii(double sigma, int r[3])
{
    double ideal = sqrt(12 * sigma * sigma / 3 + 1);
    int lo = (int)floor(ideal);
    if (lo % 2 == 0)
        lo--;
    int hi = lo + 2;
    double m = (12 * sigma * sigma - 3.0 * lo * lo - 12.0 * lo - 9) / (-4.0 * lo - 4);
    for (int i = 0; i < 3; i++)
        r[i] = ((i < (int)floor(m + 0.5) ? lo : hi) - 1) / 2;
}

/* A running mean of radius r over the n values of each of `lanes` interleaved lines (value
 * j of lane c at data[j * lanes + c]); ext holds (n + 2 r) * lanes floats. */
static void box_lines(float *data, int n, int lanes, int r, float *ext)
{
    for (int j = 0; j < n + 2 * r; j++)
        memcpy(ext + (size_t)j * lanes, data + (size_t)mirror(j - r, n) * lanes,
               (size_t)lanes * sizeof *ext);
    double s[STRIP] = {0}, inv = 1.0 / (2 * r + 1);
    for (int j = 0; j <= 2 * r; j++)
        for (int c = 0; c < lanes; c++)
            s[c] += ext[(size_t)j * lanes + c];
    for (int c = 0; c < lanes; c++)
        data[c] = (float)(s[c] * inv);
    for (int y = 1; y < n; y++) {
        const float *add = ext + (size_t)(y + 2 * r) * lanes, *sub = ext + (size_t)(y - 1) * lanes;
        for (int c = 0; c < lanes; c++) {
            s[c] += (double)add[c] - sub[c];
            data[(size_t)y * lanes + c] = (float)(s[c] * inv);
        }
    }
}

int unet__sample_blur_fast(float *img, int w, int h, double sigma)
{
    if (sigma <= 3)
        return unet__sample_blur(img, w, h, sigma);
    int r[3];
    box_radii(sigma, r);
    int n = w > h ? w : h, rmax = r[0] > r[2] ? r[0] : r[2];
    float *ext = malloc((size_t)(n + 2 * rmax) * STRIP * sizeof *ext);
    float *strip = malloc((size_t)n * STRIP * sizeof *strip);
    if (!ext || !strip) {
        free(ext);
        free(strip);
        return -1;
    }
    for (int y0 = 0; y0 < h; y0 += STRIP) { /* rows, STRIP at a time, as interleaved lanes */
        int sh = h - y0 < STRIP ? h - y0 : STRIP;
        for (int c = 0; c < sh; c++)
            for (int x = 0; x < w; x++)
                strip[(size_t)x * sh + c] = img[(size_t)(y0 + c) * w + x];
        for (int p = 0; p < 3; p++)
            box_lines(strip, w, sh, r[p], ext);
        for (int c = 0; c < sh; c++)
            for (int x = 0; x < w; x++)
                img[(size_t)(y0 + c) * w + x] = strip[(size_t)x * sh + c];
    }
    for (int x0 = 0; x0 < w; x0 += STRIP) {
        int sw = w - x0 < STRIP ? w - x0 : STRIP;
        for (int y = 0; y < h; y++)
            memcpy(strip + (size_t)y * sw, img + (size_t)y * w + x0, (size_t)sw * sizeof *strip);
        for (int p = 0; p < 3; p++)
            box_lines(strip, h, sw, r[p], ext);
        for (int y = 0; y < h; y++)
            memcpy(img + (size_t)y * w + x0, strip + (size_t)y * sw, (size_t)sw * sizeof *strip);
    }
    free(ext);
    free(strip);
    return 0;
}

void unet__sample_unit_rms(float *img, size_t np, double eps)
{
    double ss = 0;
    for (size_t p = 0; p < np; p++)
        ss += (double)img[p] * img[p];
    float scale = (float)(1 / sqrt(ss / np + eps));
    for (size_t p = 0; p < np; p++)
        img[p] *= scale;
}
