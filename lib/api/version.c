#include "core/version.h"

UNET_API unsigned unet_version(void)
{
    return UNET_VERSION_NUMBER;
}

UNET_API const char *unet_version_string(void)
{
    return UNET__VERSION_STRING;
}
