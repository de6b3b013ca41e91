#include "unet.h"

#define UNET__STR2(x) #x
#define UNET__STR(x) UNET__STR2(x)

UNET_API unsigned unet_version(void)
{
    return UNET_VERSION_NUMBER;
}

UNET_API const char *unet_version_string(void)
{
    return UNET__STR(UNET_VERSION_MAJOR) "." UNET__STR(UNET_VERSION_MINOR) "." UNET__STR(
        UNET_VERSION_PATCH);
}
