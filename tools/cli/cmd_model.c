/* unet info and unet create. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "paths.h"

static const char *const usage_info = "usage: unet info MODEL\n"
                                      "Prints the architecture, sizes and metadata of MODEL.\n";

static const char *const usage_create =
    "usage: unet create --config FILE -o MODEL [--seed N]\n"
    "Creates a U-Net from the JSON config in FILE (keys of DESIGN section 5; {} gives the\n"
    "defaults) with He-initialised weights drawn from seed N (default 0), and saves it.\n";

int cmd_info(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        fputs(usage_info, stdout);
        return 0;
    }
    if (argc != 2)
        return cli_fail_usage("info takes exactly one MODEL", NULL);
    unet_model_t *m;
    int rc = unet_model_load(argv[1], &m);
    if (rc != UNET_OK)
        return cli_fail_lib("info", rc);
    printf("model:        %s\n", argv[1]);
    cli_print_model(m);
    unet_model_free(m);
    return 0;
}

int cmd_create(int argc, char **argv)
{
    const char *config = NULL, *output = NULL;
    long long seed = 0;
    int exit_code;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = cli_next_value(argc, argv, &i, usage_create,
                                                         &exit_code);
        if (!val)
            return exit_code;
        if (strcmp(opt, "--config") == 0)
            config = val;
        else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0)
            output = val;
        else if (strcmp(opt, "--seed") == 0) {
            if ((seed = cli_parse_count(val, INT64_MAX)) < 0)
                return cli_fail_usage("--seed must be a non-negative integer", val);
        } else
            return cli_fail_usage("unknown option for create", opt);
    }
    if (!config || !output)
        return cli_fail_usage("create needs --config FILE and -o MODEL", NULL);
    cli_paths paths = {.command = "create"}; /* the output can be written, and is not FILE */
    int bad_paths = cli_paths_input(&paths, config, "config") ||
                    cli_paths_output(&paths, output, "model", NULL, 0) ||
                    cli_paths_check(&paths);
    cli_paths_free(&paths);
    if (bad_paths)
        return 1;
    char *text = cli_read_text_file(config);
    if (!text) {
        fprintf(stderr, "unet: create: cannot read config '%s': %s\n", config, strerror(errno));
        return 1;
    }
    unet_model_t *m;
    int rc = unet_model_create(text, (uint64_t)seed, &m);
    free(text);
    if (rc != UNET_OK)
        return cli_fail_lib("create", rc);
    rc = unet_model_save(m, output);
    int64_t params = 0;
    int halo = 0, block = 0;
    if (rc == UNET_OK)
        rc = unet_model_param_count(m, &params);
    if (rc == UNET_OK)
        rc = unet_model_halo(m, &halo);
    if (rc == UNET_OK)
        rc = unet_model_block_multiple(m, &block);
    if (rc == UNET_OK)
        printf("created %s: %lld parameters, halo %d px, block multiple %d\n", output,
               (long long)params, halo, block);
    unet_model_free(m);
    return rc == UNET_OK ? 0 : cli_fail_lib("create", rc);
}

