/* Regular-file inputs, same-file refusal, and outputs written by temporary file + rename. */
#include "core/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

int unet__open_regular(const char *path, const char *what, int *fd, uint64_t *size)
{
    *fd = -1;
    *size = 0;
    /* O_NONBLOCK: a FIFO without a writer would block open() itself, before fstat could
     * tell it is not a regular file. */
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0) /* the common cases in words a user reads at once */
        return unet__fail(UNET_E_IO, "%s '%.200s': cannot open: %s", what, path,
                          errno == ENOENT   ? "no such file"
                          : errno == EACCES ? "permission denied"
                                            : strerror(errno));
    struct stat st;
    if (fstat(f, &st) != 0) {
        int rc = unet__fail(UNET_E_IO, "%s '%.200s': cannot stat: %s", what, path,
                            strerror(errno));
        close(f);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return unet__fail(UNET_E_IO, "%s '%.200s': %s", what, path,
                          S_ISDIR(st.st_mode) ? "is a directory, not a regular file"
                                              : "is not a regular file");
    }
    int fl = fcntl(f, F_GETFL);
    if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int rc = unet__fail(UNET_E_IO, "%s '%.200s': cannot read: %s", what, path,
                            strerror(errno));
        close(f);
        return rc;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return UNET_OK;
}

int unet__refuse_same_file(const char *input, const char *output)
{
    struct stat a, b;
    if (!input || !output || stat(input, &a) != 0 || stat(output, &b) != 0)
        return UNET_OK; /* an output that does not exist yet cannot be the input */
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return unet__fail(UNET_E_INVALID_ARG,
                          "output '%.200s' is the input file '%.200s': refusing to overwrite "
                          "the input",
                          output, input);
    return UNET_OK;
}

/* "<dir>/.<name>.<pid>-<tag>.tmp": hidden, beside the target (same filesystem, so rename is
 * atomic). The tag mixes the clock, the caller's output object and the attempt; no process-wide
 * counter is needed, since O_EXCL and the retries settle any collision. */
static char *temp_name(const char *path, const unet__output *out, unsigned attempt)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *name = slash ? slash + 1 : path;
    size_t len = strlen(path) + 64;
    char *tmp = malloc(len);
    if (!tmp)
        return NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t mix = ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) ^
                   (uint64_t)(uintptr_t)out ^ ((uint64_t)attempt * 0x9E3779B97F4A7C15ull);
    unsigned tag = (unsigned)(mix ^ (mix >> 32));
    snprintf(tmp, len, "%.*s.%s.%ld-%08x.tmp", (int)dir_len, path, name, (long)getpid(), tag);
    return tmp;
}

int unet__output_begin(const char *path, unet__output *out)
{
    out->fd = -1;
    out->path = NULL;
    out->tmp = NULL;
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return unet__fail(UNET_E_IO, "cannot write '%.200s': it is a directory", path);
    out->path = unet__strdup(path);
    if (!out->path)
        return unet__fail(UNET_E_NOMEM, "out of memory writing '%.200s'", path);
    if (exists && S_ISCHR(st.st_mode)) { /* /dev/null and friends */
        out->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (out->fd < 0) {
            int rc = unet__fail(UNET_E_IO, "cannot open '%.200s': %s", path, strerror(errno));
            free(out->path);
            out->path = NULL;
            return rc;
        }
        return UNET_OK;
    }
    for (unsigned attempt = 0; attempt < 64; attempt++) {
        char *tmp = temp_name(path, out, attempt);
        if (!tmp)
            break;
        /* O_EXCL: never open, truncate or follow anything that already exists. */
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            out->fd = fd;
            out->tmp = tmp;
            return UNET_OK;
        }
        int err = errno;
        free(tmp);
        if (err != EEXIST) {
            free(out->path);
            out->path = NULL;
            return unet__fail(UNET_E_IO, "cannot create a file beside '%.200s': %s", path,
                              strerror(err));
        }
    }
    free(out->path);
    out->path = NULL;
    return unet__fail(UNET_E_IO, "cannot create a temporary file beside '%.200s'", path);
}

/* The caller has closed (or handed over) the descriptor. */
static void release(unet__output *out)
{
    out->fd = -1;
    free(out->path);
    free(out->tmp);
    out->path = out->tmp = NULL;
}

int unet__output_commit(unet__output *out, int closed)
{
    int rc = UNET_OK;
    if (!closed && out->fd >= 0 && close(out->fd) != 0)
        rc = unet__fail(UNET_E_IO, "cannot write '%.200s': %s", out->path, strerror(errno));
    out->fd = -1;
    if (out->tmp) {
        if (rc == UNET_OK && rename(out->tmp, out->path) != 0)
            rc = unet__fail(UNET_E_IO, "cannot replace '%.200s': %s", out->path,
                            strerror(errno));
        if (rc != UNET_OK)
            unlink(out->tmp);
    }
    release(out);
    return rc;
}

void unet__output_abort(unet__output *out, int closed)
{
    if (!closed && out->fd >= 0)
        close(out->fd);
    out->fd = -1;
    if (out->tmp)
        unlink(out->tmp);
    release(out);
}

int unet__output_write_all(const char *path, const void *data, size_t size)
{
    unet__output out;
    int rc = unet__output_begin(path, &out);
    if (rc != UNET_OK)
        return rc;
    const uint8_t *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t put = write(out.fd, p, left);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            rc = unet__fail(UNET_E_IO, "cannot write '%.200s': %s", path,
                            put < 0 ? strerror(errno) : "no space");
            break;
        }
        p += put;
        left -= (size_t)put;
    }
    if (rc == UNET_OK)
        return unet__output_commit(&out, 0);
    unet__output_abort(&out, 0);
    return rc;
}
