/* The training log's file (train_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "train/train_log.h"

static const char header[] =
    "step,epoch,lr,train_loss,val_loss,metric,iou,dice,f1,psnr,ssim,seconds\n";

int unet__train_log_open(unet__train_log *log, const char *path, bool resumed)
{
    memset(log, 0, sizeof *log);
    log->out.fd = -1;
    int fd;
    if (resumed) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    } else {
        /* O_EXCL: a new file only; an existing one is replaced at completion, not now. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) {
            int rc = unet__output_begin(path, &log->out);
            if (rc != UNET_OK)
                return rc;
            log->replacing = log->out.tmp != NULL;
            fd = log->out.fd;
            log->out.fd = -1; /* owned by the FILE below */
            if (!log->replacing)
                unet__output_abort(&log->out, 1); /* a device: written straight through */
        }
    }
    if (fd < 0)
        return unet__fail(UNET_E_IO, "cannot create the log '%.200s': %s", path,
                          strerror(errno));
    log->f = fdopen(fd, resumed ? "a" : "w");
    if (!log->f) {
        int err = errno;
        close(fd);
        if (log->replacing)
            unet__output_abort(&log->out, 1);
        log->replacing = false;
        return unet__fail(UNET_E_IO, "cannot write the log '%.200s': %s", path, strerror(err));
    }
    if (!resumed)
        fputs(header, log->f);
    fflush(log->f);
    return UNET_OK;
}

int unet__train_log_close(unet__train_log *log, bool completed)
{
    int rc = UNET_OK;
    if (log->f && fclose(log->f) != 0)
        rc = unet__fail(UNET_E_IO, "cannot write the training log: %s", strerror(errno));
    log->f = NULL;
    if (log->replacing) {
        if (completed && rc == UNET_OK)
            rc = unet__output_commit(&log->out, 1);
        else
            unet__output_abort(&log->out, 1);
    }
    log->replacing = false;
    return rc;
}
