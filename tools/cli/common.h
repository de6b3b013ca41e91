/* Helpers shared by the `unet` commands: errors, option parsing, files, time. */
#ifndef UNET_CLI_COMMON_H
#define UNET_CLI_COMMON_H

#include "unet.h"

/* One-line error on stderr naming the failed step and libunet's message; returns 1. */
int cli_fail_lib(const char *what, int status);
/* libunet's message for a failed call (it names the file or value and the reason) followed by
 * the status's category in parentheses ("malformed file or document", "unsupported"), except
 * for UNET_E_IO, whose messages end with the system's reason: "(input/output error)" after
 * "No such file or directory" misleads more than it tells. Valid until the next call. */
const char *cli_lib_message(int status);
/* One-line usage error on stderr; returns 2. */
int cli_fail_usage(const char *msg, const char *arg);
int cli_is_help(const char *arg);
int cli_is_quiet(const char *arg); /* --quiet or -q */
/* Option argv[*i] of a command whose options all take a value (demo, create, sample): NULL
 * after --help (`usage` printed to stdout, *exit_code 0) or an option without a value (a usage
 * error, *exit_code 2); otherwise its value, with *i moved onto it. */
const char *cli_next_value(int argc, char **argv, int *i, const char *usage, int *exit_code);
/* Option argv[*i], one of with_value (NULL-terminated): 0 with *value its value and *i moved
 * onto it, or 2 after a usage error ("unknown option for COMMAND", or a missing value). */
int cli_known_value(int argc, char **argv, int *i, const char *const *with_value,
                    const char *command, const char **value);
/* A non-negative integer option value <= max, or -1. */
long long cli_parse_count(const char *s, long long max);
/* A whole small text file (NULL on failure, errno set). */
char *cli_read_text_file(const char *path);
double cli_now_seconds(void);
/* Print a model's description to stdout. */
void cli_print_model(const unet_model_t *m);

/* Hand `unet COMMAND ARGS` to `python3 -m unet COMMAND ARGS` when an argument names a .zarr
 * store (zarr_delegate.c): -1 when none does, else the exit status (only when it failed). */
int cli_zarr_delegate(const char *command, int argc, char **argv);

int cmd_info(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_segment(int argc, char **argv);

#endif
