/* Learning-rate schedules (see schedule.h). */
#include "train/schedule.h"

#include <math.h>

#include "core/names.h"

static const char *const names[] = {"constant", "cosine", "plateau"};

int unet__sched_parse(const char *name)
{
    return unet__name_find(names, 3, name);
}

const char *unet__sched_name(unet__sched_kind kind)
{
    return unet__name_of(names, 3, (int)kind);
}

void unet__sched_reset(unet__sched *s)
{
    s->lr = s->base_lr;
    s->best = INFINITY;
    s->num_bad = 0;
    s->cooldown_left = 0;
}

double unet__sched_lr(const unet__sched *s, int64_t t)
{
    if (t < s->warmup)
        return s->base_lr * (double)(t + 1) / (double)s->warmup;
    switch (s->kind) {
    case UNET__SCHED_COSINE: {
        const int64_t span = s->total - s->warmup;
        if (span <= 0)
            return s->min_lr;
        double e = (double)(t - s->warmup);
        if (e > (double)span)
            e = (double)span;
        return s->min_lr + (s->base_lr - s->min_lr) * (1 + cos(M_PI * e / (double)span)) / 2;
    }
    case UNET__SCHED_PLATEAU:
        return s->lr;
    default:
        return s->base_lr;
    }
}

void unet__sched_observe(unet__sched *s, double value)
{
    if (s->kind != UNET__SCHED_PLATEAU || isnan(value))
        return;
    if (value < s->best * (1 - s->threshold)) {
        s->best = value;
        s->num_bad = 0;
    } else {
        s->num_bad++;
    }
    if (s->cooldown_left > 0) {
        s->cooldown_left--;
        s->num_bad = 0;
    }
    if (s->num_bad > s->patience) {
        double next = s->lr * s->factor;
        if (next < s->min_lr)
            next = s->min_lr;
        if (s->lr - next > 1e-8)
            s->lr = next;
        s->cooldown_left = s->cooldown;
        s->num_bad = 0;
    }
}
