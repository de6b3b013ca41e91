/* Temporary file + rename for the program's own outputs (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signals.h"

static void release(cli_outfile *f)
{
    free(f->path);
    free(f->tmp);
    f->fp = NULL;
    f->path = f->tmp = NULL;
}

int cli_outfile_open(cli_outfile *f, const char *command, const char *role, const char *path)
{
    static unsigned serial; /* names of this process's files; O_EXCL settles the rest */
    memset(f, 0, sizeof *f);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
        if (!(f->path = strdup(path)) || !(f->fp = fopen(path, "w"))) {
            fprintf(stderr, "unet: %s: cannot write the %s '%s': %s\n", command, role, path,
                    strerror(errno));
            release(f);
            return -1;
        }
        return 0;
    }
    const char *slash = strrchr(path, '/');
    const int dir_len = slash ? (int)(slash - path) + 1 : 0;
    const size_t len = strlen(path) + 48;
    f->path = strdup(path);
    f->tmp = malloc(len);
    int err = ENOMEM;
    for (int attempt = 0; f->path && f->tmp && attempt < 100; attempt++) {
        snprintf(f->tmp, len, "%.*s.%s.%ld-%u.tmp", dir_len, path, path + dir_len,
                 (long)getpid(), serial++);
        int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 && (f->fp = fdopen(fd, "w")) != NULL)
            return 0;
        err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(f->tmp);
        }
        if (err != EEXIST)
            break;
    }
    fprintf(stderr, "unet: %s: cannot write the %s '%s': %s\n", command, role, path,
            strerror(err));
    release(f);
    return -1;
}

int cli_outfile_commit(cli_outfile *f, const char *command, const char *role)
{
    if (cli_signal_caught()) { /* stopped while writing: the run did not succeed */
        cli_outfile_abort(f);
        return -1;
    }
    int bad = ferror(f->fp);
    int err = bad ? EIO : 0;
    if (fclose(f->fp) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    f->fp = NULL;
    if (!bad && f->tmp && rename(f->tmp, f->path) != 0) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        fprintf(stderr, "unet: %s: cannot write the %s '%s': %s\n", command, role, f->path,
                strerror(err));
        if (f->tmp)
            unlink(f->tmp);
    }
    release(f);
    return bad ? -1 : 0;
}

void cli_outfile_abort(cli_outfile *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        unlink(f->tmp);
    release(f);
}
