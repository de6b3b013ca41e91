/* Enum values as text: a table of n names, the index being the value (losses, optimizers,
 * schedules parse and print their kinds through it). */
#ifndef UNET_CORE_NAMES_H
#define UNET_CORE_NAMES_H

/* The index of `name` among names[0..n), or -1 (name NULL or not in the table). */
int unet__name_find(const char *const *names, int n, const char *name);

/* names[value], or "?" when value is outside [0, n). */
const char *unet__name_of(const char *const *names, int n, int value);

#endif
