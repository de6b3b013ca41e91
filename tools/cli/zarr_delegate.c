/*
 * .zarr stores given to `unet predict` or `unet segment`: OME-Zarr is read and written by the
 * Python package (unet.dask, with dask, zarr and ome-zarr: pip install 'libunet[dask]'), so
 * these commands hand their arguments over to `python3 -m unet predict|segment ...`. The
 * interpreter is $UNET_PYTHON, else python3 on the PATH; UNET_LIBRARY is set to the libunet
 * this program runs on (unless the caller set it), so both sides use the same library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* "x.zarr" or "x.zarr/" (any number of trailing slashes). */
static int names_zarr(const char *arg)
{
    size_t n = strlen(arg);
    while (n > 1 && arg[n - 1] == '/')
        n--;
    return n >= 5 && strncmp(arg + n - 5, ".zarr", 5) == 0;
}

int cli_zarr_delegate(const char *command, int argc, char **argv)
{
    int zarr = 0;
    for (int i = 1; i < argc && !zarr; i++)
        zarr = names_zarr(argv[i]);
    if (!zarr)
        return -1;
    Dl_info info;
    if (!getenv("UNET_LIBRARY") && dladdr((void *)unet_version, &info) && info.dli_fname &&
        strchr(info.dli_fname, '/'))
        setenv("UNET_LIBRARY", info.dli_fname, 1);
    const char *python = getenv("UNET_PYTHON");
    if (!python || !*python)
        python = "python3";
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) {
        fprintf(stderr, "unet %s: out of memory\n", command);
        return 1;
    }
    args[0] = (char *)python;
    args[1] = "-m";
    args[2] = "unet";
    args[3] = (char *)command;
    for (int i = 1; i < argc; i++)
        args[3 + i] = argv[i];
    fflush(stdout);
    execvp(python, args);
    fprintf(stderr, "unet %s: .zarr stores are read and written by the Python package "
                    "(python3 -m unet %s); running %s failed: %s. Install it with "
                    "pip install 'libunet[dask]' or name the interpreter in UNET_PYTHON.\n",
            command, command, python, strerror(errno));
    free(args);
    return 127;
}
