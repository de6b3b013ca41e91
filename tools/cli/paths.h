/* Every file a run reads and writes, checked before any work starts: each output's folder
 * exists and is writable and the output is not a folder; no output is an input, and no two
 * outputs are one file. "The same file" means the same device and inode (hard links, "./x",
 * symlinks), or, for files that do not exist yet, the same name in the same folder. */
#ifndef UNET_CLI_PATHS_H
#define UNET_CLI_PATHS_H

#include <stddef.h>

typedef struct cli_path_entry cli_path_entry;

typedef struct cli_paths {
    const char *command;    /* "segment": the prefix of messages */
    cli_path_entry *items;
    size_t n, cap;
} cli_paths;

/* Record a file the run reads; role names it in messages ("input", "model"). 0, or -1 with a
 * message on stderr (it does not exist or cannot be reached; out of memory). */
int cli_paths_input(cli_paths *p, const char *path, const char *role);
/* Record a file the run writes; role names it ("labels", "overlay"), from (may be NULL) is the
 * input it is made from, named when two inputs would write one file. 0, or -1 with a message
 * on stderr when the path cannot be written: a folder where a file is expected, an existing
 * file that is neither a regular file nor a device (/dev/null), or, unless in_checked_folder
 * (the folder passed cli_check_output_folder and is created later), a folder that is missing
 * or not writable. */
int cli_paths_output(cli_paths *p, const char *path, const char *role, const char *from,
                     int in_checked_folder);
/* 0 when no output is an input or another output; else -1 with one line on stderr naming
 * both files. */
int cli_paths_check(cli_paths *p);
void cli_paths_free(cli_paths *p);

/* A folder outputs go into (created later by the command): it exists and is writable, or its
 * parent does. 0, or -1 with a message naming role and the reason. */
int cli_check_output_folder(const char *command, const char *dir, const char *role);
/* Create the folder (mkdir -p of one level, like `unet segment`'s output folders): 0 or -1
 * with a message. */
int cli_make_output_folder(const char *command, const char *dir, const char *role);

#endif
