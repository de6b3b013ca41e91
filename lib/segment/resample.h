/*
 * Resizing for segmentation at the model's trained object size: a region reader that serves
 * the bilinearly resized image (half-pixel centres) from the caller's reader, and a label
 * writer that maps rows of the resized grid back to the original grid (nearest).
 */
#ifndef UNET_SEGMENT_RESAMPLE_H
#define UNET_SEGMENT_RESAMPLE_H

#include <stdint.h>

#include "unet.h"

/* Size of an axis of n pixels resized by `scale` (at least 1). */
int64_t unet__scaled_size(int64_t n, double scale);
/* Pixel of the resized axis (size m) that pixel i of the original axis (size n) takes. */
int64_t unet__scaled_index(int64_t i, int64_t n, int64_t m);

typedef struct unet__scaled_reader {
    unet_read_fn read; /* the original image */
    void *user;
    int64_t channels, height, width;       /* original */
    int64_t sheight, swidth;               /* resized */
    float *buf;
    int64_t buf_cap;
    int threads;                           /* that interpolate rows (0 or 1: the caller's) */
} unet__scaled_reader;
/* A unet_read_fn over the resized image; user is a unet__scaled_reader. */
int unet__scaled_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst);
void unet__scaled_reader_free(unet__scaled_reader *r);

typedef struct unet__label_mapper {
    unet_label_write_fn write; /* the caller's writer, original grid */
    void *user;
    int64_t height, width, sheight, swidth;
    int64_t next_y;            /* next original row to write */
    int64_t *col;              /* resized column of each original column */
    uint32_t *row;
} unet__label_mapper;
int unet__label_mapper_init(unet__label_mapper *m);
void unet__label_mapper_free(unet__label_mapper *m);
/* Takes finished resized rows [y, y+h) and writes every original row they determine. */
int unet__label_mapper_emit(void *user, int64_t y, int64_t h, const uint32_t *labels);

#endif
