/* Small valid TIFFs of every layout the reader handles, written by libtiff into a folder: the
 * starting points of the TIFF fuzz targets (the committed corpus holds what runs learned). */
#ifndef UNET_FUZZ_TIFF_SEEDS_H
#define UNET_FUZZ_TIFF_SEEDS_H

void write_tiff_seeds(const char *dir);

#endif
