/* Files the `unet` program writes itself (overlay PNG, measurements CSV): written to a
 * temporary file in the target's folder and renamed onto the target only when complete, so a
 * failed, cancelled or killed run leaves no partial file and never touches an existing one.
 * (The library does the same for the files it writes; its helper is internal, so the program
 * has its own.) */
#ifndef UNET_CLI_OUTFILE_H
#define UNET_CLI_OUTFILE_H

#include <stdio.h>

typedef struct cli_outfile {
    FILE *fp;   /* write here */
    char *path; /* the target */
    char *tmp;  /* ".NAME.PID-N.tmp" beside it; NULL when writing a device such as /dev/null */
} cli_outfile;

/* Open a new temporary file beside path (mode 0666 less the umask; never follows or truncates
 * an existing file), or the device itself. 0, or -1 with a message on stderr naming
 * command, role and path. */
int cli_outfile_open(cli_outfile *f, const char *command, const char *role, const char *path);
/* Close and rename onto the target: 0, or -1 with a message (the temporary file removed).
 * A stop signal caught meanwhile (signals.h) aborts instead and returns -1 quietly. */
int cli_outfile_commit(cli_outfile *f, const char *command, const char *role);
/* Close and remove the temporary file; the target is untouched. Safe after a failed open. */
void cli_outfile_abort(cli_outfile *f);

#endif
