/* unet — the libunet command-line program: dispatch to one file per command. */
#include <stdio.h>
#include <string.h>

#include "common.h"

static const char *const usage_main =
    "usage: unet <command> [options]\n"
    "\n"
    "commands:\n"
    "  info MODEL                          describe a .unet model file\n"
    "  create --config FILE -o MODEL [--seed N]\n"
    "                                      a new model from a JSON U-Net config\n"
    "  predict --model M IN.tif -o OUT.tif [options]\n"
    "                                      predict a TIFF (any size, streamed) or a PNG\n"
    "                                      into a TIFF\n"
    "  train --images DIR --labels DIR (--config CFG | --from MODEL) -o OUT.unet\n"
    "                                      train or fine-tune a model on TIFF folders\n"
    "  demo [--size N] [--threads N]       segment a generated nuclei image with the\n"
    "                                      built-in model and report how well it did\n"
    "  sample [--size N] [--seed S] [--bits 8|16] -o IMAGE.tif [--labels LABELS.tif]\n"
    "                                      a synthetic fluorescence-nuclei image (+ labels)\n"
    "  segment IN [IN2 | DIR ...] -o LABELS.tif [--model M] [--overlay OUT.png]\n"
    "          [--measure OUT.csv] [--scale S] [--channel N] [--axes ZYX|CYX]\n"
    "                                      instance labels of nuclei in TIFF or PNG images\n"
    "                                      (built-in model by default), outlines and\n"
    "                                      measurements\n"
    "  predict|segment IN.zarr -o OUT.zarr [--level N] [options]\n"
    "                                      OME-Zarr stores, by `python3 -m unet` (unet.dask;\n"
    "                                      pip install 'libunet[dask]')\n"
    "  --version                           print the library version\n"
    "\n"
    "Run 'unet <command> --help' for the options of one command.\n";

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_fail_usage("no command given", NULL);
    const char *cmd = argv[1];
    if (cli_is_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("unet %s\n", unet_version_string());
        return 0;
    }
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0 || strcmp(cmd, "segment") == 0) {
        int rc = cli_zarr_delegate(cmd, argc - 1, argv + 1); /* OME-Zarr: python3 -m unet */
        if (rc >= 0)
            return rc;
    }
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "sample") == 0)
        return cmd_sample(argc - 1, argv + 1);
    if (strcmp(cmd, "segment") == 0)
        return cmd_segment(argc - 1, argv + 1);
    return cli_fail_usage("unknown command", cmd);
}
