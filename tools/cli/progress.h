/* What every long-running `unet` command shares: a progress bar redrawn in place on a
 * terminal (signals that stop a run: signals.h). */
#ifndef UNET_CLI_PROGRESS_H
#define UNET_CLI_PROGRESS_H

typedef struct cli_progress {
    double start; /* cli_now_seconds() when the work began */
    int drawn;    /* a line is on the terminal (end it before printing anything else) */
} cli_progress;

void cli_progress_start(cli_progress *p);
/* Redraw "\r<label> [#####.....]  42.0%  <extra>ETA mm:ss " on stderr; the ETA comes from the
 * elapsed time once fraction passes 1 %. extra may be "". */
void cli_progress_draw(cli_progress *p, const char *label, double fraction, const char *extra);
/* End the bar's line, if one was drawn. */
void cli_progress_end(cli_progress *p);
/* "mm:ss" of a duration, "--:--" when it is negative (unknown). */
void cli_format_eta(double seconds, char text[32]);

#endif
