/* Helpers shared by the `unet` commands. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One-line error on stderr; returns the exit status for runtime failures. */
int cli_fail_lib(const char *what, int status)
{
    fprintf(stderr, "unet: %s: %s\n", what, cli_lib_message(status));
    return 1;
}

const char *cli_lib_message(int status)
{
    static char text[1024];
    const char *msg = unet_last_error();
    if (!msg || !*msg)
        return unet_status_string(status);
    if (status == UNET_E_IO)
        return msg;
    snprintf(text, sizeof text, "%s (%s)", msg, unet_status_string(status));
    return text;
}

int cli_fail_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "unet: %s%s%s (see 'unet --help')\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

int cli_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int cli_is_quiet(const char *a)
{
    return strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0;
}

const char *cli_next_value(int argc, char **argv, int *i, const char *usage, int *exit_code)
{
    if (cli_is_help(argv[*i])) {
        fputs(usage, stdout);
        *exit_code = 0;
        return NULL;
    }
    if (*i + 1 >= argc) {
        *exit_code = cli_fail_usage("missing value for option", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_known_value(int argc, char **argv, int *i, const char *const *with_value,
                    const char *command, const char **value)
{
    const char *a = argv[*i];
    int known = 0;
    for (int k = 0; with_value[k]; k++)
        known |= strcmp(a, with_value[k]) == 0;
    if (!known) {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown option for %s", command);
        return cli_fail_usage(msg, a);
    }
    if (*i + 1 >= argc)
        return cli_fail_usage("missing value for option", a);
    *value = argv[++*i];
    return 0;
}

/* Parse a non-negative integer option value; -1 on error. */
long long cli_parse_count(const char *s, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    return v;
}

char *cli_read_text_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
        if (len + 1 == cap) {
            if (cap > (64u << 20)) { /* a config is small; refuse anything huge */
                free(buf);
                buf = NULL;
                break;
            }
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (!buf || failed) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

void cli_print_model(const unet_model_t *m)
{
    const char *arch = NULL, *meta = NULL;
    int64_t params = 0;
    int tensors = 0, cin = 0, cout = 0, same = 0, halo = 0, block = 0;
    unet_model_architecture(m, &arch);
    unet_model_metadata(m, &meta);
    unet_model_param_count(m, &params);
    unet_model_tensor_count(m, &tensors);
    unet_model_in_channels(m, &cin);
    unet_model_out_channels(m, &cout);
    unet_model_is_same_padding(m, &same);
    unet_model_halo(m, &halo);
    unet_model_block_multiple(m, &block);
    printf("architecture: %s\n", arch ? arch : "?");
    printf("parameters:   %lld in %d tensors\n", (long long)params, tensors);
    printf("channels:     %d in, %d out\n", cin, cout);
    printf("padding:      %s\n", same ? "same" : "valid");
    printf("halo:         %d px\n", halo);
    printf("block:        %d px (input sizes and tile origins are multiples)\n", block);
    int64_t in, out;
    if (unet_model_fit_size(m, 1, &in, &out) == UNET_OK)
        printf("smallest input: %lld px -> output %lld px\n", (long long)in, (long long)out);
    printf("metadata:     %s\n", meta ? meta : "?");
}

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

