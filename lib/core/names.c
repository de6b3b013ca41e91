/* Enum values as text (see names.h). */
#include "core/names.h"

#include <string.h>

int unet__name_find(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *unet__name_of(const char *const *names, int n, int value)
{
    return value >= 0 && value < n ? names[value] : "?";
}
