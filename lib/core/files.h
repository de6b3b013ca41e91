/* Files the library reads and writes: inputs must be regular files (opened without blocking,
 * so a FIFO is refused instead of waited on); outputs are written to a temporary file beside
 * the target and renamed into place only on success, so a failed, cancelled or killed run never
 * truncates, replaces or leaves a torn file; an output that is an input (same device and inode,
 * whatever the path) is refused before any work. */
#ifndef UNET_CORE_FILES_H
#define UNET_CORE_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Open `path` for reading; it must be a regular file. *fd (blocking mode) and *size on success;
 * UNET_E_IO with a message naming `what` ("tiff", "model") and the reason otherwise. */
int unet__open_regular(const char *path, const char *what, int *fd, uint64_t *size);

/* UNET_E_INVALID_ARG when `output` names the same file as `input` (device and inode: links,
 * "./x" and symlinks included); UNET_OK when they differ or `output` does not exist yet. */
int unet__refuse_same_file(const char *input, const char *output);

typedef struct unet__output {
    int fd;        /* the temporary file, open for writing; -1 when writing straight through */
    char *path;    /* the target */
    char *tmp;     /* the temporary file beside it; NULL when writing straight through */
} unet__output;

/* Start writing `path`: a new temporary file in the same folder (mode 0666 less the umask),
 * or, when `path` is an existing character device such as /dev/null, that device itself. */
int unet__output_begin(const char *path, unet__output *out);
/* Rename the finished temporary file onto the target (the fd must already be closed, e.g. by
 * libtiff: pass closed = 1) and release `out`. */
int unet__output_commit(unet__output *out, int closed);
/* Remove the temporary file, leave the target untouched, release `out`. NULL-safe fields. */
void unet__output_abort(unet__output *out, int closed);
/* Write `size` bytes to `path` through a temporary file renamed into place (model files,
 * training states): a failed write leaves the target as it was. */
int unet__output_write_all(const char *path, const void *data, size_t size);

#endif
