/* Progress bar for the `unet` commands (see progress.h). */
#include "progress.h"

#include <stdio.h>

#include "common.h"

#define BAR_WIDTH 30

void cli_progress_start(cli_progress *p)
{
    p->start = cli_now_seconds();
    p->drawn = 0;
}

void cli_format_eta(double seconds, char text[32])
{
    if (seconds < 0)
        snprintf(text, 32, "--:--");
    else
        snprintf(text, 32, "%02d:%02d", (int)seconds / 60, (int)seconds % 60);
}

void cli_progress_draw(cli_progress *p, const char *label, double fraction, const char *extra)
{
    const double elapsed = cli_now_seconds() - p->start;
    char eta[32], line[BAR_WIDTH + 1];
    cli_format_eta(fraction > 0.01 ? elapsed * (1 - fraction) / fraction : -1, eta);
    const int filled = (int)(fraction * BAR_WIDTH + 0.5);
    for (int i = 0; i < BAR_WIDTH; i++)
        line[i] = i < filled ? '#' : '.';
    line[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %5.1f%%  %sETA %s ", label, line, fraction * 100, extra, eta);
    p->drawn = 1;
}

void cli_progress_end(cli_progress *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}
