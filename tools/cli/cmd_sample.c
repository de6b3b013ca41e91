/* unet sample: a synthetic fluorescence-nuclei image (and its labels) as TIFF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "paths.h"

static const char *const usage_sample =
    "usage: unet sample [--size N] [--seed S] [--bits 8|12|16] -o IMAGE.tif\n"
    "                   [--labels LABELS.tif] [--scene auto|classic|wide] [--nuclei N|auto]\n"
    "                   [--min-diameter PX] [--max-diameter PX] [--clusters N|auto]\n"
    "                   [--background KIND]\n"
    "Generates an N x N (default 512) synthetic fluorescence-nuclei image, 8-, 12- or 16-bit\n"
    "(default 16); --labels writes its uint16 instance labels. The same options give the same\n"
    "files.\n"
    "The classic scene (the default; what the built-in model was trained on): nuclei 10 to 60\n"
    "px across, touching and elongated, varied brightness and texture, blurred, on an uneven\n"
    "background with Poisson + Gaussian noise.\n"
    "The wide scene (--scene wide, or any option below; the others are then drawn per seed):\n"
    "  --nuclei N|auto       how many nuclei (fewer if they do not fit); 0 gives a field\n"
    "                        with no nuclei\n"
    "  --min-diameter PX     every nucleus whose label does not touch the border has an\n"
    "  --max-diameter PX     equivalent diameter in [min, max] (auto: 8 and 90)\n"
    "  --clusters N|auto     dense clusters of 50 or more touching nuclei each\n"
    "  --background KIND     never labelled: flat (noise only), ramp (uneven illumination),\n"
    "                        haze (dim out-of-focus nuclei, diffuse clouds), debris (specks,\n"
    "                        clumps, fibres), noise (few photons, correlated noise, hot\n"
    "                        pixels), or auto (a mixture)\n"
    "Example: unet sample --nuclei 0 --background haze --seed 3 -o empty.tif\n";

/* Options that map one to one onto sample options (the library checks their values). */
static const char *const scene_keys[][2] = {
    {"--scene", "scene"},
    {"--nuclei", "nuclei"},
    {"--min-diameter", "min_diameter"},
    {"--max-diameter", "max_diameter"},
    {"--clusters", "clusters"},
    {"--background", "background"},
};
enum { SCENE_KEYS = sizeof scene_keys / sizeof scene_keys[0] };

/* One uint8 or uint16 plane, deflate-compressed (labels compress ~50x), by the library:
 * a temporary file renamed on success, libtiff's messages in the library's error. */
static int write_tiff(const char *path, const char *role, const uint16_t *data, int w, int h,
                      int bits)
{
    const int64_t shape[2] = {h, w};
    uint8_t *narrow = NULL;
    int rc;
    if (bits == 8) {
        narrow = malloc((size_t)w * (size_t)h);
        for (size_t i = 0; narrow && i < (size_t)w * (size_t)h; i++)
            narrow[i] = (uint8_t)data[i];
        rc = narrow ? unet_tiff_write(path, narrow, UNET_U8, 2, shape, UNET_TIFF_DEFLATE)
                    : UNET_E_NOMEM;
        free(narrow);
    } else {
        rc = unet_tiff_write(path, data, UNET_U16, 2, shape, UNET_TIFF_DEFLATE);
    }
    if (rc != UNET_OK)
        fprintf(stderr, "unet: sample: cannot write the %s '%s': %s\n", role, path,
                rc == UNET_E_NOMEM ? "out of memory" : cli_lib_message(rc));
    return rc == UNET_OK ? 0 : -1;
}

int cmd_sample(int argc, char **argv)
{
    long long size = 512, seed = 0, bits = 16;
    const char *out = NULL, *labels_path = NULL, *scene[SCENE_KEYS] = {NULL};
    int exit_code;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = cli_next_value(argc, argv, &i, usage_sample,
                                                         &exit_code);
        if (!val)
            return exit_code;
        if (strcmp(opt, "--size") == 0) {
            if ((size = cli_parse_count(val, 8192)) < 16)
                return cli_fail_usage("--size must be 16 to 8192", val);
        } else if (strcmp(opt, "--seed") == 0) {
            if ((seed = cli_parse_count(val, 9007199254740992LL)) < 0)
                return cli_fail_usage("--seed must be a non-negative integer", val);
        } else if (strcmp(opt, "--bits") == 0) {
            bits = cli_parse_count(val, 16);
            if (bits != 8 && bits != 12 && bits != 16)
                return cli_fail_usage("--bits must be 8, 12 or 16", val);
        } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0) {
            out = val;
        } else if (strcmp(opt, "--labels") == 0) {
            labels_path = val;
        } else {
            int k = 0;
            while (k < SCENE_KEYS && strcmp(opt, scene_keys[k][0]) != 0)
                k++;
            if (k == SCENE_KEYS)
                return cli_fail_usage("unknown option for sample", opt);
            scene[k] = val;
        }
    }
    if (!out)
        return cli_fail_usage("sample needs -o IMAGE.tif", NULL);
    cli_paths paths = {.command = "sample"}; /* before any work: both files can be written */
    int bad_paths = cli_paths_output(&paths, out, "image", NULL, 0) ||
                    (labels_path && cli_paths_output(&paths, labels_path, "labels", NULL, 0)) ||
                    cli_paths_check(&paths);
    cli_paths_free(&paths);
    if (bad_paths)
        return 1;
    size_t np = (size_t)size * (size_t)size;
    uint16_t *img = malloc(np * sizeof *img), *lab = malloc(np * sizeof *lab);
    uint32_t *lab32 = malloc(np * sizeof *lab32), count = 0;
    unet_sample_opts_t *so = NULL;
    char bits_text[8];
    snprintf(bits_text, sizeof bits_text, "%lld", bits);
    int rc = img && lab && lab32 ? UNET_OK : UNET_E_NOMEM;
    if (rc == UNET_OK)
        rc = unet_sample_opts_create(&so);
    if (rc == UNET_OK)
        rc = unet_sample_opts_set_seed(so, (uint64_t)seed);
    if (rc == UNET_OK)
        rc = unet_sample_opts_set(so, "bits", bits_text);
    for (int k = 0; k < SCENE_KEYS && rc == UNET_OK; k++)
        if (scene[k])
            rc = unet_sample_opts_set(so, scene_keys[k][1], scene[k]);
    if (rc == UNET_OK)
        rc = unet_sample_nuclei(so, size, size, img, lab32, &count);
    unet_sample_opts_free(so);
    if (rc != UNET_OK) {
        free(img);
        free(lab);
        free(lab32);
        return cli_fail_lib("sample", rc);
    }
    for (size_t i = 0; i < np; i++) /* at most 65535 nuclei: uint16 labels as before */
        lab[i] = (uint16_t)lab32[i];
    free(lab32);
    if (write_tiff(out, "image", img, (int)size, (int)size, (int)bits) != 0 ||
        (labels_path && write_tiff(labels_path, "labels", lab, (int)size, (int)size, 16) != 0))
        rc = 1;
    if (rc == 0)
        printf("%s: %lld x %lld, %lld-bit, %u nuclei (seed %lld)%s%s\n", out, size, size, bits,
               count, seed, labels_path ? ", labels in " : "", labels_path ? labels_path : "");
    free(img);
    free(lab);
    return rc;
}
