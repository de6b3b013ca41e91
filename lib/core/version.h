/* The library's version as a string constant, from the header's macros. */
#ifndef UNET_CORE_VERSION_H
#define UNET_CORE_VERSION_H

#include "unet.h"

#define UNET__STR2(x) #x
#define UNET__STR(x) UNET__STR2(x)
#define UNET__VERSION_STRING                                                                   \
    UNET__STR(UNET_VERSION_MAJOR) "." UNET__STR(UNET_VERSION_MINOR) "." UNET__STR(             \
        UNET_VERSION_PATCH)

#endif
