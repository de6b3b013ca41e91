/* The training log (CSV, one row per logged step): where it is written and when it takes the
 * place of an existing file. */
#ifndef UNET_TRAIN_TRAIN_LOG_H
#define UNET_TRAIN_TRAIN_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "core/files.h"

typedef struct unet__train_log {
    FILE *f;             /* NULL: no log */
    unet__output out;    /* a temporary file replacing an existing log (out.tmp), else unused */
    bool replacing;
} unet__train_log;

/* Open `path` before the first step of a run. A resumed run (resumed = true) appends to it. A
 * new run writes the file itself, so it can be watched as it grows, when no file has that
 * name; when one has, it writes a temporary file beside it that replaces it only when training
 * completes (unet__train_log_close), so a failed or cancelled run never truncates an existing
 * log. The header row is written for new runs. */
int unet__train_log_open(unet__train_log *log, const char *path, bool resumed);
/* Close the log; completed: the run did every planned step (a replacing log then takes the
 * existing file's place, else it is removed and the existing file stays as it was). */
int unet__train_log_close(unet__train_log *log, bool completed);

#endif
